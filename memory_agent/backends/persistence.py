"""What every backend opens: a checkpointer, a store and their locks, closed together."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from memory_agent.backends.locks import Locks, NoLocks

_LOCKS: weakref.WeakKeyDictionary[BaseStore, Locks] = weakref.WeakKeyDictionary()


@dataclass
class Persistence:
    """A checkpointer and a store, opened together and closed together."""

    checkpointer: BaseCheckpointSaver
    store: BaseStore
    location: str
    close: Callable[[], None]
    resize_index: Callable[[int], None] | None = None
    """Fits the vector column to a new size before a reindex, where vectors have a fixed size."""
    locks: Locks = field(default_factory=NoLocks)
    """Named locks every process on this backend shares (one turn per conversation at a time)."""

    def __post_init__(self) -> None:
        _LOCKS[self.store] = self.locks


def locks_for(store: BaseStore) -> Locks:
    """The locks of the backend ``store`` belongs to; memory writes take theirs from here.

    Memory functions are given only a store (the agent's tools get LangGraph's), so the backend
    that opened it registers its locks against it; a store opened elsewhere has none.
    """
    return _LOCKS.get(store) or NoLocks()
