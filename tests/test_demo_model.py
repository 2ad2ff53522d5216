"""The offline demo model: a real chat model that drives the memory path deterministically."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from memory_agent.models.demo import SIGNATURE, OfflineDemoModel, extract_facts
from memory_agent.prompts import render_system_prompt
from memory_agent.tools import upsert_memory


def _system(*memories: tuple[str, str]) -> SystemMessage:
    rows = [{"key": k, "content": c, "context": "", "score": 0.5} for k, c in memories]
    return SystemMessage(render_system_prompt("Memories:\n{user_info}\nTime: {time}", rows, "now"))


def test_stated_facts_become_one_tool_call_each() -> None:
    model = OfflineDemoModel().bind_tools([upsert_memory])
    reply = model.invoke([_system(), HumanMessage("My name is Zed and I love sailing")])
    assert [c["name"] for c in reply.tool_calls] == ["upsert_memory", "upsert_memory"]
    assert [c["args"]["content"] for c in reply.tool_calls] == [
        "User's name is Zed",
        "User loves sailing",
    ]
    assert all("memory_id" not in c["args"] for c in reply.tool_calls)
    assert len({c["id"] for c in reply.tool_calls}) == 2


def test_fact_kinds_are_recognised() -> None:
    contents = {
        text: [f.content for f in extract_facts(text)]
        for text in [
            "I work at Acme",
            "I prefer tea",
            "remember that my sister is called Ann",
            "I live in Paris.",
            "Hi! I am a teacher",
        ]
    }
    assert contents == {
        "I work at Acme": ["User works at Acme"],
        "I prefer tea": ["User prefers tea"],
        "remember that my sister is called Ann": ["User's sister is called Ann"],
        "I live in Paris.": ["User lives in Paris"],
        "Hi! I am a teacher": ["User is a teacher"],
    }
    assert extract_facts("What do you know about me?") == []


def test_a_correction_updates_the_recalled_memory_by_id() -> None:
    model = OfflineDemoModel().bind_tools([upsert_memory])
    reply = model.invoke(
        [_system(("m-tea", "User prefers tea")), HumanMessage("actually I prefer coffee now")]
    )
    assert reply.tool_calls[0]["args"]["memory_id"] == "m-tea"
    assert reply.tool_calls[0]["args"]["content"] == "User prefers coffee"


def test_a_second_preference_without_a_correction_is_a_new_memory() -> None:
    model = OfflineDemoModel().bind_tools([upsert_memory])
    reply = model.invoke(
        [_system(("m-tea", "User prefers tea")), HumanMessage("I prefer aisle seats")]
    )
    assert "memory_id" not in reply.tool_calls[0]["args"]


def test_answers_come_only_from_recalled_memories() -> None:
    model = OfflineDemoModel().bind_tools([upsert_memory])
    history = [HumanMessage("My name is Bob"), AIMessage("ok")]
    # The conversation says Bob, but nothing was recalled: the model must not use the chat.
    reply = model.invoke([_system(), *history, HumanMessage("What's my name?")])
    assert "Bob" not in reply.content
    assert "don't know" in reply.content
    reply = model.invoke([_system(("m1", "User's name is Zed")), HumanMessage("What's my name?")])
    assert reply.content.startswith("Your name is Zed.")
    assert reply.content.endswith(SIGNATURE)


def test_streaming_yields_the_reply_in_pieces_with_fresh_ids() -> None:
    model = OfflineDemoModel()
    chunks = list(
        model.stream(
            [_system(("m1", "User loves sailing")), HumanMessage("what do you know about me?")]
        )
    )
    assert len(chunks) > 3
    text = "".join(c.content for c in chunks)
    assert "You love sailing" in text
    first, second = model.invoke([HumanMessage("hi")]), model.invoke([HumanMessage("hi")])
    assert first.id != second.id


def test_without_the_tool_bound_it_does_not_call_it() -> None:
    reply = OfflineDemoModel().invoke([HumanMessage("My name is Zed")])
    assert reply.tool_calls == []
    assert "offline demo model" in reply.content
