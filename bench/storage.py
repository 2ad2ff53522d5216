"""Checkpoint bytes on disk after 100 and 500 turns, per durability mode, vs the raw messages."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from langchain_core.messages import messages_to_dict

from bench.agent_runs import sqlite_agent, turn
from bench.common import Figure
from memory_agent.backends.sqlite import CONVERSATIONS_FILE
from memory_agent.conversations.threads import thread_config

TURNS = {"full": [100, 500], "tiny": [3]}
DURABILITY = ["async", "exit"]
"""``sync`` writes the same checkpoints as ``async`` (only when differs), so the same bytes."""


def _disk_bytes(turns: int, durability: str) -> tuple[int, int, int]:
    """(bytes of conversations.sqlite, raw bytes of the messages, checkpoints) after ``turns``."""
    with tempfile.TemporaryDirectory() as tmp:
        with sqlite_agent(Path(tmp)) as (graph, persistence):
            for number in range(1, turns + 1):
                turn(graph, "t", number, durability)
            state = graph.get_state(thread_config("bench-user", "t"))
            raw = len(json.dumps(messages_to_dict(state.values["messages"])).encode())
            checkpoints = sum(1 for _ in persistence.checkpointer.list(None))
            persistence.checkpointer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return (Path(tmp) / CONVERSATIONS_FILE).stat().st_size, raw, checkpoints


def run(scale: str = "full") -> list[Figure]:
    figures = []
    for turns in TURNS[scale]:
        for durability in DURABILITY:
            size, raw, checkpoints = _disk_bytes(turns, durability)
            figures.append(
                Figure(
                    "checkpoint bytes",
                    f"{turns} turns, durability={durability} ({checkpoints} checkpoints)",
                    size / 1e6,
                    "raw bytes of the thread's messages (JSON)",
                    raw / 1e6,
                    "MB",
                    target="report",
                )
            )
    return figures
