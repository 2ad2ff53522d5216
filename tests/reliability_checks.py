"""Checks that a data directory is whole: used after crashes and concurrent runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from memory_agent import memories
from memory_agent.backends.sqlite import CONVERSATIONS_FILE, MEMORIES_FILE
from memory_agent.conversations import threads
from memory_agent.runtime import Runtime


def integrity_ok(data_dir: Path) -> bool:
    """``PRAGMA integrity_check`` is ``ok`` for both SQLite files."""
    for name in (CONVERSATIONS_FILE, MEMORIES_FILE):
        with sqlite3.connect(data_dir / name) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                return False
    return True


def half_written_memories(runtime: Runtime, data_dir: Path, user: str) -> list[str]:
    """Keys of memories missing their vector or their history event (both are written with them)."""
    stored = memories.list_memories(runtime.store, user)
    created = {e.memory_key for e in memories.history(runtime.store, user)}
    with sqlite3.connect(data_dir / MEMORIES_FILE) as conn:
        indexed = {
            row[0]
            for row in conn.execute(
                "SELECT key FROM store_vectors WHERE prefix = ?", (f"memories.{user}",)
            )
        }
    return [m.key for m in stored if m.key not in indexed or m.key not in created]


def unanswered_tool_calls(runtime: Runtime, user: str, thread: str) -> list[str]:
    """Tool calls with no tool result before the next message: a real model rejects that history.

    Only the very last message may have them (a turn that stopped before ``store_memory``).
    """
    messages = threads.messages(runtime, user, thread)
    problems = []
    for index, message in enumerate(messages):
        calls = getattr(message, "tool_calls", None) or []
        if not calls or index == len(messages) - 1:
            continue
        answered = set()
        for later in messages[index + 1 :]:
            if later.type != "tool":
                break
            answered.add(later.tool_call_id)
        problems += [
            f"{call['id']} at message {index} of {len(messages)}: "
            + " | ".join(f"{m.type}:{str(m.content)[:40]}" for m in messages[index - 1 : index + 3])
            for call in calls
            if call["id"] not in answered
        ]
    return problems
