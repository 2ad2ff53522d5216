"""The inspector's reads of a user's memories and history: one store query each.

``memories.list_memories`` and ``memories.history`` page through the store 1,000 items at a time
with OFFSET, and every page sorts the whole namespace again: at 10k memories with their history
that was 23 queries and 1.2 s per render, against 0.35 s for one query per namespace (measured
in bench/inspector.py). The inspector shows everything a user has, so it asks for everything at
once; a namespace larger than ``ONE_READ`` is still read whole, in pages of that size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import BaseStore, Item

from memory_agent.memories import HistoryEvent, Memory
from memory_agent.memories.records import history_namespace, memory_namespace, to_memory

ONE_READ = 100_000


@dataclass(frozen=True)
class UserData:
    """Everything the Memories tab shows, read once per render."""

    memories: list[Memory]
    """Most recently updated first."""
    events: list[HistoryEvent]
    """Newest first."""


def read_user(store: BaseStore, user_id: str) -> UserData:
    """The user's memories and their whole change history, one query each."""
    return UserData(read_memories(store, user_id), read_history(store, user_id))


def read_memories(store: BaseStore, user_id: str) -> list[Memory]:
    """All of the user's memories, most recently updated first (as ``list_memories``)."""
    found = [to_memory(item) for item in _everything(store, memory_namespace(user_id))]
    return sorted(found, key=lambda m: m.updated_at, reverse=True)


def read_history(store: BaseStore, user_id: str, since: str | None = None) -> list[HistoryEvent]:
    """The user's memory changes, newest first (as ``memories.history``).

    ``since`` (an ISO time) keeps the changes made at or after it, to the millisecond the
    history keeps: what the memories as of a checkpoint take back, without reading the rest.
    """
    where = {"at": {"$gte": _milliseconds(since)}} if since else None
    found = [
        HistoryEvent(id=item.key, **item.value)
        for item in _everything(store, history_namespace(user_id), where)
    ]
    return sorted(found, key=lambda e: e.id, reverse=True)


def _milliseconds(iso: str) -> str:
    """An ISO time as history events write theirs (UTC, milliseconds), so text compares."""
    moment = datetime.fromisoformat(iso)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _everything(
    store: BaseStore, namespace: tuple[str, ...], where: dict[str, Any] | None = None
) -> list[Item]:
    """Every item of one namespace, in as few queries as the store allows."""
    items: list[Any] = []
    while True:
        page = store.search(namespace, filter=where, limit=ONE_READ, offset=len(items))
        items += page
        if len(page) < ONE_READ:
            # A prefix search also matches deeper namespaces; only this one's items count.
            return [item for item in items if item.namespace == namespace]
