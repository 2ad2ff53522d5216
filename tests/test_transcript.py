"""A bounded state keeps the recent turns; the transcript keeps the whole conversation."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from bench.agent_runs import build_bounded_graph
from memory_agent.conversations import chat, transcript
from memory_agent.conversations.threads import thread_config
from memory_agent.graph import build_graph
from memory_agent.runtime import Runtime
from memory_agent.state import WINDOW_MESSAGES, add_recent_batches, recent_turns

pytestmark = pytest.mark.both_backends

SAYINGS = ["My name is Zed and I love sailing", "hello", "I work at Acme", "What do you know?"]


def _say(graph, thread: str, text: str, user: str = "zed") -> None:
    graph.invoke({"messages": [HumanMessage(text)]}, thread_config(user, thread))


def _window(graph, thread: str, **config) -> list:
    return graph.get_state(thread_config("zed", thread, **config)).values["messages"]


def _shown(messages) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """Each bubble's role, lines (sorted: equal recall scores come in any order) and notes."""
    return [
        (t.role, sorted(t.text.splitlines()), tuple(map(str, t.notes)))
        for t in chat.turns(messages)
    ]


def test_a_long_thread_keeps_a_bounded_state_and_the_whole_transcript(runtime: Runtime) -> None:
    bounded = build_bounded_graph(runtime.checkpointer, runtime.store)
    whole = build_graph(runtime.checkpointer, runtime.store)
    for number in range(30):
        text = f"{SAYINGS[number % len(SAYINGS)]} ({number})"
        _say(bounded, "bounded", text)
        _say(whole, "whole", text, user="ann")  # her own memories, so the same replies

    window = _window(bounded, "bounded")
    assert len(window) <= WINDOW_MESSAGES < len(_window(whole, "whole"))
    assert isinstance(window[0], HumanMessage)
    kept = transcript.whole(runtime.store, "bounded", window)
    assert _shown(kept) == _shown(_window(whole, "whole"))
    assert any(isinstance(m, ToolMessage) and m.artifact for m in kept[: -len(window)])


def test_a_fork_reads_back_only_its_own_branch(runtime: Runtime) -> None:
    graph = build_bounded_graph(runtime.checkpointer, runtime.store)
    for number in range(30):
        _say(graph, "t", f"hello {number}")
    at_25 = next(
        s
        for s in graph.get_state_history(thread_config("zed", "t"))
        if s.values["messages"][-1].type == "ai" and s.values["messages"][-2].text == "hello 24"
    )
    graph.update_state(at_25.config, None)
    _say(graph, "t", "a new branch")

    texts = [m.text for m in transcript.whole(runtime.store, "t", _window(graph, "t"))]
    said = [t for t in texts if t.startswith(("hello", "a new"))]
    assert said == [f"hello {n}" for n in range(25)] + ["a new branch"]


def test_threads_sharing_a_prefix_keep_separate_transcripts(runtime: Runtime) -> None:
    graph = build_bounded_graph(runtime.checkpointer, runtime.store)
    for number in range(25):
        _say(graph, "t", f"in t {number}")
        _say(graph, "t2", f"in t2 {number}")
    transcript.delete(runtime.store, "t2")

    texts = {m.text for m in transcript.whole(runtime.store, "t", _window(graph, "t"))}
    assert {f"in t {n}" for n in range(25)} <= texts
    assert not any(t.startswith("in t2") for t in texts)
    assert transcript.earlier(runtime.store, "t2", _window(graph, "t2")) == []


def test_recording_twice_writes_nothing_new(runtime: Runtime) -> None:
    window = [HumanMessage("hi", id="h1"), AIMessage("hello", id="a1")]
    assert transcript.record(runtime.store, "t", window) == 2
    assert transcript.record(runtime.store, "t", window) == 0
    assert transcript.record(runtime.store, "t", [*window, HumanMessage("x", id="h2")]) == 1


def test_the_window_never_starts_with_a_reply_or_a_tool_result() -> None:
    turn = [
        HumanMessage("save it", id="h"),
        AIMessage("", id="a", tool_calls=[{"name": "upsert_memory", "args": {}, "id": "c"}]),
        ToolMessage("saved", tool_call_id="c", id="t"),
        AIMessage("done", id="d"),
    ]
    messages = [m.model_copy(update={"id": f"{m.id}{n}"}) for n in range(20) for m in turn]
    window = recent_turns(messages, size=10)
    assert isinstance(window[0], HumanMessage) and len(window) == 8
    one_long_turn = turn[:1] + [AIMessage(str(n), id=str(n)) for n in range(12)]
    assert recent_turns(one_long_turn, size=10) == one_long_turn


def test_trimming_between_batches_gives_the_same_window() -> None:
    writes = [[HumanMessage(f"q{n}", id=f"q{n}"), AIMessage(f"a{n}", id=f"a{n}")] for n in range(9)]
    writes = writes * 5  # the same ids again would replace: give each round its own
    writes = [[m.model_copy(update={"id": f"{m.id}-{r}"}) for m in w] for r, w in enumerate(writes)]
    at_once = add_recent_batches(None, writes)
    in_two = add_recent_batches(add_recent_batches(None, writes[:25]), writes[25:])
    assert [m.id for m in at_once] == [m.id for m in in_two]
