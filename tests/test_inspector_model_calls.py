"""Every model call of a turn, rebuilt from the stored thread, is what the model server received."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage

from memory_agent import memories
from memory_agent.conversations import chat, threads
from memory_agent.inspector.model_calls import model_calls, turns
from memory_agent.recall import RECALL_KEY, Recall
from memory_agent.runtime import Runtime
from tests.openai_stub import OpenAIStub, Reply


def test_a_saving_turn_shows_the_deciding_call_and_the_confirmation_as_sent(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    memories.upsert_memory(online_runtime.store, "zed", "User's name is Zed", source="inspector")
    args = json.dumps({"content": "User loves sailing"})
    openai_stub.replies.extend([Reply(tool_calls=[("upsert_memory", args)]), Reply(text="Noted!")])
    list(chat.send(online_runtime, "zed", "t1", "I love sailing"))

    calls = model_calls(threads.messages(online_runtime, "zed", "t1"))
    requests = [r["body"]["messages"] for r in openai_stub.chat_requests()]
    assert len(calls) == len(requests) == 2
    for call, sent in zip(calls, requests, strict=True):
        assert call.system_prompt == sent[0]["content"]  # byte for byte, rebuilt
        assert [row["role"] for row in call.sent] == [
            {"user": "human", "assistant": "ai"}.get(m["role"], m["role"]) for m in sent[1:]
        ]
    deciding, confirming = calls
    assert deciding.summary == "asked for 1 tool call: upsert_memory"
    [saved] = [
        m for m in memories.list_memories(online_runtime.store, "zed") if "sail" in m.content
    ]
    assert [(t.name, t.args, t.result, t.status) for t in deciding.tools] == [
        (
            "upsert_memory",
            {"content": "User loves sailing"},
            f"Created memory {saved.key}",
            "success",
        )
    ]
    assert "User loves sailing" not in deciding.system_prompt  # it did not exist yet
    assert "User loves sailing" in confirming.system_prompt
    assert [m["content"] for m in deciding.recall.memories] == ["User's name is Zed"]
    assert (confirming.summary, confirming.reply) == ("answered in words", "Noted!")


def test_in_a_long_thread_a_call_shows_the_recent_turns_it_was_sent_not_the_whole_thread(
    online_runtime: Runtime, openai_stub: OpenAIStub
) -> None:
    for number in range(30):
        list(chat.send(online_runtime, "zed", "t1", f"hello number {number}"))
    messages = threads.messages(online_runtime, "zed", "t1")
    [call] = model_calls(messages)
    sent = openai_stub.chat_requests()[-1]["body"]["messages"][1:]
    assert len(call.sent) == len(sent) < len(messages) - 1
    assert call.sent[0]["content"] == sent[0]["content"]  # the window's first message


def test_each_turn_is_named_by_its_message_and_an_earlier_one_opens(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "My name is Zed and I love sailing"))
    list(chat.send(runtime, "zed", "t1", "What do you know about me?"))
    messages = threads.messages(runtime, "zed", "t1")
    first, second = turns(messages)
    assert (first.text, second.text) == (
        "My name is Zed and I love sailing",
        "What do you know about me?",
    )
    assert [c.summary for c in model_calls(messages)] == ["answered in words"]  # the last turn
    calls = model_calls(messages, first)
    assert [c.summary for c in calls] == [
        "asked for 2 tool calls: upsert_memory",
        "answered in words",
    ]
    assert [len(c.sent) for c in calls] == [1, 4]  # the user's message; then the tool results too


def test_a_prompt_without_user_info_is_flagged_and_usage_is_kept() -> None:
    recall = Recall(
        "hi", "2026-01-01T00:00:00+00:00", ({"key": "k", "content": "c", "score": 0.5},)
    )
    reply = AIMessage(
        "Hello",
        id="ai_1",
        response_metadata={RECALL_KEY: {**recall.as_metadata(), "system_prompt": "Be brief."}},
        usage_metadata={"input_tokens": 120, "output_tokens": 7, "total_tokens": 127},
    )
    [call] = model_calls([HumanMessage("hi", id="h1"), reply])
    assert not call.shows_memories and call.system_prompt == "Be brief."
    assert call.usage == {"input_tokens": 120, "output_tokens": 7, "total_tokens": 127}
    default = AIMessage("Hello", id="ai_2", response_metadata={RECALL_KEY: recall.as_metadata()})
    assert model_calls([HumanMessage("hi", id="h1"), default])[0].shows_memories
