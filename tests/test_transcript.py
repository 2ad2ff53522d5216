"""The state keeps the recent turns; the transcript keeps the whole conversation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, ToolMessage
from langgraph.prebuilt import ToolRuntime

from memory_agent import state as agent_state
from memory_agent import tools
from memory_agent.conversations import chat, threads, transcript
from memory_agent.conversations.threads import thread_config
from memory_agent.graph import _with_own_ids, build_graph
from memory_agent.runtime import Runtime, open_runtime
from memory_agent.state import WINDOW_MESSAGES, WholeState, add_recent_batches, recent_turns

pytestmark = pytest.mark.both_backends

SAYINGS = ["My name is Zed and I love sailing", "hello", "I work at Acme", "What do you know?"]


def _say(graph, thread: str, text: str, user: str = "zed") -> None:
    graph.invoke({"messages": [HumanMessage(text)]}, thread_config(user, thread))


def _window(graph, thread: str, user: str = "zed", **config) -> list:
    return graph.get_state(thread_config(user, thread, **config)).values["messages"]


def _shown(messages) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """Each bubble's role, lines (sorted: equal recall scores come in any order) and notes."""
    return [
        (t.role, sorted(t.text.splitlines()), tuple(map(str, t.notes)))
        for t in chat.turns(messages)
    ]


def _conversation(runtime: Runtime, thread: str, turns: int, user: str = "zed") -> None:
    threads.open_thread(runtime, user, thread)
    for number in range(turns):
        _say(runtime.graph, thread, f"{SAYINGS[number % len(SAYINGS)]} ({number})", user)


def test_a_long_thread_keeps_a_bounded_state_and_the_whole_transcript(runtime: Runtime) -> None:
    whole = build_graph(runtime.checkpointer, runtime.store, state_schema=WholeState)
    _conversation(runtime, "bounded", 30)
    for number in range(30):  # her own memories, so the same replies
        _say(whole, "whole", f"{SAYINGS[number % len(SAYINGS)]} ({number})", user="ann")

    window = _window(runtime.graph, "bounded")
    everything = _window(whole, "whole", user="ann")
    assert len(window) <= WINDOW_MESSAGES < len(everything)
    assert isinstance(window[0], HumanMessage)
    kept = threads.messages(runtime, "zed", "bounded")
    assert _shown(kept) == _shown(everything)
    assert any(isinstance(m, ToolMessage) and m.artifact for m in kept[: -len(window)])


def test_no_message_is_lost_at_the_window_edge_however_long_a_turn(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window smaller than one turn still keeps the previous turn's final reply."""
    monkeypatch.setattr(agent_state.recent_turns, "__defaults__", (2,))
    whole = build_graph(runtime.checkpointer, runtime.store, state_schema=WholeState)
    _conversation(runtime, "small", 12)
    for number in range(12):
        _say(whole, "whole", f"{SAYINGS[number % len(SAYINGS)]} ({number})", user="ann")

    window = _window(runtime.graph, "small")
    assert [m.type for m in window].count("human") == 2  # the previous turn and the last
    assert _shown(threads.messages(runtime, "zed", "small")) == _shown(
        _window(whole, "whole", user="ann")
    )


def test_a_fork_reads_back_only_its_own_branch(runtime: Runtime) -> None:
    graph = runtime.graph
    threads.open_thread(runtime, "zed", "t")
    for number in range(30):
        _say(graph, "t", f"hello {number}")
    at_25 = next(
        s
        for s in graph.get_state_history(thread_config("zed", "t"))
        if s.values["messages"][-1].type == "ai" and s.values["messages"][-2].text == "hello 24"
    )
    graph.update_state(at_25.config, None)
    _say(graph, "t", "a new branch")

    texts = [m.text for m in threads.messages(runtime, "zed", "t")]
    said = [t for t in texts if t.startswith(("hello", "a new"))]
    assert said == [f"hello {n}" for n in range(25)] + ["a new branch"]


def _latest(runtime: Runtime, thread: str) -> str:
    return threads.get_state(runtime, "zed", thread).config["configurable"]["checkpoint_id"]


def test_an_edited_message_shows_its_new_text_after_it_leaves_the_window(
    runtime: Runtime,
) -> None:
    _conversation(runtime, "t", 3)
    said = next(m for m in _window(runtime.graph, "t") if m.text == "hello (1)")
    threads.fork_with_edit(runtime, "zed", "t", _latest(runtime, "t"), said.id, "edited hello")
    for number in range(30):
        _say(runtime.graph, "t", f"later {number}")

    assert said.id not in {m.id for m in _window(runtime.graph, "t")}
    texts = [m.text for m in threads.messages(runtime, "zed", "t")]
    assert "edited hello" in texts and "hello (1)" not in texts
    assert texts.count("later 29") == 1


def test_a_removed_message_stays_gone_after_the_window_moves_on(runtime: Runtime) -> None:
    _conversation(runtime, "t", 3)
    said = next(m for m in _window(runtime.graph, "t") if m.text == "hello (1)")
    threads.fork_with_edit(runtime, "zed", "t", _latest(runtime, "t"), said.id, None)
    for number in range(30):
        _say(runtime.graph, "t", f"later {number}")

    kept = threads.messages(runtime, "zed", "t")
    assert said.id not in {m.id for m in kept}
    assert [m.text for m in kept if m.type == "human"][:3] == [
        f"{SAYINGS[0]} (0)",
        f"{SAYINGS[2]} (2)",
        "later 0",
    ]


def test_removing_a_message_is_recorded_as_its_neighbour_skipping_it(runtime: Runtime) -> None:
    first = [HumanMessage("a", id="a"), AIMessage("b", id="b"), HumanMessage("c", id="c")]
    transcript.record(runtime.store, "t", first)
    after = add_recent_batches(first, [[RemoveMessage(id="b")], [AIMessage("d", id="d")]])
    assert transcript.record(runtime.store, "t", after) == 2  # c's previous, and d
    assert [m.id for m in transcript.whole(runtime.store, "t", after[-1:])] == ["a", "c", "d"]


def test_threads_sharing_a_prefix_keep_separate_transcripts(runtime: Runtime) -> None:
    threads.open_thread(runtime, "zed", "t")
    threads.open_thread(runtime, "zed", "t2")
    for number in range(25):
        _say(runtime.graph, "t", f"in t {number}")
        _say(runtime.graph, "t2", f"in t2 {number}")
    threads.delete_thread(runtime, "zed", "t2")

    texts = {m.text for m in threads.messages(runtime, "zed", "t")}
    assert {f"in t {n}" for n in range(25)} <= texts
    assert not any(t.startswith("in t2") for t in texts)
    assert transcript.earlier(runtime.store, "t2", _window(runtime.graph, "t")) == []


def test_recording_the_same_window_again_writes_nothing(runtime: Runtime) -> None:
    _conversation(runtime, "t", 6)
    window = _window(runtime.graph, "t")
    transcript.record(runtime.store, "t", window)  # the last reply was not recorded yet
    assert transcript.record(runtime.store, "t", window) == 0
    window = [HumanMessage("hi", id="h1"), AIMessage("hello", id="a1")]
    assert transcript.record(runtime.store, "u", window) == 2
    assert transcript.record(runtime.store, "u", window) == 0
    assert transcript.record(runtime.store, "u", [*window, HumanMessage("x", id="h2")]) == 1


def test_the_whole_conversation_exports_as_json(runtime: Runtime) -> None:
    import json

    _conversation(runtime, "t", 25)
    document = json.loads(threads.transcript_as_json(runtime, "zed", "t"))
    humans = [m["data"]["content"] for m in document["messages"] if m["type"] == "human"]
    assert humans == [f"{SAYINGS[n % len(SAYINGS)]} ({n})" for n in range(25)]
    with pytest.raises(threads.ThreadNotFound):
        threads.transcript_as_json(runtime, "someone-else", "t")


def test_earlier_turns_page_back_to_the_first_message(runtime: Runtime) -> None:
    _conversation(runtime, "t", 30)
    shown = chat.view(runtime, "zed", "t")
    assert shown.earlier and shown.pending is None
    assert len(shown.turns) <= WINDOW_MESSAGES
    pages, more, size = [], True, 10
    while more:
        page, more = chat.earlier_turns(runtime, "zed", "t", shown.snapshot, size)
        size += 10
        pages.append(page)
    every = [*pages[-1], *shown.turns]
    assert every == chat.history(runtime, "zed", "t")
    assert all(page[0].role == "user" for page in pages)


def _tool_runtime(checkpoint_id: str) -> ToolRuntime:
    call = {"name": "upsert_memory", "args": {}, "id": "call_0"}
    state = {"messages": [HumanMessage("x"), AIMessage("", id="chatcmpl-7", tool_calls=[call])]}
    config = {"configurable": {"thread_id": "t", "checkpoint_id": checkpoint_id}}
    return ToolRuntime(state, None, config, None, "call_0", None)


def test_a_memory_key_differs_at_each_step_even_with_constant_server_ids() -> None:
    assert tools.new_memory_key(_tool_runtime("c1")) != tools.new_memory_key(_tool_runtime("c9"))
    assert tools.new_memory_key(_tool_runtime("c1")) == tools.new_memory_key(_tool_runtime("c1"))


def test_a_reply_never_keeps_a_server_id_that_could_repeat_beyond_the_window() -> None:
    """Ollama's ``chatcmpl-<0..999>``: a repeat would overwrite an old message's transcript item."""
    first = _with_own_ids(AIMessage("one", id="chatcmpl-7"), [])
    second = _with_own_ids(AIMessage("two", id="chatcmpl-7"), [])
    assert len({first.id, second.id, "chatcmpl-7"}) == 3


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
    two_long_turns = [*one_long_turn, HumanMessage("next", id="next"), AIMessage("n", id="n")]
    assert recent_turns(two_long_turns, size=10) == two_long_turns  # the previous turn whole


def _random_writes(rng: random.Random) -> list[list]:
    """Turns of 1 to 15 messages, written in batches of 1 to 4 messages."""
    messages = []
    for turn in range(rng.randint(5, 30)):
        messages.append(HumanMessage(f"q{turn}", id=f"q{turn}"))
        replies = range(rng.randint(0, 14))
        messages += [AIMessage(f"a{turn}.{n}", id=f"a{turn}.{n}") for n in replies]
    writes = []
    while messages:
        cut = rng.randint(1, 4)
        writes.append(messages[:cut])
        messages = messages[cut:]
    return writes


@pytest.mark.parametrize("seed", range(40))
def test_trimming_between_batches_gives_the_same_window(seed: int) -> None:
    rng = random.Random(seed)
    writes = _random_writes(rng)
    at_once = add_recent_batches(None, writes)
    folded = None
    for start in range(0, len(writes), rng.randint(1, 5)):  # as DeltaChannel replays, in chunks
        folded = add_recent_batches(folded, writes[start : start + rng.randint(1, 5)])
    step_by_step = None
    for write in writes:
        step_by_step = add_recent_batches(step_by_step, [write])
    assert [m.id for m in step_by_step] == [m.id for m in at_once]


def test_a_thread_written_before_the_window_keeps_its_whole_conversation(data_dir: Path) -> None:
    """Data from the whole-state graph: its transcript is recorded when the runtime opens."""
    old = open_runtime(data_dir)
    try:
        whole = build_graph(old.checkpointer, old.store, state_schema=WholeState)
        threads.open_thread(old, "zed", "old")
        for number in range(30):
            _say(whole, "old", f"said {number}")
        expected = _shown(_window(whole, "old"))
        transcript.delete(old.store, "old")  # as the old graph left it: no transcript
        old.store.delete(threads.UPGRADE_NAMESPACE, threads.WINDOW_UPGRADE)
    finally:
        old.close()

    new = open_runtime(data_dir)
    try:
        assert _shown(threads.messages(new, "zed", "old")) == expected
        _say(new.graph, "old", "said 30")
        assert len(_window(new.graph, "old")) <= WINDOW_MESSAGES  # trimmed at its next write
        texts = [m.text for m in threads.messages(new, "zed", "old") if m.type == "human"]
        assert texts == [f"said {n}" for n in range(31)]
    finally:
        new.close()
