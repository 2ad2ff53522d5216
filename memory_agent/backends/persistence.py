"""What every backend opens: a checkpointer and a store, closed together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore


@dataclass
class Persistence:
    """A checkpointer and a store, opened together and closed together."""

    checkpointer: BaseCheckpointSaver
    store: BaseStore
    location: str
    close: Callable[[], None]
    resize_index: Callable[[int], None] | None = None
    """Fits the vector column to a new size before a reindex, where vectors have a fixed size."""
