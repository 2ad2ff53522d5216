"""The embedded SQLite data directory: real files, WAL, the vector index, and embedding changes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from memory_agent import memories
from memory_agent.backends.index import EmbeddingMismatch
from memory_agent.backends.sqlite import CONVERSATIONS_FILE, MEMORIES_FILE
from memory_agent.cli import main
from memory_agent.conversations import chat
from memory_agent.runtime import Runtime, open_runtime


def test_one_data_directory_holds_two_sqlite_files_in_wal_mode(
    runtime: Runtime, data_dir: Path
) -> None:
    list(chat.send(runtime, "zed", "t1", "I love sailing"))
    for name in (CONVERSATIONS_FILE, MEMORIES_FILE):
        with sqlite3.connect(data_dir / name) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with sqlite3.connect(data_dir / MEMORIES_FILE) as conn:
        fields = conn.execute("SELECT DISTINCT field_name FROM store_vectors").fetchall()
    assert [f[0] for f in fields] == ["content"]


def test_the_index_embeds_content_not_the_whole_json(runtime: Runtime) -> None:
    memories.upsert_memory(runtime.store, "zed", "User loves sailing", "boats", source="inspector")
    memories.upsert_memory(runtime.store, "zed", "User works at Acme", "job", source="inspector")
    [best, other] = memories.search_memories(runtime.store, "zed", "User loves sailing")
    assert best.content == "User loves sailing"
    assert best.score == pytest.approx(1.0, abs=1e-4)
    assert other.score < 0.5


def test_deleting_a_memory_removes_its_vectors(runtime: Runtime, data_dir: Path) -> None:
    write = memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="agent")
    memories.delete_memory(runtime.store, "zed", write.key, source="inspector")
    with sqlite3.connect(data_dir / MEMORIES_FILE) as conn:
        assert conn.execute("SELECT COUNT(*) FROM store_vectors").fetchone()[0] == 0


def test_a_changed_embedding_is_refused_until_reindexed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    runtime = open_runtime(data_dir)
    memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="agent")
    runtime.close()
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING", "hash")
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_DIMS", "64")
    with pytest.raises(EmbeddingMismatch, match="reindex"):
        open_runtime(data_dir)
    assert main(["--data-dir", str(data_dir), "reindex"]) == 0
    assert "Re-embedded 1 memories" in capsys.readouterr().out
    runtime = open_runtime(data_dir)
    try:
        [found] = memories.search_memories(runtime.store, "zed", "User loves sailing")
        assert found.score == pytest.approx(1.0, abs=1e-4)
    finally:
        runtime.close()


def test_concurrent_conversations_on_one_runtime_lose_nothing(runtime: Runtime) -> None:
    errors: list[BaseException] = []

    def converse(user: str) -> None:
        try:
            for turn in range(5):
                list(chat.send(runtime, user, f"{user}-t", f"I love hobby{turn}"))
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=converse, args=(f"user{i}",)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    for i in range(4):
        stored = memories.list_memories(runtime.store, f"user{i}")
        assert sorted(m.content for m in stored) == [f"User loves hobby{t}" for t in range(5)]
