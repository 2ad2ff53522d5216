"""Realistic data for the benchmarks: memories written the way the app writes them.

``write_memories`` goes through ``memories.apply_changes`` (what the inspector and an import
call): each memory is validated, embedded, and leaves its ``create`` event in the change history;
every tenth is then edited, so the history holds updates too, as a used account's does.
"""

from __future__ import annotations

import random

from langgraph.store.base import BaseStore

from memory_agent import memories

USER = "bench-user"
TOPICS = [
    "sailing", "coffee", "tea", "acme", "paris", "chess", "jazz", "rowing", "hiking", "dogs",
    "cats", "pizza", "sushi", "berlin", "python", "rust", "piano", "guitar", "tennis", "poetry",
]  # fmt: skip
BATCH = 1_000


def write_memories(store: BaseStore, count: int, user: str = USER, seed: int = 7) -> None:
    """``count`` memories for ``user`` with their history, in batches of ``BATCH``."""
    rng = random.Random(seed)
    for start in range(0, count, BATCH):
        changes = [
            memories.Change(
                "create",
                content=f"User likes {rng.choice(TOPICS)} and {rng.choice(TOPICS)} ({i})",
                context="said in a conversation",
                label=f"Row {i}",
            )
            for i in range(start, min(count, start + BATCH))
        ]
        written = memories.apply_changes(store, user, changes, source="inspector")
        edits = [
            memories.Change("update", key=w.key, content=f"{w.after.content}, still", label=w.key)
            for w in written[::10]
        ]
        memories.apply_changes(store, user, edits, source="inspector")
