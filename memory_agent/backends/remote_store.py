"""A ``BaseStore`` backed by a LangGraph Server's store API, so memories.py works unchanged.

Every operation of a batch becomes HTTP calls of langgraph-sdk's sync store client. Where the
server (``langgraph dev`` / langgraph-api 0.16) behaves unlike the in-process stores, this
adapter makes up the difference on the client:

- TTL is forwarded (``put(..., ttl=minutes)``, ``refresh_ttl`` on reads).
- Filter keys are checked as SQLite's store checks them (letters, digits, ``_ . -``): an unsafe
  key is refused with ``ValueError`` before any request, not sent.
- Comparison filters (``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$ne``, ``$eq``) are applied here:
  the server answers them with an HTTP 500 when an item lacks the field or a bound is not a
  finite number. Equality filters go to the server; a dotted key (``user.access-level``) is sent
  as the nested object the server can match.
- ``list_namespaces`` leaves out namespaces whose items were all deleted (the server keeps
  listing them).

What it cannot do, because the server's API has no way to:

- A batch is NOT atomic: there is no batch endpoint, so if the connection drops half-way the
  calls already made stay done (a memory can be written without its history event). In-process
  stores (SQLite, PostgreSQL) keep their all-or-nothing batches.
- Items do not disappear the moment their TTL passes: the server's sweeper removes them on its
  own schedule, and there is no endpoint to sweep now.
- Namespace labels cannot contain ``.`` (``BaseStore`` refuses them, as the server joins
  labels with dots), and ``*`` in a search prefix is a wildcard on the server, not a label.
- A search with a comparison filter, and ``list_namespaces``, page through the server's results,
  so they cost one request per 100 items (or per namespace) instead of one in all.
"""

from __future__ import annotations

import math
import re
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

PAGE = 100
"""Items (or namespaces) per request when the adapter filters the server's results itself."""
_FILTER_KEY = re.compile(r"^[a-zA-Z0-9_.-]+$")
_COMPARISONS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}


class RemoteStore(BaseStore):
    """The deployed agent's store, reached over HTTP; reads and writes are one call per op."""

    supports_ttl = True

    def __init__(self, client: SyncLangGraphClient) -> None:
        self.client = client

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run each operation through the server's store API, in order."""
        return [self._run(op) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """The same calls as ``batch``: the app is synchronous."""
        return self.batch(ops)

    def _run(self, op: Op) -> Result:
        if isinstance(op, GetOp):
            return self._get(op)
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, PutOp):
            return self._put(op)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(op)
        raise TypeError(f"Unsupported store operation: {type(op).__name__}")

    def _get(self, op: GetOp) -> Item | None:
        try:
            data = self.client.store.get_item(
                list(op.namespace), op.key, refresh_ttl=op.refresh_ttl
            )
        except NotFoundError:
            return None
        return _item(data) if data else None

    def _put(self, op: PutOp) -> None:
        if op.value is None:
            self.client.store.delete_item(list(op.namespace), op.key)
        else:
            self.client.store.put_item(
                list(op.namespace), op.key, op.value, index=op.index, ttl=op.ttl
            )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        on_server, here = split_filter(op.filter)

        def page(limit: int, offset: int) -> list[dict[str, Any]]:
            found = self.client.store.search_items(
                list(op.namespace_prefix),
                filter=on_server or None,
                limit=limit,
                offset=offset,
                query=op.query,
                refresh_ttl=op.refresh_ttl,
            )
            return found["items"]

        if not here:
            return [_search_item(data) for data in page(op.limit, op.offset)]
        wanted = op.offset + op.limit
        matched: list[dict[str, Any]] = []
        offset = 0
        while len(matched) < wanted:
            items = page(PAGE, offset)
            matched += [data for data in items if matches(data["value"], here)]
            if len(items) < PAGE:
                break
            offset += PAGE
        return [_search_item(data) for data in matched[op.offset : wanted]]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        prefix = suffix = None
        for condition in op.match_conditions or ():
            if condition.match_type == "prefix":
                prefix = list(condition.path)
            elif condition.match_type == "suffix":
                suffix = list(condition.path)
        wanted = op.offset + op.limit
        kept: list[tuple[str, ...]] = []
        offset = 0
        while len(kept) < wanted:
            found = self.client.store.list_namespaces(
                prefix=prefix, suffix=suffix, max_depth=op.max_depth, limit=PAGE, offset=offset
            )["namespaces"]
            kept += [tuple(ns) for ns in found if self._has_items(ns)]
            if len(found) < PAGE:
                break
            offset += PAGE
        return kept[op.offset : wanted]

    def _has_items(self, namespace: list[str]) -> bool:
        """False for a namespace the server still lists after its last item was deleted."""
        return bool(self.client.store.search_items(namespace, limit=1)["items"])


def split_filter(filter_: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The equality part the server can match, and the comparisons applied here.

    Raises:
        ValueError: a key with characters other than letters, digits, ``_``, ``.``, ``-``.
    """
    on_server: dict[str, Any] = {}
    here: dict[str, Any] = {}
    for key, value in (filter_ or {}).items():
        if not isinstance(key, str) or not _FILTER_KEY.match(key):
            raise ValueError(
                f"Invalid filter key: {key!r}. Filter keys must contain only alphanumeric "
                "characters, underscores, dots, and hyphens."
            )
        if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
            unknown = set(value) - _COMPARISONS
            if unknown:
                raise ValueError(f"Unsupported filter operator: {sorted(unknown)[0]}")
            here[key] = value
            continue
        target = on_server
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return on_server, here


def matches(value: dict[str, Any], comparisons: dict[str, dict[str, Any]]) -> bool:
    """Whether ``value`` meets every comparison, as PostgreSQL's JSONB operators decide.

    A missing field, or a bound of another type than the field's, matches nothing; NaN matches
    nothing; infinite bounds compare as numbers.
    """
    for key, operators in comparisons.items():
        found, field = _lookup(value, key)
        if not found:
            return False
        for operator, bound in operators.items():
            if not _compare(field, operator, bound):
                return False
    return True


def _lookup(value: Any, key: str) -> tuple[bool, Any]:
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _compare(field: Any, operator: str, bound: Any) -> bool:
    if operator == "$eq":
        return field == bound
    if operator == "$ne":
        return field != bound
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (field, bound))
    strings = isinstance(field, str) and isinstance(bound, str)
    if not (numbers or strings) or (numbers and (math.isnan(field) or math.isnan(bound))):
        return False
    return {
        "$gt": field > bound,
        "$gte": field >= bound,
        "$lt": field < bound,
        "$lte": field <= bound,
    }[operator]


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
