"""Every checkpointer the product ships passes LangGraph's own conformance suite.

``langgraph-checkpoint-conformance`` drives the async API, and the app runs the sync savers
(``AtomicSqliteSaver``, ``PostgresSaver``: Streamlit's threads and ``graph.stream``), so a thin
adapter answers each async call with the sync method of the very saver ``open_persistence``
returns. Capabilities a saver does not implement (``copy_thread``, ``delete_for_runs``, and
``prune`` on SQLite) are reported as not detected, as the suite does for any saver.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import BASE_CAPABILITIES

from memory_agent.backends import open_persistence
from memory_agent.backends.persistence import Persistence
from memory_agent.configuration import Configuration
from tests.postgres_server import PostgresServer

_databases = itertools.count()


class AsyncOverSync(BaseCheckpointSaver):
    """The async checkpointer API answered by a sync saver's own methods, unchanged."""

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        super().__init__(serde=saver.serde)
        self.saver = saver

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.saver.get_next_version(current, channel)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.saver.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.saver.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.saver.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.saver.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.saver.delete_thread(thread_id)


class PruningAsyncOverSync(AsyncOverSync):
    """The adapter for a saver that also prunes (``PostgresSaver``)."""

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.saver.prune(thread_ids, strategy=strategy)


def adapter(saver: BaseCheckpointSaver) -> AsyncOverSync:
    overrides_prune = type(saver).prune is not BaseCheckpointSaver.prune
    return (PruningAsyncOverSync if overrides_prune else AsyncOverSync)(saver)


def check(name: str, open_fresh: Any) -> dict[str, Any]:
    """Run the suite; each capability gets a fresh, shipped checkpointer from ``open_fresh``."""

    @checkpointer_test(name=name)
    async def shipped() -> AsyncIterator[BaseCheckpointSaver]:
        persistence: Persistence = open_fresh()
        try:
            yield adapter(persistence.checkpointer)
        finally:
            persistence.close()

    # Its own thread: a session's sync Playwright leaves an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as worker:
        report = worker.submit(asyncio.run, validate(shipped)).result()
    report.print_report()
    results = report.to_dict()["results"]
    counts = [(r.get("tests_passed", 0), r.get("tests_failed", 0)) for r in results.values()]
    print(f"{name}: {sum(p for p, _ in counts)} passed, {sum(f for _, f in counts)} failed")
    failures = {
        cap: result.get("failures") for cap, result in results.items() if result["passed"] is False
    }
    assert report.passed_all_base(), failures
    assert not failures
    return results


def test_the_sqlite_checkpointer_passes_the_conformance_suite(tmp_path: Path) -> None:
    settings = Configuration.from_runnable_config()
    directories = (tmp_path / f"data-{n}" for n in itertools.count())
    results = check("AtomicSqliteSaver", lambda: open_persistence(settings, next(directories)))
    passed = {capability for capability, result in results.items() if result["passed"]}
    assert {capability.value for capability in BASE_CAPABILITIES} <= passed


@pytest.fixture
def fresh_databases(postgres_server: PostgresServer) -> Iterator[Any]:
    created: list[str] = []

    def new_url() -> str:
        name = f"conformance_{next(_databases)}"
        with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        created.append(name)
        return postgres_server.url(name)

    yield new_url
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        for name in created:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_the_postgres_checkpointer_passes_the_conformance_suite(fresh_databases: Any) -> None:
    settings = Configuration.from_runnable_config()
    results = check(
        "PostgresSaver", lambda: open_persistence(settings, database_url=fresh_databases())
    )
    assert results["prune"]["passed"] is True  # PostgresSaver's extension, run too
