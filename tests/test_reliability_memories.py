"""Concurrent memory writers: stale edits caught, history true, undo safe, imports counted once.

Before, with the agent and the inspector writing the same memories, 39 of 44 real conflicts went
through silently and the history recorded the wrong "before"; undoing an older change discarded
newer ones; three imports of one file at once logged 1,000 creates for 500 memories and the count
chart dipped to -499. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from memory_agent import memories
from memory_agent.inspector.memory_table import count_over_time
from memory_agent.memories import Change, MemoryValidationError
from memory_agent.runtime import Runtime

pytestmark = pytest.mark.both_backends

USER = "zed"


def _history_chain_breaks(runtime: Runtime, user: str) -> list[str]:
    """Events whose "before" is not what the memory's previous event left: a lost write."""
    breaks, last = [], {}
    for event in reversed(memories.history(runtime.store, user)):  # oldest first
        if event.before != last.get(event.memory_key):
            breaks.append(f"{event.id} {event.memory_key}")
        last[event.memory_key] = event.after
    return breaks


def test_an_inspector_save_racing_the_agent_is_refused_never_silent(runtime: Runtime) -> None:
    keys = [
        memories.upsert_memory(runtime.store, USER, f"fact {n}", source="agent").key
        for n in range(4)
    ]
    stop = threading.Event()
    errors: list[BaseException] = []
    outcome = {"saved": 0, "refused": 0}

    def agent() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            key = random.choice(keys)
            try:
                memories.upsert_memory(runtime.store, USER, f"agent {n}", key=key)
            except Exception as error:
                errors.append(error)

    def inspector() -> None:
        for n in range(60):
            loaded = {m.key: m for m in memories.list_memories(runtime.store, USER)}
            key = random.choice(keys)
            time.sleep(random.uniform(0, 0.004))  # a person editing the cell
            change = Change(
                "update",
                key,
                f"inspector {n}",
                "",
                expected_updated_at=loaded[key].updated_at,
            )
            try:
                memories.apply_changes(runtime.store, USER, [change], source="inspector")
            except MemoryValidationError as error:
                assert "since it was loaded" in str(error)
                outcome["refused"] += 1
                continue
            outcome["saved"] += 1

    workers = [threading.Thread(target=agent), threading.Thread(target=inspector)]
    for worker in workers:
        worker.start()
    workers[1].join(timeout=120)
    stop.set()
    workers[0].join(timeout=30)
    # A write that overwrote a change it never saw breaks the history's chain of before/after.
    introduced = _history_chain_breaks(runtime, USER)
    print(
        f"\ninspector saves racing the agent: {outcome['saved']} saved, "
        f"{outcome['refused']} conflicts detected, {len(introduced)} introduced"
    )
    assert errors == []
    assert outcome["refused"] > 0, "the race was real"
    assert introduced == []


def test_undo_of_an_older_change_refuses_while_a_newer_one_stands(runtime: Runtime) -> None:
    key = memories.upsert_memory(runtime.store, USER, "User drinks tea", source="agent").key
    memories.upsert_memory(runtime.store, USER, "User drinks coffee", key=key)
    memories.upsert_memory(runtime.store, USER, "User drinks juice", key=key)
    coffee, juice = sorted(
        (e for e in memories.history(runtime.store, USER) if e.action == "update"),
        key=lambda e: e.id,
    )
    with pytest.raises(MemoryValidationError, match="changed again after this change"):
        memories.undo(runtime.store, USER, coffee.id)
    assert memories.get_memory(runtime.store, USER, key).content == "User drinks juice"

    memories.undo(runtime.store, USER, juice.id)  # newest first works, and then the older one
    memories.undo(runtime.store, USER, coffee.id)
    assert memories.get_memory(runtime.store, USER, key).content == "User drinks tea"

    created = next(e for e in memories.history(runtime.store, USER) if e.action == "create")
    memories.delete_memory(runtime.store, USER, key, source="inspector")
    with pytest.raises(MemoryValidationError, match="deleted after this change"):
        memories.undo(runtime.store, USER, created.id)
    assert _history_chain_breaks(runtime, USER) == []


def test_three_imports_of_one_file_at_once_create_each_memory_once(runtime: Runtime) -> None:
    rows = [{"key": f"k{n:04d}", "content": f"User fact number {n}"} for n in range(300)]
    results: list[list] = []
    errors: list[BaseException] = []

    def run_import() -> None:
        try:
            results.append(memories.import_memories(runtime.store, USER, rows, "merge"))
        except Exception as error:
            errors.append(error)

    workers = [threading.Thread(target=run_import) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert errors == []
    created = sorted(sum(w.action == "create" for w in writes) for writes in results)
    events = memories.history(runtime.store, USER)
    stored = memories.list_memories(runtime.store, USER)
    counts = count_over_time(events, len(stored))["memories"]
    print(f"\n3 imports of 300 rows at once: created {created}, {len(events)} events")
    assert created == [0, 0, 300]
    assert len(stored) == 300
    assert [e.action for e in events] == ["create"] * 300
    assert counts.min() >= 0 and counts.iloc[-1] == 300
