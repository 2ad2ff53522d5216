"""Recall on SQLite: the in-memory vector copy, the embedding settings, and old data directories."""

from __future__ import annotations

import json
import random
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from langgraph.store.base import SearchOp

from memory_agent import memories
from memory_agent.backends import vectors
from memory_agent.backends.index import INDEX_META_KEY, META_NAMESPACE
from memory_agent.configuration import Configuration
from memory_agent.models.embeddings import (
    WORDLLAMA_DIMS,
    EmbeddingServerError,
    EmbeddingSizeMismatch,
    make_embeddings,
)
from memory_agent.runtime import Runtime, open_runtime
from tests.live_app import cli_command
from tests.openai_stub import OpenAIStub

WORDS = [
    "sailing",
    "tea",
    "coffee",
    "Lisbon",
    "Porto",
    "cats",
    "dogs",
    "piano",
    "chess",
    "nurse",
    "Globex",
    "hiking",
    "jazz",
]


def _contents(runtime: Runtime, user: str, query: str, limit: int = 3) -> list[str]:
    return [m.content for m in memories.search_memories(runtime.store, user, query, limit)]


def test_a_write_by_another_process_is_recalled_by_the_next_search(
    runtime: Runtime, data_dir: Path
) -> None:
    memories.upsert_memory(runtime.store, "zed", "User loves chess", "", source="agent")
    assert _contents(runtime, "zed", "where do I live?") == ["User loves chess"]  # copy built
    told = subprocess.run(
        [*cli_command(data_dir, "chat", "--user", "zed"), "I live in Porto"],
        capture_output=True,
        text=True,
    )
    assert told.returncode == 0, told.stderr
    assert _contents(runtime, "zed", "where do I live?")[0] == "User lives in Porto"
    [porto] = [m for m in memories.list_memories(runtime.store, "zed") if "Porto" in m.content]
    gone = subprocess.run(
        [*cli_command(data_dir, "memories", "delete", porto.key, "--user", "zed")],
        capture_output=True,
        text=True,
    )
    assert gone.returncode == 0, gone.stderr
    assert _contents(runtime, "zed", "where do I live?") == ["User loves chess"]


def test_this_process_writes_updates_and_deletes_are_recalled_at_once(runtime: Runtime) -> None:
    first = memories.upsert_memory(runtime.store, "zed", "User lives in Porto", "", source="agent")
    assert _contents(runtime, "zed", "where do I live?") == ["User lives in Porto"]
    memories.upsert_memory(
        runtime.store, "zed", "User lives in Lisbon", "", key=first.key, source="agent"
    )
    memories.upsert_memory(runtime.store, "zed", "User has two cats", "", source="agent")
    assert _contents(runtime, "zed", "where do I live?") == [
        "User lives in Lisbon",
        "User has two cats",
    ]
    memories.delete_memory(runtime.store, "zed", first.key, source="agent")
    assert _contents(runtime, "zed", "where do I live?") == ["User has two cats"]
    assert _contents(runtime, "someone-else", "where do I live?") == []


def test_recall_from_memory_matches_the_stores_own_sql_search(runtime: Runtime) -> None:
    rng = random.Random(3)
    for i in range(300):
        content = f"User {rng.choice(['likes', 'hates'])} {rng.choice(WORDS)} {rng.choice(WORDS)}"
        memories.upsert_memory(runtime.store, "zed", f"{content} ({i})", "", source="import")
    namespace = memories.memory_namespace("zed")
    for query in ["do I like tea?", "music", "where do I work?", "pets", "李明"]:
        ours = runtime.store.search(namespace, query=query, limit=10, offset=2)
        # A filter every memory passes takes the store's SQL brute force instead.
        [sql] = runtime.store.batch([SearchOp(namespace, {"source": "import"}, 12, 0, query)])
        assert [i.key for i in ours] == [i.key for i in sql[2:12]]
        assert [i.score for i in ours] == pytest.approx([i.score for i in sql[2:12]], abs=1e-5)
        assert [i.value for i in ours] == [i.value for i in sql[2:12]]


def test_a_failed_write_changes_neither_the_memories_nor_what_recall_sees(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    memories.upsert_memory(runtime.store, "zed", "User loves chess", "", source="agent")
    assert _contents(runtime, "zed", "chess") == ["User loves chess"]
    real = runtime.store.vectors.record_write

    def then_fail(*args: object) -> None:
        real(*args)
        raise OSError("disk full")

    monkeypatch.setattr(runtime.store.vectors, "record_write", then_fail)
    with pytest.raises(OSError):
        memories.upsert_memory(runtime.store, "zed", "User loves jazz", "", source="agent")
    monkeypatch.undo()
    assert _contents(runtime, "zed", "jazz") == ["User loves chess"]
    assert len(memories.history(runtime.store, "zed")) == 1
    memories.upsert_memory(runtime.store, "zed", "User loves jazz", "", source="agent")
    assert _contents(runtime, "zed", "jazz")[0] == "User loves jazz"


def test_a_data_directory_built_with_hash_is_reindexed_with_wordllama(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING", "hash")
    old = open_runtime(data_dir)
    memories.upsert_memory(old.store, "zed", "User loves sailing", "", source="agent")
    memories.upsert_memory(old.store, "zed", "User has a dog called Rex", "", source="agent")
    old.close()
    monkeypatch.delenv("MEMORY_AGENT_EMBEDDING")
    runtime = open_runtime(data_dir)
    try:
        recorded = runtime.store.get(META_NAMESPACE, INDEX_META_KEY).value
        assert recorded == {"embedding": "wordllama", "dims": 256}
        [found, _] = memories.search_memories(runtime.store, "zed", "being out on a boat", 2)
        assert found.content == "User loves sailing" and found.score > 0.3
    finally:
        runtime.close()


def test_an_embedding_of_another_size_is_one_line_naming_both(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_DIMS", "128")
    with pytest.raises(EmbeddingSizeMismatch) as refused:
        open_runtime(data_dir)
    message = str(refused.value)
    assert "returns 256-dimensional vectors" in message and "DIMS is 128" in message
    assert "\n" not in message


def test_embeddings_come_from_their_own_server(
    data_dir: Path, openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING", "openai:stub-embed")
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_BASE_URL", openai_stub.url)
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_DIMS", "64")
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_ENCODING_FORMAT", "float")
    runtime = open_runtime(data_dir)
    try:
        assert runtime.settings.is_offline  # the chat model stays the offline one
        memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="agent")
        [found] = memories.search_memories(runtime.store, "zed", "User loves sailing")
        assert found.score == pytest.approx(1.0, abs=1e-4)
    finally:
        runtime.close()


class _NoEmbeddings(BaseHTTPRequestHandler):
    """A llama.cpp server started without ``--embeddings``: 501 on /v1/embeddings."""

    def do_POST(self) -> None:
        body = b'{"error": {"code": 501, "message": "This server does not support embeddings"}}'
        self.send_response(501)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def no_embeddings_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _NoEmbeddings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_an_embedding_server_fault_says_embedding_server_and_its_fix(
    data_dir: Path, no_embeddings_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING", "openai:nomic")
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_BASE_URL", no_embeddings_url)
    with pytest.raises(EmbeddingServerError) as refused:
        open_runtime(data_dir)
    message = str(refused.value)
    assert message.startswith(f"The embedding server at {no_embeddings_url} failed")
    assert "--embeddings" in message and "\n" not in message
    told = subprocess.run(
        [*cli_command(data_dir, "memories", "list", "--user", "zed")],
        capture_output=True,
        text=True,
    )
    assert told.returncode == 1
    assert told.stderr.startswith("error: The embedding server at")
    assert len(told.stderr.strip().splitlines()) == 1


def test_langgraph_json_declares_the_default_embeddings_size() -> None:
    declared = json.loads((Path(__file__).parents[1] / "langgraph.json").read_text())
    settings = Configuration.from_runnable_config()
    assert declared["store"]["index"]["dims"] == settings.embedding_dims == WORDLLAMA_DIMS
    assert len(make_embeddings(settings).embed_query("probe")) == WORDLLAMA_DIMS


def test_a_copy_left_behind_by_many_writes_elsewhere_is_rebuilt(
    runtime: Runtime, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "LOGGED_VERSIONS", 20)  # the log forgets all but 20 writes
    memories.upsert_memory(runtime.store, "zed", "User loves chess", "", source="agent")
    assert _contents(runtime, "zed", "chess") == ["User loves chess"]
    other = open_runtime(data_dir)
    try:
        for i in range(120):
            memories.upsert_memory(other.store, "zed", f"User visited town {i}", "", source="agent")
        memories.upsert_memory(other.store, "zed", "User plays the piano", "", source="agent")
    finally:
        other.close()
    assert _contents(runtime, "zed", "music", limit=1) == ["User plays the piano"]
    namespace = memories.memory_namespace("zed")
    assert len(runtime.store.search(namespace, query="town", limit=500)) == 122


def test_a_memory_with_several_vectors_is_searched_in_sql(runtime: Runtime) -> None:
    namespace = memories.memory_namespace("zed")
    runtime.store.put(namespace, "k1", {"content": "User loves chess", "context": "piano"})
    runtime.store.put(
        namespace,
        "k2",
        {"content": "User lives in Porto", "context": "chess"},
        index=["content", "context"],
    )
    found = runtime.store.search(namespace, query="User loves chess", limit=5)
    assert [item.key for item in found] == ["k1", "k2"]
    assert found[0].score == pytest.approx(1.0, abs=1e-4)


def test_a_value_changed_beside_its_vector_is_what_the_next_search_returns(
    runtime: Runtime, data_dir: Path
) -> None:
    """The copy keeps each item with its vector: a put that changes fields recall does not embed,
    by this store or by another one on the same file, still changes what a search returns."""
    memory = memories.upsert_memory(runtime.store, "zed", "User lives in Porto", "", source="agent")
    namespace = memories.memory_namespace("zed")
    assert runtime.store.search(namespace, query="where do I live?")[0].value["context"] == ""
    value = runtime.store.get(namespace, memory.key).value
    runtime.store.put(namespace, memory.key, {**value, "context": "said here"})
    [found] = runtime.store.search(namespace, query="where do I live?")
    assert found.value["context"] == "said here"
    other = open_runtime(data_dir)
    try:
        other.store.put(namespace, memory.key, {**value, "context": "said there"})
    finally:
        other.close()
    [found] = runtime.store.search(namespace, query="where do I live?")
    assert found.value["context"] == "said there"
