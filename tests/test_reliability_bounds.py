"""Runaway models are bounded: model calls per turn, memory changes per turn, refused arguments.

Before, a model that called the tool on every reply ran for 200 s (628 memories, 1,872 messages)
until killed; one reply with 100 tool calls created 100 memories; a refused 3 MB tool call stayed
in the thread and was re-sent with every later request. The model is the local stub.
"""

from __future__ import annotations

import json

import pytest

from memory_agent import memories
from memory_agent.configuration import Configuration
from memory_agent.conversations import chat, threads
from memory_agent.runtime import Runtime
from tests.openai_stub import OpenAIStub, Reply

USER = "zed"


def _save(fact: str) -> tuple[str, str]:
    return ("upsert_memory", json.dumps({"content": fact, "context": "chat"}))


def test_a_model_that_calls_the_tool_on_every_reply_stops_at_the_turn_limit(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    limit = Configuration.from_runnable_config().max_model_calls
    openai_stub.default_reply = Reply(tool_calls=[_save("User loves loops")])
    shown = [e for e in chat.send(online_runtime, USER, "t1", "hello") if isinstance(e, str)]
    sent = openai_stub.chat_requests()
    stored = threads.messages(online_runtime, USER, "t1")
    print(f"\nrunaway model: {len(sent)} model calls, {len(stored)} messages, then stopped")
    assert len(sent) == limit
    assert all("tools" in r["body"] for r in sent[:-1]) and "tools" not in sent[-1]["body"]
    assert "limit of 6 model calls" in stored[-1].text
    assert "limit of 6 model calls" in "".join(shown), "the person is told why it stopped"
    # the last call is offered no tools: a tool call it makes anyway is not carried out
    assert len(memories.list_memories(online_runtime.store, USER)) == limit - 1
    assert not chat.has_pending_turn(online_runtime, USER, "t1"), "the thread stays usable"

    openai_stub.default_reply = Reply(text="Fine again.")
    list(chat.send(online_runtime, USER, "t1", "and now?"))
    assert threads.messages(online_runtime, USER, "t1")[-1].text == "Fine again."


def test_one_reply_with_100_tool_calls_changes_at_most_the_turn_limit(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    limit = Configuration.from_runnable_config().max_tool_calls
    openai_stub.replies.append(Reply(tool_calls=[_save(f"User fact {n}") for n in range(100)]))
    openai_stub.replies.append(Reply(text="Saved some."))
    list(chat.send(online_runtime, USER, "t1", "remember all of this"))
    saved = memories.list_memories(online_runtime.store, USER)
    results = [m for m in threads.messages(online_runtime, USER, "t1") if m.type == "tool"]
    refused = [m for m in results if m.status == "error"]
    print(f"\n100 tool calls in one reply: {len(saved)} memories, {len(refused)} refused")
    assert len(saved) == limit
    assert len(results) == 100 and len(refused) == 100 - limit
    assert "the limit" in refused[0].content


@pytest.mark.parametrize("valid_json", [True, False], ids=["json", "not-json"])
def test_a_refused_3mb_tool_call_is_not_kept_or_sent_again(
    online_runtime: Runtime, openai_stub: OpenAIStub, valid_json: bool
) -> None:
    huge = json.dumps({"content": "x" * 3_000_000})
    openai_stub.replies.append(
        Reply(tool_calls=[("upsert_memory", huge if valid_json else huge[:-2])])
    )
    openai_stub.replies.append(Reply(text="That was too long."))
    list(chat.send(online_runtime, USER, "t1", "remember this"))
    list(chat.send(online_runtime, USER, "t1", "next message"))
    sizes = [len(json.dumps(r["body"])) for r in openai_stub.chat_requests()]
    print(f"\n3 MB tool call: requests after it are {sizes[1:]} bytes")
    assert max(sizes[1:]) < 50_000, "the arguments were not re-sent"
    stored = json.dumps([m.model_dump() for m in threads.messages(online_runtime, USER, "t1")])
    assert len(stored) < 50_000
    assert memories.list_memories(online_runtime.store, USER) == []
