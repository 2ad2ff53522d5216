"""Which namespaces hold given keys: one indexed query, however many users the store holds.

An import refuses a row whose key belongs to another user's memory. Through the store API that
needs one lookup per other user and key (5,000 rows with 1,200 users: 6 million lookups, 25 s and
1.85 GB). SQLite and PostgreSQL answer it from an index on the key instead, so the cost grows
with the rows imported; other stores (a LangGraph Server) fall back to the per-user lookups.
"""

from __future__ import annotations

from collections.abc import Collection

from langgraph.store.base import BaseStore, GetOp

_BATCH = 500
"""Keys per query: under SQLite's limit of bound parameters."""
KEY_INDEX = "CREATE INDEX IF NOT EXISTS store_key_idx ON store (key)"


def ensure_key_index(store: BaseStore) -> None:
    """Index the store's keys (once, when a backend opens), so ``holders`` need not scan."""
    from langgraph.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        with store._cursor(transaction=True) as cur:
            cur.execute(KEY_INDEX)
    else:
        with store._cursor() as cur:
            cur.execute(KEY_INDEX)


def holders(
    store: BaseStore, prefix: str, keys: Collection[str]
) -> set[tuple[tuple[str, ...], str]]:
    """The (namespace, key) pairs under ``(prefix, …)`` that hold one of ``keys``."""
    keys = list(keys)
    if not keys:
        return set()
    from langgraph.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        return _sqlite_holders(store, prefix, keys)
    try:
        from langgraph.store.postgres import PostgresStore
    except ImportError:  # the postgres extra is not installed
        PostgresStore = None
    if PostgresStore is not None and isinstance(store, PostgresStore):
        return _postgres_holders(store, prefix, keys)
    return _holders_through_the_api(store, prefix, keys)


def _sqlite_holders(store: BaseStore, prefix: str, keys: list[str]) -> set:
    found = set()
    with store._cursor(transaction=False) as cur:
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            marks = ",".join("?" * len(batch))
            cur.execute(
                f"SELECT prefix, key FROM store WHERE key IN ({marks}) AND prefix LIKE ?",
                [*batch, f"{prefix}.%"],
            )
            found |= {(tuple(p.split(".")), k) for p, k in cur.fetchall()}
    return found


def _postgres_holders(store: BaseStore, prefix: str, keys: list[str]) -> set:
    with store._cursor() as cur:
        cur.execute(
            "SELECT prefix, key FROM store WHERE key = ANY(%s) AND prefix LIKE %s",
            (keys, f"{prefix}.%"),
        )
        return {(tuple(row["prefix"].split(".")), row["key"]) for row in cur.fetchall()}


def _holders_through_the_api(store: BaseStore, prefix: str, keys: list[str]) -> set:
    namespaces = []
    while True:
        page = store.list_namespaces(
            prefix=(prefix,), max_depth=2, limit=1000, offset=len(namespaces)
        )
        namespaces += page
        if len(page) < 1000:
            break
    ops = [GetOp(namespace, key) for namespace in namespaces for key in keys]
    return {(item.namespace, item.key) for item in store.batch(ops) if item is not None}
