"""One user's memories in the LangGraph store: read, search, write, delete, undo, reindex.

Every write goes through here, whoever makes it (the agent's tool, the inspector, an import), so
each one is validated the same way and leaves a change-history event. A memory and its history
event are written in one store batch, which the store runs as one transaction: both or neither.
Each write reads what it overwrites and writes under the user's write lock (held across threads,
processes and app servers), so a stale-edit check cannot be overtaken and the history's "before"
is what was really overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import BaseStore, PutOp

from memory_agent.backends.faults import storage_faults
from memory_agent.backends.items import every_item
from memory_agent.backends.locks import LockBusy
from memory_agent.backends.persistence import locks_for
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
from memory_agent.memories.validation import carried_fields, plan_writes

WRITE_WAIT_S = 30.0
"""How long a memory write waits for another writer of the same user's memories."""


def list_memories(store: BaseStore, user_id: str) -> list[Memory]:
    """All of the user's memories, most recently updated first."""
    items = every_item(store, memory_namespace(user_id))
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


def history(
    store: BaseStore, user_id: str, memory_key: str | None = None, since: str | None = None
) -> list[HistoryEvent]:
    """The user's memory changes, newest first; only those of one memory when a key is given.

    ``since`` (an ISO time) keeps the changes made at or after it, to the millisecond the
    history keeps: what the memories as of a checkpoint take back, without reading the rest.
    """
    filter_: dict[str, Any] = {"memory_key": memory_key} if memory_key else {}
    if since:
        filter_["at"] = {"$gte": _milliseconds(since)}
    items = every_item(store, history_namespace(user_id), filter_ or None)
    events = [HistoryEvent(id=item.key, **item.value) for item in items]
    return sorted(events, key=lambda e: e.id, reverse=True)


def _milliseconds(iso: str) -> str:
    """An ISO time as history events write theirs (UTC, milliseconds), so text compares."""
    moment = datetime.fromisoformat(iso)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


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
    with _writer(store, user_id):
        existing = get_memory(store, user_id, key) if key else None
        if existing and (existing.content, existing.context) == (content, context):
            return MemoryWrite("update", existing.key, existing, existing)
        action = "update" if existing else "create"
        known = {existing.key: existing} if existing else {}
        change = Change(action, key, content, context)
        return _commit(
            store, user_id, [change], source, thread_id, known, checkpoint_id=checkpoint_id
        )[0]


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
    with _writer(store, user_id):
        existing = get_memory(store, user_id, key)
        if existing is None:
            raise MemoryValidationError(f"No memory with key {key!r} for user {user_id!r}.")
        change = Change("delete", key)
        return _commit(
            store,
            user_id,
            [change],
            source,
            thread_id,
            {key: existing},
            checkpoint_id=checkpoint_id,
        )[0]


def apply_changes(
    store: BaseStore, user_id: str, changes: Sequence[Change], *, source: Source
) -> list[MemoryWrite]:
    """Apply all changes at once or none: each is validated first; errors name the change.

    A change that says which ``updated_at`` it was made against is refused if the memory changed
    since; the check and the write happen under the user's write lock, so no write slips between.
    """
    if not changes:
        return []
    return apply_planned(store, user_id, lambda current: changes, source=source)


def apply_planned(
    store: BaseStore,
    user_id: str,
    plan: Callable[[Mapping[str, Memory]], Sequence[Change]],
    *,
    source: Source,
) -> list[MemoryWrite]:
    """Apply the changes ``plan`` makes from the user's memories as they are now, all or none.

    ``plan`` runs under the user's write lock, so what it sees is what the changes overwrite: two
    imports of one file at once create each memory once (the second finds them there).
    """
    with _writer(store, user_id):
        current = {m.key: m for m in list_memories(store, user_id)}
        return _commit(store, user_id, plan(current), source, None, current)


def check_changes(
    store: BaseStore, user_id: str, changes: Sequence[Change], *, source: Source
) -> list[MemoryWrite]:
    """What ``apply_changes`` would write, validated the same way, without writing: a preview."""
    current = {m.key: m for m in list_memories(store, user_id)}
    return plan_writes(changes, current, source, None, now_iso())


def undo(store: BaseStore, user_id: str, event_id: str) -> MemoryWrite:
    """Reverse one change: re-create a deleted memory, revert an update, remove a creation.

    Only a memory's latest change can be undone: undoing an older one would silently throw away
    what came after it (undoing "coffee" would turn a later "juice" back into "tea").
    """
    with _writer(store, user_id):
        event = _event(store, user_id, event_id)
        current = get_memory(store, user_id, event.memory_key)
        known = {current.key: current} if current else {}
        change = _reversal(event, current)
        return _commit(store, user_id, [change], "inspector", None, known, undo_of=[event.id])[0]


def undo_batch(store: BaseStore, user_id: str, event_id: str) -> list[MemoryWrite]:
    """Reverse every change of the save ``event_id`` was part of, all or nothing (one batch).

    A "delete all" or an import is one decision; undoing it one memory at a time would leave
    the rest behind. Each change is checked as ``undo`` checks it.
    """
    with _writer(store, user_id):
        chosen = _event(store, user_id, event_id)
        events = batch_left(history(store, user_id), chosen) or [chosen]
        current = {m.key: m for m in list_memories(store, user_id)}
        changes = [_reversal(e, current.get(e.memory_key)) for e in events]
        undone = [e.id for e in events]
        return _commit(store, user_id, changes, "inspector", None, current, undo_of=undone)


def batch_left(events: Sequence[HistoryEvent], chosen: HistoryEvent) -> list[HistoryEvent]:
    """The changes of ``chosen``'s save not undone since (one undone alone is left out)."""
    if not chosen.batch:
        return []
    undone = {e.undo_of for e in events if e.undo_of}
    return [e for e in events if e.batch == chosen.batch and e.id not in undone]


def _event(store: BaseStore, user_id: str, event_id: str) -> HistoryEvent:
    item = store.get(history_namespace(user_id), event_id)
    if item is None:
        raise MemoryValidationError(f"No change {event_id!r} in the history of user {user_id!r}.")
    return HistoryEvent(id=item.key, **item.value)


def _reversal(event: HistoryEvent, current: Memory | None) -> Change:
    """The change that takes ``event`` back, if the memory is still as it left it."""
    _refuse_if_changed_since(event, current)
    before = event.before or {}
    if event.action == "create":
        return Change("delete", event.memory_key)
    if event.action == "update":
        return Change("update", event.memory_key, before["content"], before["context"])
    return Change(
        "create", event.memory_key, before["content"], before["context"], carried_fields(before)
    )


def _refuse_if_changed_since(event: HistoryEvent, current: Memory | None) -> None:
    """Refuse to undo ``event`` unless the memory is still as the event left it."""
    said = " ".join(str((event.after or event.before or {}).get("content", "")).split())
    what = f"“{said[:60]}”" if said else f"Memory {event.memory_key}"
    if event.action == "delete":
        if current is not None:
            raise MemoryValidationError(f"{what} exists again; nothing to restore.")
        return
    if current is None:
        raise MemoryValidationError(
            f"{what} was deleted after this change; undo that deletion first."
        )
    after = event.after or {}
    if (current.content, current.context) != (after.get("content"), after.get("context")):
        raise MemoryValidationError(
            f"{what} was changed again after this change (by {current.source} at "
            f"{current.updated_at}); undo that newer change first."
        )


def reindex(store: BaseStore) -> int:
    """Re-embed every memory of every user (after the embedding changed); returns the count."""
    count = 0
    for namespace in store.list_namespaces(prefix=(MEMORY_NAMESPACE,), limit=1_000_000):
        items = every_item(store, namespace)
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
    undo_of: Sequence[str] | None = None,
    checkpoint_id: str | None = None,
) -> list[MemoryWrite]:
    """Validate every change against ``current``, then write them all in one store batch.

    ``undo_of`` names, change by change, the event each one takes back.
    """
    namespace, history_ns = memory_namespace(user_id), history_namespace(user_id)
    timestamp = now_iso()
    writes = plan_writes(changes, current, source, thread_id, timestamp)
    batch = uuid.uuid4().hex if len(writes) > 1 else None
    undoes = list(undo_of) if undo_of else [None] * len(writes)
    ops: list[PutOp] = []
    for write, undoing in zip(writes, undoes, strict=True):
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
            undo_of=undoing,
            checkpoint_id=checkpoint_id,
            batch=batch,
        )
        event_value = asdict(event)
        del event_value["id"]
        ops.append(PutOp(history_ns, event.id, event_value, index=False))
    store.batch(ops)
    return writes


@contextmanager
def _writer(store: BaseStore, user_id: str) -> Iterator[None]:
    """Hold the user's memory write lock: read, check and write as one step, across processes."""
    held = ExitStack()
    try:
        held.enter_context(locks_for(store).hold(f"memories:{user_id}", WRITE_WAIT_S))
    except LockBusy:
        raise MemoryValidationError(
            f"Another change to {user_id}'s memories has been running for {WRITE_WAIT_S:g} s; "
            "nothing was changed: try again in a moment."
        ) from None
    with held, storage_faults("the memory store"):  # a full disk is a sentence, not a traceback
        yield
