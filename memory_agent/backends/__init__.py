"""Where conversations and memories live: a SQLite data directory, or a PostgreSQL database.

This is the one place that chooses: ``MEMORY_AGENT_DATABASE_URL`` (or ``--database-url``) selects
PostgreSQL + pgvector, which several app servers can share; otherwise one data directory holds two
SQLite files (``backends.sqlite``). A LangGraph Server deployment is reached through
``backends.remote`` instead. Everything above this package sees only a checkpointer and a store.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from memory_agent.backends.faults import check_data_files, storage_faults
from memory_agent.backends.locks import FileLocks
from memory_agent.backends.persistence import Persistence
from memory_agent.configuration import Configuration

LOCKS_DIR = "locks"
"""Where a data directory keeps its lock files (one per conversation or user, a few bytes)."""


def default_database_url() -> str | None:
    """The PostgreSQL URL the environment names, if any."""
    return os.environ.get("MEMORY_AGENT_DATABASE_URL") or None


def open_persistence(
    settings: Configuration,
    data_dir: str | Path | None = None,
    database_url: str | None = None,
    *,
    check_embedding: bool = True,
) -> Persistence:
    """PostgreSQL if a database URL is given or set in the environment; else the data directory.

    A database URL wins over a data directory: app servers sharing one database must not fall back
    to a private directory because one of them was started with ``--data-dir``. Each backend is
    imported only when chosen, so a SQLite app never loads psycopg.
    """
    url = database_url or default_database_url()
    if url:
        from memory_agent.backends.postgres import open_postgres

        return open_postgres(url, settings, check_embedding=check_embedding)
    from memory_agent.backends.sqlite import default_data_dir, open_sqlite

    directory = Path(data_dir or default_data_dir())
    check_data_files(directory)
    with storage_faults(str(directory)):
        persistence = open_sqlite(directory, settings, check_embedding=check_embedding)
    return replace(persistence, locks=FileLocks(directory / LOCKS_DIR))
