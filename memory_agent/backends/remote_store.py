"""A ``BaseStore`` backed by a LangGraph Server's store API, so memories.py works unchanged.

Every operation of a batch becomes one HTTP call of langgraph-sdk's sync store client. The
server has no batch endpoint, so a remote batch is NOT atomic: if the connection drops half-way,
the calls already made stay done (a memory can be written without its history event). In-process
stores (SQLite, PostgreSQL) keep their all-or-nothing batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import NotFoundError


class RemoteStore(BaseStore):
    """The deployed agent's store, reached over HTTP; reads and writes are one call per op."""

    def __init__(self, client: SyncLangGraphClient) -> None:
        self.client = client

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run each operation through the server's store API, in order."""
        return [self._run(op) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        # The app is synchronous; an async caller gets the same (blocking) calls.
        """The same calls as ``batch``: the app is synchronous."""
        return self.batch(ops)

    def _run(self, op: Op) -> Result:
        store = self.client.store
        if isinstance(op, GetOp):
            try:
                data = store.get_item(list(op.namespace), op.key, refresh_ttl=op.refresh_ttl)
            except NotFoundError:
                return None
            return _item(data) if data else None
        if isinstance(op, SearchOp):
            found = store.search_items(
                list(op.namespace_prefix),
                filter=op.filter,
                limit=op.limit,
                offset=op.offset,
                query=op.query,
                refresh_ttl=op.refresh_ttl,
            )
            return [_search_item(data) for data in found["items"]]
        if isinstance(op, PutOp):
            if op.value is None:
                store.delete_item(list(op.namespace), op.key)
            else:
                store.put_item(list(op.namespace), op.key, op.value, index=op.index)
            return None
        if isinstance(op, ListNamespacesOp):
            prefix = suffix = None
            for condition in op.match_conditions or ():
                if condition.match_type == "prefix":
                    prefix = list(condition.path)
                elif condition.match_type == "suffix":
                    suffix = list(condition.path)
            found = store.list_namespaces(
                prefix=prefix,
                suffix=suffix,
                max_depth=op.max_depth,
                limit=op.limit,
                offset=op.offset,
            )
            return [tuple(namespace) for namespace in found["namespaces"]]
        raise TypeError(f"Unsupported store operation: {type(op).__name__}")


def _item(data: dict[str, Any]) -> Item:
    return Item(
        namespace=tuple(data["namespace"]),
        key=data["key"],
        value=data["value"],
        created_at=_time(data["created_at"]),
        updated_at=_time(data["updated_at"]),
    )


def _search_item(data: dict[str, Any]) -> SearchItem:
    return SearchItem(
        namespace=tuple(data["namespace"]),
        key=data["key"],
        value=data["value"],
        created_at=_time(data["created_at"]),
        updated_at=_time(data["updated_at"]),
        score=data.get("score"),
    )


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
