"""Eight conversations × 50 turns at once on one data directory: threads, then processes.

Threads share one runtime, as Streamlit's sessions do; processes each open the data directory,
as several CLI chats (or a CLI next to the app server) do. Both must finish with no error — no
"database is locked" — and with every message, memory and history event in place. A write that
fails half-way under such load (disk full, a lock timeout) must leave nothing half-written.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from memory_agent import memories
from memory_agent.conversations import chat, threads
from memory_agent.runtime import Runtime, open_runtime
from tests.live_app import cli_command
from tests.reliability_checks import half_written_memories, integrity_ok

CONVERSATIONS = 8
TURNS = 50
FACT_EVERY = 5


def _script(user: str) -> list[str]:
    """The user's messages: every fifth states a new fact (one memory), the rest chat."""
    return [
        f"I love topic {user} number {n}" if n % FACT_EVERY == 0 else f"hello {user} {n}"
        for n in range(TURNS)
    ]


def _users(kind: str) -> list[str]:
    return [f"{kind}-user{i}" for i in range(CONVERSATIONS)]


def _check_everything_stored(data_dir: Path, users: list[str]) -> None:
    """Each user's thread holds all 50 messages in order, each answered; every fact is a memory
    with its vector and one ``create`` history event."""
    assert integrity_ok(data_dir)
    runtime = open_runtime(data_dir)
    try:
        for user in users:
            thread = f"{user}-thread"
            stored = threads.messages(runtime, user, thread)
            assert [m.content for m in stored if m.type == "human"] == _script(user)
            assert not chat.has_pending_turn(runtime, user, thread)
            assert len(chat.history(runtime, user, thread)) == 2 * TURNS
            facts = sorted(f"User loves topic {user} number {n}" for n in range(0, TURNS, 5))
            assert sorted(m.content for m in memories.list_memories(runtime.store, user)) == facts
            events = memories.history(runtime.store, user)
            assert sorted(e.action for e in events) == ["create"] * len(facts)
            assert half_written_memories(runtime, data_dir, user) == []
    finally:
        runtime.close()


def test_eight_conversations_as_threads_of_one_runtime(data_dir: Path) -> None:
    runtime = open_runtime(data_dir)
    errors: list[BaseException] = []
    users = _users("thread")

    def converse(user: str) -> None:
        try:
            for text in _script(user):
                list(chat.send(runtime, user, f"{user}-thread", text))
        except Exception as error:  # counted and shown below, never hidden
            errors.append(error)

    workers = [threading.Thread(target=converse, args=(user,)) for user in users]
    start = time.perf_counter()
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        runtime.close()
    elapsed = time.perf_counter() - start
    print(f"\nthreads: {CONVERSATIONS * TURNS / elapsed:.1f} turns/s, {len(errors)} errors")
    assert errors == []
    _check_everything_stored(data_dir, users)


def test_eight_conversations_as_separate_cli_processes(data_dir: Path) -> None:
    users = _users("process")
    open_runtime(data_dir).close()  # create the files once, as a first run of the app would
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                *cli_command(data_dir, "chat", "--user", user, "--thread", f"{user}-thread"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        for user in users
    ]
    outcomes = [
        process.communicate("".join(f"{t}\n" for t in _script(user)).encode(), timeout=300)
        for process, user in zip(processes, users, strict=True)
    ]
    elapsed = time.perf_counter() - start
    failures = [
        (process.returncode, err.decode(errors="replace")[-500:])
        for process, (_, err) in zip(processes, outcomes, strict=True)
        if process.returncode != 0 or err.strip()
    ]
    print(
        f"\nprocesses: {CONVERSATIONS * TURNS / elapsed:.1f} turns/s including start-up, "
        f"{len(failures)} failed"
    )
    assert failures == []
    _check_everything_stored(data_dir, users)


def test_a_memory_write_that_fails_half_way_leaves_nothing_behind(
    runtime: Runtime, data_dir: Path
) -> None:
    """A store batch is all or nothing, as a memory and its history event must be.

    The failure is made to hit the batch's last statement (the vector insert, after the memory and
    its history event are written), as a full disk or a lock timeout would half-way.
    """
    runtime.store.conn.execute(
        "CREATE TEMP TRIGGER full_disk BEFORE INSERT ON store_vectors "
        "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
    )
    with pytest.raises(Exception, match="disk is full"):  # pysqlite3 or sqlite3, by build
        memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="agent")
    assert memories.list_memories(runtime.store, "zed") == []
    assert memories.history(runtime.store, "zed") == []

    runtime.store.conn.execute("DROP TRIGGER full_disk")  # space again: the same write works
    memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="agent")
    assert half_written_memories(runtime, data_dir, "zed") == []
    assert [m.content for m in memories.list_memories(runtime.store, "zed")] == [
        "User loves sailing"
    ]


def test_a_checkpoint_write_that_fails_half_way_leaves_nothing_behind(runtime: Runtime) -> None:
    """A task's writes are stored all or none: with some stored, LangGraph would count the task
    as done on resume and never redo the writes that are missing."""
    conn = runtime.checkpointer.conn
    conn.execute(
        "CREATE TEMP TRIGGER full_disk BEFORE INSERT ON writes WHEN NEW.idx = 1 "
        "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
    )
    config = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c1"}}
    writes = [("messages", ["hello"]), ("branch:to:call_model", None)]
    with pytest.raises(sqlite3.IntegrityError, match="disk is full"):
        runtime.checkpointer.put_writes(config, writes, task_id="task-1")
    assert conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0] == 0

    conn.execute("DROP TRIGGER full_disk")  # space again: the same writes go in whole
    runtime.checkpointer.put_writes(config, writes, task_id="task-1")
    assert conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0] == 2
