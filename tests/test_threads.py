"""Checkpoints, forks and the inspector's readable views of a thread's state."""

from __future__ import annotations

import time

import pytest

from memory_agent.conversations import chat, threads
from memory_agent.inspector import views
from memory_agent.recall import last_recall
from memory_agent.runtime import Runtime

pytestmark = pytest.mark.both_backends


def _chat(runtime: Runtime, thread: str, *texts: str) -> None:
    for text in texts:
        list(chat.send(runtime, "zed", thread, text))


def _checkpoint_id(snapshot) -> str:
    return snapshot.config["configurable"]["checkpoint_id"]


def test_history_pages_back_with_before(runtime: Runtime) -> None:
    _chat(runtime, "t1", "My name is Zed and I love sailing", "What do you know about me?")
    everything = threads.get_history(runtime, "zed", "t1", limit=100)
    first = threads.get_history(runtime, "zed", "t1", limit=4)
    second = threads.get_history(runtime, "zed", "t1", limit=4, before=_checkpoint_id(first[-1]))
    assert [_checkpoint_id(s) for s in first + second] == [
        _checkpoint_id(s) for s in everything[:8]
    ]


def test_checkpoint_rows_name_the_node_that_wrote_each_checkpoint(runtime: Runtime) -> None:
    _chat(runtime, "t1", "My name is Zed")
    history = threads.get_history(runtime, "zed", "t1", limit=100)
    rows = views.checkpoint_rows(history)
    assert [(r["step"], r["written by"], r["messages"]) for r in rows] == [
        (3, "call_model", 4),
        (2, "store_memory", 3),
        (1, "call_model", 2),
        (0, "__start__", 1),
        (-1, "(user input)", 0),
    ]
    paged = views.checkpoint_rows(history[:2], older=history[2])
    assert paged[-1]["written by"] == "store_memory"


def test_fork_continues_the_same_thread_from_an_earlier_checkpoint(runtime: Runtime) -> None:
    _chat(runtime, "t1", "My name is Zed", "I love sailing")
    first_turn_end = next(
        s
        for s in threads.get_history(runtime, "zed", "t1", limit=100)
        if len(s.values["messages"]) == 4 and not s.next
    )
    threads.fork(runtime, "zed", "t1", _checkpoint_id(first_turn_end))
    assert len(threads.messages(runtime, "zed", "t1")) == 4
    _chat(runtime, "t1", "What do you know about me?")
    contents = [m.content for m in threads.messages(runtime, "zed", "t1")]
    assert "I love sailing" not in contents
    assert contents[4] == "What do you know about me?"


def test_unknown_checkpoints_and_other_users_threads_are_not_found(runtime: Runtime) -> None:
    _chat(runtime, "t1", "My name is Zed")
    with pytest.raises(threads.ThreadNotFound):
        threads.fork(runtime, "zed", "t1", "1f000000-0000-6000-8000-000000000000")
    checkpoint = _checkpoint_id(threads.get_state(runtime, "zed", "t1"))
    with pytest.raises(threads.ThreadNotFound):
        threads.get_checkpoint(runtime, "eve", "t1", checkpoint)


def test_message_rows_show_tool_calls_results_and_ids(runtime: Runtime) -> None:
    _chat(runtime, "t1", "My name is Zed")
    rows = views.message_rows(threads.messages(runtime, "zed", "t1"))
    assert [r["role"] for r in rows] == ["human", "ai", "tool", "ai"]
    call_id = threads.messages(runtime, "zed", "t1")[1].tool_calls[0]["id"]
    [call] = rows[1]["tool calls"]
    assert (call["name"], call["args"]["content"], call["id"]) == (
        "upsert_memory",
        "User's name is Zed",
        call_id,
    )
    assert rows[2]["answers call"] == call_id
    assert rows[2]["content"].startswith("Created memory ")
    assert all(r["id"] for r in rows)


def test_last_recall_is_the_prompt_the_model_received(runtime: Runtime) -> None:
    _chat(runtime, "t1", "I love sailing")
    _chat(runtime, "t2", "What do you know about me?")
    recall = last_recall(threads.messages(runtime, "zed", "t2"))
    assert recall.query == "What do you know about me?"
    assert [m["content"] for m in recall.memories] == ["User loves sailing"]
    assert "User loves sailing" in recall.system_prompt and recall.time in recall.system_prompt
    assert last_recall([]) is None


def test_graph_dot_draws_every_node_and_edge_and_marks_next(runtime: Runtime) -> None:
    dot = views.graph_dot(runtime.graph.get_graph(), active=("store_memory",))
    for node in ("__start__", "call_model", "store_memory", "__end__"):
        assert f'"{node}" [' in dot
    assert '"store_memory" -> "call_model";' in dot
    assert '"call_model" -> "store_memory" [style="dashed"];' in dot
    assert 'label="store_memory\\n(next)"' in dot


def test_past_200_conversations_none_is_dropped_and_the_open_one_is_always_listed(
    runtime: Runtime,
) -> None:
    """With 210, threads 201-209 and the most recently used one used to be missing."""
    made = [threads.open_thread(runtime, "zed", f"t{n:03d}") for n in range(210)]
    for n, thread in enumerate(made):
        threads.record_activity(runtime, thread, f"conversation number {n}")
    time.sleep(0.002)  # times are kept to the millisecond
    threads.record_activity(runtime, threads.get_thread(runtime, "zed", "t007"), "again")

    listed = threads.list_threads(runtime, "zed")
    assert len(listed) == 210 == threads.count_threads(runtime, "zed")
    assert listed[0].thread_id == "t007", "the most recently used comes first"
    assert {t.thread_id for t in listed} == {f"t{n:03d}" for n in range(210)}

    first_page = threads.list_threads(runtime, "zed", 50, keep="t003")
    assert [t.thread_id for t in first_page[:50]] == [t.thread_id for t in listed[:50]]
    assert first_page[-1].thread_id == "t003", "the open conversation is kept past the page"

    found = threads.list_threads(runtime, "zed", search="NUMBER 205", keep="t100")
    assert [t.thread_id for t in found] == ["t205", "t100"]
    assert threads.count_threads(runtime, "zed", search="number 20") == 11  # 20, 200-209
