"""Every OpenAI-compatible server's wire format, through the real ChatOpenAI HTTP path.

Two facts told in two conversations are both kept and both reach a third conversation's prompt,
whatever ids and stream shapes the server sends (repeated, missing, numeric, parallel), and with
an error inside the stream that a retry answers. Token usage, asked for with
``stream_options.include_usage``, is stored on each reply.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from memory_agent import memories
from memory_agent.conversations import chat, threads
from memory_agent.models import errors
from memory_agent.runtime import Runtime, open_runtime
from tests.wire_emulator import MODES, USAGE, Reply, WireEmulator

USER = "zed"
FACTS = {"t1": ["User loves sailing"], "t2": ["User works at Acme"]}
PARALLEL_FACTS = {
    "t1": ["User loves sailing", "User has a dog called Rex"],
    "t2": ["User works at Acme", "User lives in Berlin"],
}


@pytest.fixture(params=MODES)
def emulator(request: pytest.FixtureRequest) -> Iterator[WireEmulator]:
    with WireEmulator(request.param) as server:
        yield server


@pytest.fixture
def server_runtime(
    emulator: WireEmulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", emulator.url)
    monkeypatch.setenv("MEMORY_AGENT_MODEL", "emulated-model")
    runtime = open_runtime(data_dir)
    yield runtime
    runtime.close()


def tell(runtime: Runtime, emulator: WireEmulator, thread: str, facts: list[str]) -> str:
    """The user states the facts; the model saves each (one reply, parallel calls) and answers."""
    calls = [("upsert_memory", json.dumps({"content": f, "context": "told"})) for f in facts]
    emulator.script(Reply(tool_calls=calls), Reply(text="Noted, I will remember."))
    return turn(runtime, emulator, thread, " and ".join(facts))


def turn(runtime: Runtime, emulator: WireEmulator, thread: str, message: str) -> str:
    """Send the message; where the stream fails first, the error says retry and a retry answers."""
    if emulator.mode != "midstream-error":
        return "".join(str(p) for p in chat.send(runtime, USER, thread, message))
    with pytest.raises(errors.StreamReportedError):
        list(chat.send(runtime, USER, thread, message))
    reason = chat.pending_error(runtime, USER, thread)
    assert reason.startswith("The model server stopped the reply with an error: retry.")
    assert reason.endswith("The server said: “The decoder crashed half-way”")
    return "".join(str(p) for p in chat.resume(runtime, USER, thread))


def test_two_facts_in_two_conversations_are_kept_and_recalled_in_a_third(
    server_runtime: Runtime, emulator: WireEmulator
) -> None:
    told = PARALLEL_FACTS if emulator.mode == "parallel" else FACTS
    for thread, facts in told.items():
        reply = tell(server_runtime, emulator, thread, facts)
        assert reply.endswith("Noted, I will remember.")

    stored = memories.list_memories(server_runtime.store, USER)
    wanted = sorted(f for facts in told.values() for f in facts)
    assert sorted(m.content for m in stored) == wanted
    assert len({m.key for m in stored}) == len(wanted)

    emulator.script(Reply(text="You love sailing and work at Acme."))
    turn(server_runtime, emulator, "t3", "What do you know about me?")
    system = emulator.chat_requests()[-1]["messages"][0]
    assert system["role"] == "system"
    for fact in wanted:
        assert fact in system["content"]

    # Every request asked for usage, and every stored reply carries it.
    assert all(r["stream_options"] == {"include_usage": True} for r in emulator.chat_requests())
    replies = [m for m in threads.messages(server_runtime, USER, "t3") if isinstance(m, AIMessage)]
    assert replies[-1].usage_metadata["input_tokens"] == USAGE["prompt_tokens"]
    assert replies[-1].usage_metadata["output_tokens"] == USAGE["completion_tokens"]
    print(f"\n{emulator.mode}: {len(stored)} memories kept, {len(wanted)} recalled")


def test_calls_in_one_conversation_get_distinct_ids_each_answered_by_its_own_result(
    server_runtime: Runtime, emulator: WireEmulator
) -> None:
    """Ids the server reused or left out are replaced before results are paired with calls."""
    told = PARALLEL_FACTS if emulator.mode == "parallel" else FACTS
    for facts in told.values():
        tell(server_runtime, emulator, "t1", facts)
    sent = emulator.chat_requests()[-1]["messages"]  # all of the conversation, as re-sent
    calls = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    results = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
    assert len(calls) == sum(map(len, told.values()))
    assert calls == results and all(calls) and len(set(calls)) == len(calls)
    assert len(memories.list_memories(server_runtime.store, USER)) == len(calls)
