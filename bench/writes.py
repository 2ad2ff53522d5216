"""Memory write (``upsert_memory``: validate, embed, store, history) vs a bare SQLite insert."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from pathlib import Path

from bench.agent_runs import sqlite_agent
from bench.common import Figure, ms, percentile, samples
from memory_agent import memories

COUNT = {"full": 500, "tiny": 10}


def run(scale: str = "full") -> list[Figure]:
    numbers = itertools.count()
    with sqlite_agent() as (_, persistence):
        ours = samples(
            lambda: memories.upsert_memory(
                persistence.store, "bench-user", f"User likes topic {next(numbers)}", "benchmark"
            ),
            COUNT[scale],
        )
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "bare.sqlite", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE store (prefix TEXT, key TEXT, value TEXT, PRIMARY KEY (prefix, key))"
        )
        bare = samples(
            lambda: conn.execute(
                "INSERT INTO store VALUES (?, ?, ?)",
                ("memories.bench-user", str(next(numbers)), '{"content": "User likes a topic"}'),
            ),
            COUNT[scale],
        )
        conn.close()
    return [
        Figure(
            "memory write",
            f"upsert_memory, p{pct}",
            ms(percentile(ours, pct)),
            "bare SQLite insert of the row",
            ms(percentile(bare, pct)),
            "ms",
            target="report",
        )
        for pct in (50, 95)
    ]
