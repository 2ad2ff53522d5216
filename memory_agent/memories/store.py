"""One user's memories in the LangGraph store: read, search, write, delete, undo, reindex.

Every write goes through here, whoever makes it (the agent's tool, the inspector, an import), so
each one is validated the same way and leaves a change-history event. A memory and its history
event are written in one store batch, which the store runs as one transaction: both or neither.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import BaseStore, GetOp, Item, PutOp

from memory_agent.memories.records import (
    MEMORY_NAMESPACE,
    Change,
    HistoryEvent,
    Memory,
    MemoryValidationError,
    MemoryWrite,
    Source,
    history_namespace,
    memory_namespace,
    now_iso,
    to_memory,
)
from memory_agent.memories.validation import carried_fields, describe_change, plan_writes

_PAGE = 1_000


def list_memories(store: BaseStore, user_id: str) -> list[Memory]:
    """All of the user's memories, most recently updated first."""
    items = _all_items(store, memory_namespace(user_id))
    memories = [to_memory(item) for item in items]
    return sorted(memories, key=lambda m: m.updated_at, reverse=True)


def get_memory(store: BaseStore, user_id: str, key: str) -> Memory | None:
    """One of the user's memories by key, or ``None``."""
    item = store.get(memory_namespace(user_id), key)
    return to_memory(item) if item else None


def search_memories(store: BaseStore, user_id: str, query: str, limit: int = 10) -> list[Memory]:
    """The memories most like ``query``, best first, with scores: what ``call_model`` recalls."""
    namespace = memory_namespace(user_id)
    items = store.search(namespace, query=query or None, limit=limit)
    # A prefix search also matches deeper namespaces; only the user's own memories are recalled.
    return [to_memory(item) for item in items if item.namespace == namespace]


def history(store: BaseStore, user_id: str, memory_key: str | None = None) -> list[HistoryEvent]:
    """The user's memory changes, newest first; only those of one memory when a key is given."""
    filter_ = {"memory_key": memory_key} if memory_key else None
    items = _all_items(store, history_namespace(user_id), filter_)
    events = [HistoryEvent(id=item.key, **item.value) for item in items]
    return sorted(events, key=lambda e: e.id, reverse=True)


def upsert_memory(
    store: BaseStore,
    user_id: str,
    content: str,
    context: str = "",
    *,
    key: str | None = None,
    thread_id: str | None = None,
    checkpoint_id: str | None = None,
    source: Source = "agent",
) -> MemoryWrite:
    """Create a memory, or update the one with ``key`` in place. The agent's tool calls this.

    Writing what is already stored changes nothing (a re-run turn repeats its tool calls).
    """
    existing = get_memory(store, user_id, key) if key else None
    if existing and (existing.content, existing.context) == (content, context):
        return MemoryWrite("update", existing.key, existing, existing)
    if existing:
        change = Change("update", key, content, context)
    else:
        change = Change("create", key, content, context)
    known = {m.key: m for m in [existing] if m}
    writes = _commit(
        store, user_id, [change], source, thread_id, known, checkpoint_id=checkpoint_id
    )
    return writes[0]


def delete_memory(
    store: BaseStore,
    user_id: str,
    key: str,
    *,
    source: Source,
    thread_id: str | None = None,
    checkpoint_id: str | None = None,
) -> MemoryWrite:
    """Delete one memory; ``thread_id`` names the conversation that asked (the agent's tool)."""
    existing = get_memory(store, user_id, key)
    if existing is None:
        raise MemoryValidationError(f"No memory with key {key!r} for user {user_id!r}.")
    change = [Change("delete", key)]
    return _commit(
        store, user_id, change, source, thread_id, {key: existing}, checkpoint_id=checkpoint_id
    )[0]


def apply_changes(
    store: BaseStore, user_id: str, changes: Sequence[Change], *, source: Source
) -> list[MemoryWrite]:
    """Apply all changes at once or none: each is validated first; errors name the change."""
    if not changes:
        return []
    current = {m.key: m for m in list_memories(store, user_id)}
    return _commit(store, user_id, changes, source, None, current)


def check_changes(
    store: BaseStore, user_id: str, changes: Sequence[Change], *, source: Source
) -> list[MemoryWrite]:
    """What ``apply_changes`` would write, validated the same way, without writing: a preview."""
    current = {m.key: m for m in list_memories(store, user_id)}
    writes = plan_writes(changes, current, source, None, now_iso())
    if source == "import":
        _refuse_foreign_keys(store, user_id, changes, writes)
    return writes


def undo(store: BaseStore, user_id: str, event_id: str) -> MemoryWrite:
    """Reverse one change: re-create a deleted memory, revert an update, remove a creation."""
    item = store.get(history_namespace(user_id), event_id)
    if item is None:
        raise MemoryValidationError(f"No change {event_id!r} in the history of user {user_id!r}.")
    event = HistoryEvent(id=item.key, **item.value)
    current = get_memory(store, user_id, event.memory_key)
    if event.action == "create":
        if current is None:
            raise MemoryValidationError(
                f"Memory {event.memory_key} no longer exists; nothing to undo."
            )
        change = Change("delete", event.memory_key)
    elif event.action == "update":
        before = event.before or {}
        if current is None:
            change = Change(
                "create",
                event.memory_key,
                before["content"],
                before["context"],
                carried_fields(before),
            )
        else:
            change = Change("update", event.memory_key, before["content"], before["context"])
    else:
        before = event.before or {}
        if current is not None:
            raise MemoryValidationError(
                f"Memory {event.memory_key} exists again; nothing to restore."
            )
        change = Change(
            "create", event.memory_key, before["content"], before["context"], carried_fields(before)
        )
    known = {current.key: current} if current else {}
    return _commit(store, user_id, [change], "inspector", None, known, undo_of=event.id)[0]


def reindex(store: BaseStore) -> int:
    """Re-embed every memory of every user (after the embedding changed); returns the count."""
    count = 0
    for namespace in store.list_namespaces(prefix=(MEMORY_NAMESPACE,), limit=1_000_000):
        items = _all_items(store, namespace)
        for start in range(0, len(items), 200):
            batch = items[start : start + 200]
            store.batch([PutOp(namespace, item.key, item.value) for item in batch])
        count += len(items)
    return count


def _commit(
    store: BaseStore,
    user_id: str,
    changes: Sequence[Change],
    source: Source,
    thread_id: str | None,
    current: Mapping[str, Memory],
    undo_of: str | None = None,
    checkpoint_id: str | None = None,
) -> list[MemoryWrite]:
    """Validate every change against ``current``, then write them all in one store batch."""
    namespace, history_ns = memory_namespace(user_id), history_namespace(user_id)
    timestamp = now_iso()
    writes = plan_writes(changes, current, source, thread_id, timestamp)
    if source == "import":
        _refuse_foreign_keys(store, user_id, changes, writes)
    ops: list[PutOp] = []
    for write in writes:
        value = write.after.stored_value() if write.after else None
        ops.append(PutOp(namespace, write.key, value))
        event = HistoryEvent(
            id=f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}",
            memory_key=write.key,
            action=write.action,
            source=source,
            at=timestamp,
            before=write.before.stored_value() if write.before else None,
            after=value,
            thread_id=thread_id,
            undo_of=undo_of,
            checkpoint_id=checkpoint_id,
        )
        event_value = asdict(event)
        del event_value["id"]
        ops.append(PutOp(history_ns, event.id, event_value, index=False))
    store.batch(ops)
    return writes


def _refuse_foreign_keys(
    store: BaseStore, user_id: str, changes: Sequence[Change], writes: Sequence[MemoryWrite]
) -> None:
    """Refuse an import row that would create a memory under a key another user's memory has.

    Keys are per-user, so such a create would not touch the other memory; but a file carrying
    someone else's keys is almost always the wrong user's export, and importing it would
    silently fork their memories. Only imports are checked: the agent's tool must not fail, or
    reveal that a key exists elsewhere, because of another user's data (the inspector's new rows
    get fresh UUIDs). One batched lookup per other user.
    """
    given = {
        write.key: describe_change(change, number)
        for number, (change, write) in enumerate(zip(changes, writes, strict=True), start=1)
        if write.action == "create" and change.key
    }
    if not given:
        return
    own = memory_namespace(user_id)
    ops = [
        GetOp(namespace, key)
        for namespace in _memory_namespaces(store)
        if namespace != own
        for key in given
    ]
    taken = {item.key for item in store.batch(ops) if item is not None}
    for key, where in given.items():
        if key in taken:
            raise MemoryValidationError(
                f"{where}: key {key} belongs to another user's memory; remove the key to "
                "import the row as a new memory"
            )


def _memory_namespaces(store: BaseStore) -> list[tuple[str, ...]]:
    """Every user's memory namespace (the store pages its results)."""
    namespaces: list[tuple[str, ...]] = []
    while True:
        page = store.list_namespaces(
            prefix=(MEMORY_NAMESPACE,), max_depth=2, limit=_PAGE, offset=len(namespaces)
        )
        namespaces.extend(page)
        if len(page) < _PAGE:
            return namespaces


def _all_items(
    store: BaseStore, namespace: tuple[str, ...], filter_: dict[str, Any] | None = None
) -> list[Item]:
    """Every item of one namespace (the store pages its results)."""
    items: list[Item] = []
    offset = 0
    while True:
        page = store.search(namespace, filter=filter_, limit=_PAGE, offset=offset)
        offset += len(page)
        items.extend(item for item in page if item.namespace == namespace)
        if len(page) < _PAGE:
            return items
