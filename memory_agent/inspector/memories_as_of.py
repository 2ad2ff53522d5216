"""A user's memories as they were at any moment, rebuilt from the change history.

Every write leaves a history event with the memory before and after it, so the memories of any
moment are today's memories with every later change taken back, newest first. Starting from
today (not from nothing) keeps memories the history never saw, such as ones written by other
tools. Restoring a moment is a plain batch of ``memories.Change``s: validated, all or nothing,
and recorded in the history like any other inspector edit (so it can be taken back too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from memory_agent.memories import Change, HistoryEvent, Memory
from memory_agent.memories.validation import carried_fields

_ID_TIME = "%Y%m%dT%H%M%S%f"
_ID_PREFIX = re.compile(r"\d{8}T\d{12}")


@dataclass(frozen=True)
class Difference:
    """How one memory differs between a moment and now."""

    key: str
    change: str
    """``added since``, ``deleted since`` or ``changed since``."""
    then: str
    now: str


def event_time(event: HistoryEvent) -> datetime:
    """When the change was committed, to the microsecond (its id starts with that time).

    ``at`` is kept to the millisecond; a checkpoint's time has microseconds, so comparing
    against ``at`` could put a change on the wrong side of the checkpoint written just after it.
    """
    try:
        return datetime.strptime(event.id[:22], _ID_TIME).replace(tzinfo=UTC)
    except ValueError:
        return parse_time(event.at)


def parse_time(iso: str) -> datetime:
    """An ISO 8601 time, naive ones read as UTC."""
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def memories_as_of(
    current: Iterable[Memory], events: Sequence[HistoryEvent], moment: str
) -> list[Memory]:
    """The memories as they were at ``moment`` (ISO time), most recently updated first."""
    cutoff = parse_time(moment)
    stamp = cutoff.astimezone(UTC).strftime(_ID_TIME)
    state = {m.key: m for m in current}
    for event in sorted(events, key=lambda e: e.id, reverse=True):
        # The id's time as text compares like the time itself (parsing 10k of them took 0.43 s).
        newer = event.id[:22] > stamp if _ID_PREFIX.match(event.id) else event_time(event) > cutoff
        if not newer:
            break
        if event.action == "create":
            state.pop(event.memory_key, None)
        elif event.before is not None:
            state[event.memory_key] = _memory(event.memory_key, event.before)
    return sorted(state.values(), key=lambda m: m.updated_at, reverse=True)


def differences(then: Iterable[Memory], now: Iterable[Memory]) -> list[Difference]:
    """What changed between two sets of memories, by key: added, deleted or changed since."""
    before, after = {m.key: m for m in then}, {m.key: m for m in now}
    found = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is None and new is not None:
            found.append(Difference(key, "added since", "", new.content))
        elif new is None and old is not None:
            found.append(Difference(key, "deleted since", old.content, ""))
        elif old and new and (old.content, old.context) != (new.content, new.context):
            found.append(Difference(key, "changed since", old.content, new.content))
    return found


def restore_changes(then: Iterable[Memory], now: Iterable[Memory]) -> list[Change]:
    """The changes that make today's memories what they were then (keys and dates kept)."""
    before, after = {m.key: m for m in then}, {m.key: m for m in now}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        label = f"Memory {key}"
        if old is None and new is not None:
            changes.append(Change("delete", key, label=label, expected_updated_at=new.updated_at))
        elif new is None and old is not None:
            fields = carried_fields(old.stored_value())
            changes.append(Change("create", key, old.content, old.context, fields, label=label))
        elif old and new and (old.content, old.context) != (new.content, new.context):
            changes.append(
                Change(
                    "update",
                    key,
                    old.content,
                    old.context,
                    label=label,
                    expected_updated_at=new.updated_at,
                )
            )
    return changes


def _memory(key: str, value: dict) -> Memory:
    return Memory(
        key=key,
        content=str(value.get("content", "")),
        context=str(value.get("context") or ""),
        created_at=value.get("created_at") or "",
        updated_at=value.get("updated_at") or "",
        thread_id=value.get("thread_id"),
        source=value.get("source") or "agent",
    )
