"""The real ChatOpenAI / OpenAIEmbeddings HTTP path, against a local OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory_agent import memories
from memory_agent.cli import main
from memory_agent.conversations import chat, threads
from memory_agent.runtime import Runtime, open_runtime
from tests.openai_stub import STREAM_USAGE, OpenAIStub, Reply


def _turn(runtime: Runtime, thread: str, text: str, user: str = "zed") -> list:
    return list(chat.send(runtime, user, thread, text))


def test_reply_text_is_streamed_token_by_token(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    openai_stub.replies.append(Reply(text="Ahoy there, sailor friend!"))
    events = _turn(online_runtime, "t1", "hello")
    assert events == ["Ahoy ", "there, ", "sailor ", "friend!"]
    request = openai_stub.chat_requests()[0]["body"]
    assert request["stream"] is True
    assert request["model"] == "stub-model"
    assert request["tools"][0]["function"]["name"] == "upsert_memory"
    assert request["messages"][-1] == {"role": "user", "content": "hello"}


def test_a_tool_call_with_arguments_stores_the_memory(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    args = json.dumps({"content": "User loves sailing", "context": "said while greeting"})
    openai_stub.replies.extend([Reply(tool_calls=[("upsert_memory", args)]), Reply(text="Noted!")])
    events = _turn(online_runtime, "t1", "I love sailing")
    assert [str(e) for e in events] == ["Saved to memory: User loves sailing", "Noted!"]
    [stored] = memories.list_memories(online_runtime.store, "zed")
    assert (stored.content, stored.context, stored.thread_id) == (
        "User loves sailing",
        "said while greeting",
        "t1",
    )
    # The second request carried the tool result back to the model.
    second = openai_stub.chat_requests()[1]["body"]["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["content"] == f"Created memory {stored.key}"


def test_the_system_prompt_carries_the_recalled_memory(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    memories.upsert_memory(
        online_runtime.store, "zed", "User's name is Zed", "intro", source="inspector"
    )
    openai_stub.replies.append(Reply(text="You are Zed."))
    _turn(online_runtime, "t1", "What's my name?")
    system = openai_stub.chat_requests()[0]["body"]["messages"][0]
    assert system["role"] == "system"
    assert "User's name is Zed" in system["content"]
    record = threads.messages(online_runtime, "zed", "t1")[-1].response_metadata
    assert record["memory_agent_recall"]["memories"][0]["content"] == "User's name is Zed"


def test_malformed_tool_arguments_are_answered_as_a_tool_error(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    openai_stub.replies.extend(
        [
            Reply(tool_calls=[("upsert_memory", '{"content": nope}')]),
            Reply(tool_calls=[("upsert_memory", '{"context": "no content"}')]),
            Reply(tool_calls=[("launch_rockets", "{}")]),
            Reply(text="Sorry, I could not save that."),
        ]
    )
    events = _turn(online_runtime, "t1", "I love sailing")
    assert events == ["Sorry, ", "I ", "could ", "not ", "save ", "that."]
    tool_results = [m for m in threads.messages(online_runtime, "zed", "t1") if m.type == "tool"]
    assert [m.status for m in tool_results] == ["error", "error", "error"]
    assert "not valid JSON" in tool_results[0].content
    assert "content" in tool_results[1].content
    assert "no tool named 'launch_rockets'" in tool_results[2].content
    assert memories.list_memories(online_runtime.store, "zed") == []


def test_openai_compatible_embeddings_build_the_index(
    data_dir: Path, openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", openai_stub.url)
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING", "openai:stub-embed")
    monkeypatch.setenv("MEMORY_AGENT_EMBEDDING_DIMS", "64")
    runtime = open_runtime(data_dir)
    try:
        memories.upsert_memory(runtime.store, "zed", "User loves sailing", "", source="inspector")
        memories.upsert_memory(runtime.store, "zed", "User works at Acme", "", source="inspector")
        found = memories.search_memories(runtime.store, "zed", "User loves sailing")
    finally:
        runtime.close()
    embed_requests = [r for r in openai_stub.requests if r["path"].endswith("/embeddings")]
    assert embed_requests and embed_requests[0]["body"]["model"] == "stub-embed"
    assert found[0].content == "User loves sailing"
    assert found[0].score == pytest.approx(1.0, abs=1e-3)
    assert found[1].score < 0.9


def test_an_api_key_is_sent_as_a_bearer_token(
    data_dir: Path, openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_stub.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    runtime = open_runtime(data_dir)
    try:
        _turn(runtime, "t1", "hello")
    finally:
        runtime.close()
    request = openai_stub.chat_requests()[0]
    assert request["auth"] == "Bearer sk-local-test"
    assert request["body"]["model"] == "gpt-4o-mini"


def test_token_usage_is_asked_for_and_kept_on_each_reply_and_in_the_state_json(
    online_runtime: Runtime, openai_stub: OpenAIStub, data_dir: Path, capsys
) -> None:
    openai_stub.replies.append(Reply(text="Ahoy!"))
    _turn(online_runtime, "t1", "hello")
    assert openai_stub.chat_requests()[0]["body"]["stream_options"] == {"include_usage": True}
    [reply] = [m for m in threads.messages(online_runtime, "zed", "t1") if m.type == "ai"]
    usage = reply.usage_metadata
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        STREAM_USAGE["prompt_tokens"],
        STREAM_USAGE["completion_tokens"],
        STREAM_USAGE["total_tokens"],
    )

    online_runtime.close()
    assert main(["--data-dir", str(data_dir), "state", "--user", "zed", "--thread", "t1"]) == 0
    state = json.loads(capsys.readouterr().out)
    [stored] = [m for m in state["values"]["messages"] if m["type"] == "ai"]
    assert stored["usage_metadata"]["input_tokens"] == STREAM_USAGE["prompt_tokens"]
    assert stored["usage_metadata"]["output_tokens"] == STREAM_USAGE["completion_tokens"]
