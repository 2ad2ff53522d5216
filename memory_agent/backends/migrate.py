"""Copy a SQLite data directory into a PostgreSQL database: conversations, then the store.

Checkpoints are copied with their parent ids and their pending writes (with each write's task
path, which orders a ``DeltaChannel``'s replay), so history, forks and half-finished turns look the
same afterwards. Store items keep their timestamps; memories are re-embedded with the configured
embedding. Whatever the target already holds unchanged is skipped, so a second run copies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore, Item, PutOp
from langgraph.store.postgres import PostgresStore
from psycopg_pool import ConnectionPool

from memory_agent.backends import Persistence
from memory_agent.backends.index import META_NAMESPACE
from memory_agent.backends.items import every_item
from memory_agent.backends.postgres import open_postgres
from memory_agent.backends.sqlite import CONVERSATIONS_FILE, open_sqlite
from memory_agent.configuration import Configuration
from memory_agent.memories import MEMORY_NAMESPACE

_PAGE = 500


@dataclass
class MigrationCounts:
    """What was copied (``copied``) and what the target already held (``present``), per kind."""

    copied: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, *, copied: bool) -> None:
        """Count one item, as copied or as already present."""
        counts = self.copied if copied else self.present
        counts[kind] = counts.get(kind, 0) + 1

    def summary(self) -> str:
        """One line saying what was copied and what was already there."""
        kinds = ["conversations", "checkpoints", "writes", "memories", "other store items"]
        moved = ", ".join(f"{self.copied.get(k, 0)} {k}" for k in kinds)
        already = sum(self.present.values())
        return f"Copied {moved}; {already} already in the target were left as they were."


def migrate(source_dir: str | Path, target_url: str, settings: Configuration) -> MigrationCounts:
    """Copy everything in ``source_dir`` into ``target_url`` (set up on first use)."""
    if not (Path(source_dir) / CONVERSATIONS_FILE).exists():
        raise ValueError(
            f"{source_dir} is not a Memory Agent data directory (no {CONVERSATIONS_FILE})."
        )
    source = open_sqlite(source_dir, settings, check_embedding=False)
    try:
        target = open_postgres(target_url, settings)
        try:
            counts = MigrationCounts()
            _copy_checkpoints(source, target, counts)
            _copy_store(source.store, target.store, counts)
            return counts
        finally:
            target.close()
    finally:
        source.close()


def _copy_checkpoints(source: Persistence, target: Persistence, counts: MigrationCounts) -> None:
    saver = source.checkpointer
    assert isinstance(saver, SqliteSaver)
    writes = _writes_by_checkpoint(saver)
    ordered = sorted(saver.list(None), key=lambda t: _checkpoint_key(t.config))
    for thread_id, checkpoints in groupby(
        ordered, key=lambda t: t.config["configurable"]["thread_id"]
    ):
        new_thread = False
        for item in checkpoints:
            if target.checkpointer.get_tuple(item.config) is not None:
                counts.add("checkpoints", copied=False)
                continue
            new_thread = True
            conf = item.config["configurable"]
            parent = item.parent_config or {
                "configurable": {"thread_id": thread_id, "checkpoint_ns": conf["checkpoint_ns"]}
            }
            # Every channel version is "new" here: the target has none of this thread's blobs.
            saved = target.checkpointer.put(
                parent, item.checkpoint, item.metadata, item.checkpoint["channel_versions"]
            )
            counts.add("checkpoints", copied=True)
            for (task_id, task_path), task_writes in writes.get(
                _checkpoint_key(item.config), {}
            ).items():
                target.checkpointer.put_writes(saved, task_writes, task_id, task_path)
                for _ in task_writes:
                    counts.add("writes", copied=True)
        counts.add("conversations", copied=new_thread)


def _checkpoint_key(config: dict[str, Any]) -> tuple[str, str, str]:
    conf = config["configurable"]
    return conf["thread_id"], conf["checkpoint_ns"], conf["checkpoint_id"]


def _writes_by_checkpoint(
    saver: SqliteSaver,
) -> dict[tuple[str, str, str], dict[tuple[str, str], list[tuple[str, Any]]]]:
    """Pending writes per checkpoint, grouped by task in their original order.

    Read from the table because ``CheckpointTuple.pending_writes`` drops each write's task path.
    """
    rows = saver.conn.execute(
        "SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, channel, type, value "
        "FROM writes ORDER BY thread_id, checkpoint_ns, checkpoint_id, task_id, idx"
    ).fetchall()
    grouped: dict[tuple[str, str, str], dict[tuple[str, str], list[tuple[str, Any]]]] = {}
    for thread_id, ns, checkpoint_id, task_id, task_path, channel, kind, value in rows:
        task = grouped.setdefault((thread_id, ns, checkpoint_id), {}).setdefault(
            (task_id, task_path), []
        )
        task.append((channel, saver.serde.loads_typed((kind, value))))
    return grouped


def _copy_store(source: BaseStore, target: BaseStore, counts: MigrationCounts) -> None:
    """Every item but the index record (the target records its own embedding)."""
    assert isinstance(target, PostgresStore)
    for namespace in source.list_namespaces(limit=1_000_000):
        if namespace == META_NAMESPACE:
            continue
        kind = "memories" if namespace[0] == MEMORY_NAMESPACE else "other store items"
        every = every_item(source, namespace)
        items = [i for i in every if not _same(target, i)]
        for start in range(0, len(items), _PAGE):
            batch = items[start : start + _PAGE]
            target.batch(
                [
                    PutOp(namespace, i.key, i.value, index=None if kind == "memories" else False)
                    for i in batch
                ]
            )
            _keep_timestamps(target, batch)
        fresh = {i.key for i in items}
        for item in every:
            counts.add(kind, copied=item.key in fresh)


def _same(target: BaseStore, item: Item) -> bool:
    existing = target.get(item.namespace, item.key)
    return existing is not None and existing.value == item.value


def _keep_timestamps(target: PostgresStore, items: list[Item]) -> None:
    """The store stamps writes with now(); put back when each item was really made and changed."""
    pool: ConnectionPool = target.conn
    with pool.connection() as conn, conn.cursor() as cur:
        cur.executemany(
            "UPDATE store SET created_at = %s, updated_at = %s WHERE prefix = %s AND key = %s",
            [(i.created_at, i.updated_at, ".".join(i.namespace), i.key) for i in items],
        )
