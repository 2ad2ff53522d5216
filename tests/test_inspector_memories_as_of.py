"""Memories as they were at any checkpoint, restoring them, and the turn that wrote each one."""

from __future__ import annotations

from memory_agent import memories
from memory_agent.conversations import chat, threads
from memory_agent.inspector import memories_as_of, provenance
from memory_agent.runtime import Runtime


def _snapshot_after(runtime: Runtime, reply: str):
    for snapshot in threads.get_history(runtime, "zed", "t1", limit=100):
        last = snapshot.values.get("messages", [])[-1:]
        if last and last[0].text.startswith(reply):
            return snapshot
    raise AssertionError(reply)


def _as_of(runtime: Runtime, moment: str) -> list[memories.Memory]:
    now = memories.list_memories(runtime.store, "zed")
    return memories_as_of.memories_as_of(now, memories.history(runtime.store, "zed"), moment)


def test_the_memories_of_a_checkpoint_are_those_of_that_moment(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "I live in Porto"))
    list(chat.send(runtime, "zed", "t1", "I live in Lisbon"))
    memories.upsert_memory(runtime.store, "zed", "User has a cat", source="inspector")
    porto = _snapshot_after(runtime, "I'll remember that you live in Porto")
    first_input = threads.get_history(runtime, "zed", "t1", limit=100)[-1]

    then = _as_of(runtime, porto.created_at)
    assert [m.content for m in then] == ["User lives in Porto"]
    assert _as_of(runtime, first_input.created_at) == []
    now = memories.list_memories(runtime.store, "zed")
    changed = {(d.change, d.then, d.now) for d in memories_as_of.differences(then, now)}
    assert changed == {
        ("changed since", "User lives in Porto", "User lives in Lisbon"),
        ("added since", "", "User has a cat"),
    }


def test_a_memory_the_history_never_saw_is_kept_at_every_moment(runtime: Runtime) -> None:
    runtime.store.put(("memories", "zed"), "old", {"content": "User likes tea"})
    list(chat.send(runtime, "zed", "t1", "I live in Porto"))
    start = threads.get_history(runtime, "zed", "t1", limit=100)[-1]
    assert [m.content for m in _as_of(runtime, start.created_at)] == ["User likes tea"]


def test_restoring_a_moment_is_recorded_and_can_itself_be_taken_back(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "I live in Porto"))
    porto = _snapshot_after(runtime, "I'll remember that you live in Porto")
    list(chat.send(runtime, "zed", "t1", "I live in Lisbon"))
    memories.upsert_memory(runtime.store, "zed", "User has a cat", source="inspector")
    today = memories.list_memories(runtime.store, "zed")
    then = _as_of(runtime, porto.created_at)

    changes = memories_as_of.restore_changes(then, today)
    memories.apply_changes(runtime.store, "zed", changes, source="inspector")
    restored = memories.list_memories(runtime.store, "zed")
    assert [(m.key, m.content) for m in restored] == [(m.key, m.content) for m in then]
    newest = memories.history(runtime.store, "zed")[: len(changes)]
    assert sorted(e.action for e in newest) == ["delete", "update"]
    assert {e.source for e in newest} == {"inspector"}

    # The restored text still links to the turn that first wrote it, not to the restore.
    [lives] = restored
    grouped = provenance.by_key(memories.history(runtime.store, "zed"))
    writer = provenance.latest_writer(grouped[lives.key])
    assert writer.checkpoint_id and writer.thread_id == "t1"
    turn = threads.get_checkpoint(runtime, "zed", "t1", writer.checkpoint_id)
    assert turn.values["messages"][-2].text == "I live in Porto"

    back = memories_as_of.restore_changes(today, restored)
    memories.apply_changes(runtime.store, "zed", back, source="inspector")
    again = memories.list_memories(runtime.store, "zed")
    assert {(m.key, m.content) for m in again} == {(m.key, m.content) for m in today}


def test_every_version_names_the_turn_that_wrote_it(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "I live in Porto"))
    list(chat.send(runtime, "zed", "t1", "I live in Lisbon"))
    [memory] = memories.list_memories(runtime.store, "zed")
    events = memories.history(runtime.store, "zed")
    mine = provenance.by_key(events)[memory.key]
    made, changed = provenance.versions(mine)
    assert (made.action, made.content, changed.action, changed.content) == (
        "create",
        "User lives in Porto",
        "update",
        "User lives in Lisbon",
    )
    for version, said in ((made, "I live in Porto"), (changed, "I live in Lisbon")):
        assert version.thread_id == "t1"
        turn = threads.get_checkpoint(runtime, "zed", "t1", version.checkpoint_id)
        *_, asked, decided = turn.values["messages"]
        assert asked.text == said  # the message that led to it
        assert decided.tool_calls[0]["args"]["content"] == version.content
    assert provenance.latest_writer(mine).checkpoint_id == changed.checkpoint_id
