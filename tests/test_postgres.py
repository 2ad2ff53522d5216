"""The PostgreSQL backend: set-up, pgvector, clear failures, migration, several app servers.

The core and inspector suites already run on Postgres (see conftest); these pin down what only
Postgres has. Every test gets a fresh database on the session's server through ``data_dir``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from memory_agent import memories
from memory_agent.backends.index import EmbeddingMismatch
from memory_agent.cli import main
from memory_agent.conversations import chat, threads
from memory_agent.runtime import Runtime, open_runtime
from tests.live_app import ROOT, free_port
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest.fixture
def url(data_dir: Path) -> str:
    """This test's fresh database, which ``data_dir``'s backend put in the environment."""
    return os.environ["MEMORY_AGENT_DATABASE_URL"]


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_first_start_creates_the_tables_and_an_hnsw_index_over_content(
    runtime: Runtime, url: str
) -> None:
    list(chat.send(runtime, "zed", "t1", "My name is Zed and I love sailing"))
    assert _query(url, "SELECT DISTINCT field_name FROM store_vectors") == [("content",)]
    [(definition,)] = _query(
        url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'store_vectors_embedding_idx'"
    )
    assert "hnsw" in definition and "vector_cosine_ops" in definition
    [best, *_] = memories.search_memories(runtime.store, "zed", "User loves sailing")
    assert best.content == "User loves sailing"
    assert best.score == pytest.approx(1.0, abs=1e-4)


def test_deleting_a_memory_removes_its_vectors(runtime: Runtime, url: str) -> None:
    write = memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="agent")
    memories.delete_memory(runtime.store, "zed", write.key, source="inspector")
    assert _query(url, "SELECT COUNT(*) FROM store_vectors") == [(0,)]


def test_a_changed_embedding_size_is_refused_until_reindexed(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    runtime = open_runtime()
    memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="agent")
    runtime.close()
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING", "hash")
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_DIMS", "64")
    with pytest.raises(EmbeddingMismatch, match="reindex"):
        open_runtime()
    assert main(["reindex"]) == 0
    assert "Re-embedded 1 memories" in capsys.readouterr().out
    assert _query(
        url,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'store_vectors'::regclass AND attname = 'embedding'",
    ) == [("vector(64)",)]
    runtime = open_runtime()
    try:
        [found] = memories.search_memories(runtime.store, "zed", "User loves sailing")
        assert found.score == pytest.approx(1.0, abs=1e-4)
    finally:
        runtime.close()


@pytest.mark.parametrize(
    ("database_url", "says"),
    [
        ("postgresql://postgres@127.0.0.1:{port}/x", "Cannot reach PostgreSQL at"),
        ("mysql://root@localhost/x", "must start with postgresql://"),
        ("postgresql://u@h/db?bogus=1", "is malformed"),
    ],
)
def test_an_unusable_database_url_fails_with_one_line(
    database_url: str, says: str, backend: str, capsys: pytest.CaptureFixture
) -> None:
    bad = database_url.format(port=free_port())
    assert main(["--database-url", bad, "memories", "list", "--user", "zed"]) == 1
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1, err


def test_a_database_without_pgvector_says_who_must_create_it(
    postgres_server: PostgresServer, url: str, capsys: pytest.CaptureFixture
) -> None:
    """A role that may not install extensions, on a database where none is installed yet."""
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS plain")
        conn.execute("CREATE ROLE plain LOGIN")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO plain")
    plain = url.replace("postgres@", "plain@")
    assert main(["--database-url", plain, "threads", "list", "--user", "zed"]) == 1
    err = capsys.readouterr().err
    assert "CREATE EXTENSION vector" in err and err.count("\n") == 1, err


def test_migrate_copies_conversations_with_history_and_memories_once(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "sqlite"
    monkeypatch.delenv("MEMORY_AGENT_DATABASE_URL")
    old = open_runtime(source)
    for thread, text in [("t1", "My name is Zed and I love sailing"), ("t2", "I work at Acme")]:
        list(chat.send(old, "zed", thread, text))
    list(chat.send(old, "zed", "t1", "What do you know about me?"))
    before = _everything(old)
    old.close()

    assert main(["migrate", "--from-sqlite", str(source), "--to", url]) == 0
    out = capsys.readouterr().out
    assert "Copied 2 conversations" in out and " 3 memories" in out
    new = open_runtime(database_url=url)
    try:
        assert _everything(new) == before
    finally:
        new.close()
    assert main(["migrate", "--from-sqlite", str(source), "--to", url]) == 0
    assert "Copied 0 conversations, 0 checkpoints, 0 writes, 0 memories" in capsys.readouterr().out


def _everything(runtime: Runtime) -> dict:
    """Threads, each thread's messages and checkpoint history, memories and their change log."""
    result: dict = {"memories": memories.list_memories(runtime.store, "zed")}
    result["history"] = memories.history(runtime.store, "zed")
    for thread in threads.list_threads(runtime, "zed"):
        config = {"configurable": {"thread_id": thread.thread_id}}
        result[thread.thread_id] = (
            thread,
            [m.content for m in threads.messages(runtime, "zed", thread.thread_id)],
            [s.config for s in runtime.graph.get_state_history(config)],
        )
    return result


def test_a_memory_edited_through_one_server_is_recalled_by_another_at_once(url: str) -> None:
    first, second = open_runtime(), open_runtime()
    try:
        list(chat.send(first, "zed", "t1", "I love sailing"))
        [memory] = memories.list_memories(second.store, "zed")
        memories.upsert_memory(
            second.store,
            "zed",
            "User loves rowing",
            memory.context,
            key=memory.key,
            source="inspector",
        )
        reply = "".join(str(e) for e in chat.send(first, "zed", "t2", "What do you know about me?"))
        assert "You love rowing" in reply and "sailing" not in reply
    finally:
        first.close()
        second.close()


CHATTER = textwrap.dedent(
    """
    import json, sys, threading
    from memory_agent.conversations import chat
    from memory_agent.runtime import open_runtime

    server, turns = sys.argv[1], int(sys.argv[2])
    runtime = open_runtime()
    errors = []

    def converse(user):
        try:
            for turn in range(turns):
                list(chat.send(runtime, user, user + "-t", f"I love {user}x{turn}"))
        except BaseException as error:
            errors.append(repr(error))

    workers = [threading.Thread(target=converse, args=(f"s{server}u{i}",)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    runtime.close()
    print(json.dumps(errors))
    """
)


def test_two_app_processes_with_four_conversations_each_lose_nothing(url: str) -> None:
    """2 processes × 4 threads × 20 turns of ``chat.send`` on one database."""
    turns = 20
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CHATTER, str(server), str(turns)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for server in range(2)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == []
    runtime = open_runtime()
    try:
        for server in range(2):
            for i in range(4):
                user = f"s{server}u{i}"
                stored = sorted(m.content for m in memories.list_memories(runtime.store, user))
                assert stored == sorted(f"User loves {user}x{t}" for t in range(turns))
                said = [
                    m.content
                    for m in threads.messages(runtime, user, f"{user}-t")
                    if m.type == "human"
                ]
                assert said == [f"I love {user}x{t}" for t in range(turns)]
    finally:
        runtime.close()
