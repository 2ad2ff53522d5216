"""Where each memory came from: every version, and the conversation turn that wrote it.

A history event written by the agent names its thread and the checkpoint its turn ran from
(the state holding the user's message and the model's tool call), so each version links to the
exact moment of the conversation that made the agent believe it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from memory_agent.memories import HistoryEvent


@dataclass(frozen=True)
class Version:
    """One change to a memory: what it said after, who made it, and where."""

    action: str
    at: str
    content: str
    source: str
    thread_id: str | None
    checkpoint_id: str | None
    undo: bool


def versions(events: Sequence[HistoryEvent], key: str) -> list[Version]:
    """Every change to the memory ``key``, oldest first."""
    return versions_by_key(e for e in events if e.memory_key == key).get(key, [])


def versions_by_key(events: Iterable[HistoryEvent]) -> dict[str, list[Version]]:
    """Every memory's changes, oldest first, in one pass (a forgotten memory's too)."""
    found: dict[str, list[Version]] = {}
    for e in sorted(events, key=lambda e: e.id):
        found.setdefault(e.memory_key, []).append(
            Version(
                action=e.action,
                at=e.at,
                content=(e.after or e.before or {}).get("content", ""),
                source=e.source,
                thread_id=e.thread_id,
                checkpoint_id=e.checkpoint_id,
                undo=e.undo_of is not None,
            )
        )
    return found


def latest_writers(events: Sequence[HistoryEvent]) -> dict[str, HistoryEvent]:
    """For each memory key, the change that wrote its current text, a turn's where one did.

    A restore (a fork bringing back the memories of then) or an undo writes an old text again
    "by inspector"; the turn that first wrote that text is still the one that made the agent
    believe it, so a turn's change with the same text is preferred to the later rewrite.
    """
    latest: dict[str, HistoryEvent] = {}
    by_turn: dict[tuple[str, str], HistoryEvent] = {}
    for event in sorted(events, key=lambda e: e.id):
        if event.action == "delete":
            continue
        latest[event.memory_key] = event
        if event.thread_id and event.checkpoint_id:
            by_turn[(event.memory_key, _content(event))] = event
    return {key: by_turn.get((key, _content(event)), event) for key, event in latest.items()}


def _content(event: HistoryEvent) -> str:
    return str((event.after or {}).get("content", ""))
