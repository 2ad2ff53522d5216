"""PostgreSQL + pgvector for the deployed agent: checkpoints and memories (langgraph.postgres.json).

``langgraph dev --config langgraph.postgres.json`` with ``MEMORY_AGENT_DATABASE_URL`` set keeps
checkpoints and the store in the same database (and the same tables) the in-process app uses, so
a deployment can take over an existing database. The tables are created or checked exactly as
the app does (advisory lock, pgvector, the embedding check) before the server starts serving.
The server still keeps its thread and run records in its own ``.langgraph_api/`` folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from memory_agent.backends import default_database_url, postgres
from memory_agent.backends.postgres import open_postgres
from memory_agent.configuration import Configuration


def _database_url() -> str:
    url = default_database_url()
    if not url:
        raise RuntimeError("langgraph.postgres.json needs MEMORY_AGENT_DATABASE_URL to be set.")
    return url


def _set_up(url: str, settings: Configuration) -> None:
    """The app's own first-start set-up and embedding check, then its connections closed."""
    open_postgres(url, settings).close()


@asynccontextmanager
async def _pool(url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=postgres.POOL_SIZE,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=False,
        name="memory-agent-server",
    )
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def checkpointer() -> AsyncIterator[AsyncPostgresSaver]:
    """The server's checkpointer: the app's checkpoint tables."""
    url = _database_url()
    await asyncio.to_thread(_set_up, url, Configuration.from_runnable_config())
    async with _pool(url) as pool:
        yield AsyncPostgresSaver(pool)


@asynccontextmanager
async def store() -> AsyncIterator[AsyncPostgresStore]:
    """The server's store: the app's memories, with the same pgvector index on ``content``."""
    url = _database_url()
    settings = Configuration.from_runnable_config()
    await asyncio.to_thread(_set_up, url, settings)
    async with _pool(url) as pool:
        yield AsyncPostgresStore(pool, index=postgres.index_config(settings))
