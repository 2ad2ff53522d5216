"""The agent end to end on a real SQLite data directory, with the offline demo model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.runtime import Runtime as LangGraphRuntime

from memory_agent import memories
from memory_agent.conversations import chat, threads
from memory_agent.recall import Recall
from memory_agent.runtime import Runtime, open_runtime
from tests.live_app import cli_command

pytestmark = pytest.mark.both_backends


def _reply(runtime: Runtime, user: str, thread: str, text: str) -> tuple[str, list]:
    events = list(chat.send(runtime, user, thread, text))
    notes = [e for e in events if isinstance(e, chat.MemoryNote)]
    return "".join(e for e in events if isinstance(e, str)), notes


def test_a_fact_from_thread_one_is_recalled_in_a_new_thread(runtime: Runtime) -> None:
    text, notes = _reply(runtime, "zed", "t1", "My name is Zed and I love sailing")
    assert [n.action for n in notes] == ["created", "created"]
    assert "Zed" in text
    answer, _ = _reply(runtime, "zed", "t2", "What do you know about me?")
    assert "Your name is Zed" in answer
    assert "You love sailing" in answer


def test_memories_and_conversations_survive_a_process_restart(data_dir: Path) -> None:
    cli = cli_command(data_dir, "chat", "--user", "zed")
    first = subprocess.run(
        [*cli, "--thread", "t1", "I work at Acme"], capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    # A different process opens the same files.
    runtime = open_runtime(data_dir)
    try:
        answer, _ = _reply(runtime, "zed", "t2", "Where do I work?")
        assert "You work at Acme" in answer
        old = threads.messages(runtime, "zed", "t1")
        assert [m.type for m in old] == ["human", "ai", "tool", "ai"]
        assert old[0].content == "I work at Acme"
    finally:
        runtime.close()


def test_a_correction_updates_in_place_instead_of_duplicating(runtime: Runtime) -> None:
    _reply(runtime, "zed", "t1", "I prefer tea")
    _, notes = _reply(runtime, "zed", "t2", "actually I prefer coffee now")
    assert [n.action for n in notes] == ["updated"]
    stored = memories.list_memories(runtime.store, "zed")
    assert [m.content for m in stored] == ["User prefers coffee"]
    events = memories.history(runtime.store, "zed")
    assert [(e.action, (e.before or {}).get("content")) for e in events] == [
        ("update", "User prefers tea"),
        ("create", None),
    ]


def test_users_never_see_each_others_memories(runtime: Runtime) -> None:
    _reply(runtime, "alice", "a1", "My name is Alice and I love chess")
    answer, _ = _reply(runtime, "bob", "b1", "What do you know about me?")
    assert "Alice" not in answer and "chess" not in answer
    assert memories.list_memories(runtime.store, "bob") == []
    assert memories.search_memories(runtime.store, "bob", "chess") == []
    record = Recall.of(threads.messages(runtime, "bob", "b1")[-1]).as_metadata()
    assert record["memories"] == []


def test_get_state_after_a_turn(runtime: Runtime) -> None:
    _reply(runtime, "zed", "t1", "My name is Zed")
    snapshot = threads.get_state(runtime, "zed", "t1")
    kinds = [type(m) for m in snapshot.values["messages"]]
    assert kinds == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert snapshot.next == ()
    assert snapshot.metadata["source"] == "loop"
    assert snapshot.metadata["step"] >= 3
    assert snapshot.config["configurable"]["thread_id"] == "t1"
    assert snapshot.created_at
    data = threads.snapshot_as_dict(snapshot)
    assert set(data) == {
        "values",
        "next",
        "config",
        "metadata",
        "created_at",
        "parent_config",
        "tasks",
        "interrupts",
    }
    assert data["values"]["messages"][0]["content"] == "My name is Zed"


def test_each_reply_records_the_prompt_the_model_saw(runtime: Runtime) -> None:
    _reply(runtime, "zed", "t1", "I love sailing")
    _reply(runtime, "zed", "t2", "What do you know about me?")
    last = threads.messages(runtime, "zed", "t2")[-1]
    record = Recall.of(last).as_metadata()
    assert record["query"] == "What do you know about me?"
    assert [m["content"] for m in record["memories"]] == ["User loves sailing"]
    prompt = Recall.from_metadata(record).system_prompt
    assert "User loves sailing" in prompt and record["time"] in prompt


def test_several_tool_calls_in_one_turn_are_each_answered(runtime: Runtime) -> None:
    _reply(runtime, "zed", "t1", "I live in Paris and I work at Acme and I love jazz")
    messages = threads.messages(runtime, "zed", "t1")
    calls = messages[1].tool_calls
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert len(calls) == 3
    assert [r.tool_call_id for r in results] == [c["id"] for c in calls]
    assert len(memories.list_memories(runtime.store, "zed")) == 3


def test_another_users_thread_cannot_be_opened(runtime: Runtime) -> None:
    _reply(runtime, "alice", "shared-id", "I love chess")
    with pytest.raises(threads.ThreadNotFound):
        threads.get_state(runtime, "bob", "shared-id")
    with pytest.raises(threads.ThreadNotFound):
        list(chat.send(runtime, "bob", "shared-id", "hi"))
    assert [t.thread_id for t in threads.list_threads(runtime, "bob")] == []


def test_a_turn_cut_between_tool_calls_and_results_is_completed_before_the_next(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memory_agent import graph

    def upsert_memory(*args, **kwargs):
        raise RuntimeError("killed")  # as a kill would: nothing answers the tool calls

    with monkeypatch.context() as patch:
        patch.setattr(graph.tools.upsert_memory, "func", upsert_memory)
        with pytest.raises(RuntimeError):
            list(chat.send(runtime, "zed", "t1", "I love sailing"))
    assert threads.get_state(runtime, "zed", "t1").next == ("store_memory",)
    events = list(chat.send(runtime, "zed", "t1", "What do you know about me?"))
    assert "You love sailing" in "".join(e for e in events if isinstance(e, str))
    kinds = [m.type for m in threads.messages(runtime, "zed", "t1")]
    assert kinds == ["human", "ai", "tool", "human", "ai"]
    assert [m.content for m in memories.list_memories(runtime.store, "zed")] == [
        "User loves sailing"
    ]


def test_a_re_run_store_memory_rewrites_the_same_memory(runtime: Runtime) -> None:
    from memory_agent.graph import store_memory

    list(chat.send(runtime, "zed", "t1", "I love sailing"))
    # What a restart does when the store write landed but the checkpoint after it did not: the
    # step runs again from the same checkpoint (part of the memory's key).
    [before] = [s for s in threads.get_history(runtime, "zed", "t1") if s.next == ("store_memory",)]
    store_memory(before.values, before.config, LangGraphRuntime(store=runtime.store))
    assert [m.content for m in memories.list_memories(runtime.store, "zed")] == [
        "User loves sailing"
    ]
    assert [e.action for e in memories.history(runtime.store, "zed")] == ["create"]


def test_tool_results_saved_without_their_checkpoint_are_kept_before_the_next_turn(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill after ``store_memory``'s writes were saved but before the next checkpoint."""
    from memory_agent import graph

    def upsert_memory(*args, **kwargs):
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(graph.tools.upsert_memory, "func", upsert_memory)
        with pytest.raises(RuntimeError):
            list(chat.send(runtime, "zed", "t1", "I love sailing"))
    snapshot = threads.get_state(runtime, "zed", "t1")
    [task] = snapshot.tasks
    results = graph.store_memory(
        snapshot.values, snapshot.config, LangGraphRuntime(store=runtime.store)
    )
    runtime.checkpointer.put_writes(snapshot.config, [("messages", results["messages"])], task.id)

    list(chat.send(runtime, "zed", "t1", "What do you know about me?"))
    kinds = [m.type for m in threads.messages(runtime, "zed", "t1")]
    assert kinds == ["human", "ai", "tool", "human", "ai"]
