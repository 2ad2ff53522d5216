"""The inspector's read of a user's memories and history: once per render, one query each.

``memories.list_memories`` and ``memories.history`` read a namespace in one query
(``backends.items.every_item``); the Memories tab asks for both once and passes them on.
"""

from __future__ import annotations

from dataclasses import dataclass

from langgraph.store.base import BaseStore

from memory_agent.memories import HistoryEvent, Memory, history, list_memories


@dataclass(frozen=True)
class UserData:
    """Everything the Memories tab shows, read once per render."""

    memories: list[Memory]
    """Most recently updated first."""
    events: list[HistoryEvent]
    """Newest first."""


def read_user(store: BaseStore, user_id: str) -> UserData:
    """The user's memories and their whole change history, one query each."""
    return UserData(list_memories(store, user_id), history(store, user_id))
