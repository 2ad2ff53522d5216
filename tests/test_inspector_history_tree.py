"""A forked thread's history as a tree of branches, a diff of two states, and edit-then-fork."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from memory_agent import memories
from memory_agent.conversations import chat, threads
from memory_agent.inspector import history_tree, views
from memory_agent.runtime import Runtime


@pytest.fixture
def forked(runtime: Runtime) -> Runtime:
    """Porto, then Lisbon; then forked back to just after Porto."""
    list(chat.send(runtime, "zed", "t1", "I live in Porto"))
    list(chat.send(runtime, "zed", "t1", "I live in Lisbon"))
    threads.fork(
        runtime, "zed", "t1", _checkpoint_after(runtime, "I'll remember that you live in Porto")
    )
    return runtime


def _checkpoint_after(runtime: Runtime, reply: str) -> str:
    """The checkpoint whose newest message is the agent's reply starting with ``reply``."""
    for snapshot in threads.get_history(runtime, "zed", "t1", limit=100):
        last = snapshot.values.get("messages", [])[-1:]
        if last and last[0].text.startswith(reply) and snapshot.metadata["source"] == "loop":
            return snapshot.config["configurable"]["checkpoint_id"]
    raise AssertionError(reply)


def _whats(branch: history_tree.Branch, names: dict[str, str]) -> list[str]:
    return [row["what"] for row in history_tree.rows(branch, names)]


def test_a_fork_makes_a_second_branch_and_the_current_one_is_marked(forked: Runtime) -> None:
    records = threads.checkpoint_records(forked, "zed", "t1")
    names = history_tree.labels(records)
    current, old = history_tree.branches(records)
    assert (current.current, old.current) == (True, False)
    assert _whats(current, names)[0] == "branch starts: copy of step 3"
    assert "user: I live in Porto" in _whats(current, names)
    assert not any("Lisbon" in what for what in _whats(current, names))
    assert _whats(old, names)[-1] == "user sends: I live in Lisbon"  # where the branch left
    assert old.forked_from.checkpoint_id == _checkpoint_after(
        forked, "I'll remember that you live in Porto"
    )
    assert "model calls upsert_memory(User lives in Lisbon)" in _whats(old, names)
    title = history_tree.title(old, names)
    assert title.startswith(
        "branch 2 · branches off at step 3 (model: I'll remember that you live in Porto"
    )
    assert sorted(r.checkpoint_id for b in (current, old) for r in b.checkpoints) == sorted(
        r.checkpoint_id for r in records
    )


def test_a_server_without_a_checkpoint_list_gives_the_same_tree(forked: Runtime) -> None:
    """On a LangGraph Server the tree is read from full snapshots; the labels come out the same."""
    remote_like = dataclasses.replace(
        forked, checkpointer=SimpleNamespace(get_tuple=forked.checkpointer.get_tuple)
    )
    local = history_tree.labels(threads.checkpoint_records(forked, "zed", "t1"))
    remote = history_tree.labels(threads.checkpoint_records(remote_like, "zed", "t1"))
    assert remote == local


def test_the_diff_of_two_checkpoints_lists_the_messages_added(forked: Runtime) -> None:
    after_porto = _checkpoint_after(forked, "I'll remember that you live in Porto")
    after_lisbon = _checkpoint_after(forked, "Thanks for the correction")
    diff = views.state_diff(
        threads.get_checkpoint(forked, "zed", "t1", after_porto),
        threads.get_checkpoint(forked, "zed", "t1", after_lisbon),
    )
    assert [(row["role"], row["content"][:15]) for row in diff["added"]] == [
        ("human", "I live in Lisbo"),
        ("ai", ""),
        ("tool", "Updated memory "),
        ("ai", "Thanks for the "),
    ]
    assert diff["removed"] == diff["changed"] == diff["values"] == []


def test_an_edited_message_continues_as_a_new_branch(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "I live in Porto"))
    first = threads.get_history(runtime, "zed", "t1", limit=100)
    start = next(
        s for s in first if s.metadata["step"] == 0
    )  # the user's message, before the model
    [asked] = start.values["messages"]
    checkpoint = start.config["configurable"]["checkpoint_id"]
    threads.fork_with_edit(runtime, "zed", "t1", checkpoint, asked.id, "I live in Faro")
    list(chat.resume(runtime, "zed", "t1"))

    said = [m.text for m in threads.messages(runtime, "zed", "t1") if m.type == "human"]
    assert said == ["I live in Faro"]  # the edited message replaced the original
    assert {m.content for m in memories.list_memories(runtime.store, "zed")} >= {
        "User lives in Faro"
    }
    records = threads.checkpoint_records(runtime, "zed", "t1")
    current, old = history_tree.branches(records)
    names = history_tree.labels(records)
    assert "branch starts: edited copy of step 0" in _whats(current, names)
    assert "user: I live in Porto" in _whats(current, names)  # the original, before the edit
    diff = views.state_diff(start, threads.get_state(runtime, "zed", "t1"))
    assert diff["changed"][0]["before"] == "I live in Porto"


def test_a_removed_message_is_gone_from_the_new_branch_only(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "I love sailing"))
    list(chat.send(runtime, "zed", "t1", "What do you know about me?"))
    state = threads.get_state(runtime, "zed", "t1")
    question = next(m for m in state.values["messages"] if m.text == "What do you know about me?")
    checkpoint = state.config["configurable"]["checkpoint_id"]
    threads.fork_with_edit(runtime, "zed", "t1", checkpoint, question.id, None)
    assert "What do you know about me?" not in [
        m.text for m in threads.messages(runtime, "zed", "t1")
    ]
    kept = threads.get_checkpoint(runtime, "zed", "t1", checkpoint)
    assert question.id in [m.id for m in kept.values["messages"]]
    with pytest.raises(ValueError, match="must not be empty"):
        threads.fork_with_edit(runtime, "zed", "t1", checkpoint, question.id, "   ")
    with pytest.raises(threads.ThreadNotFound):
        threads.fork_with_edit(runtime, "zed", "t1", checkpoint, "no-such-message", "x")


def test_editing_an_early_message_forks_where_it_was_the_latest(runtime: Runtime) -> None:
    """The replies that answered the original are not in the branch; the agent answers anew."""
    list(chat.send(runtime, "zed", "t1", "I live in Porto"))
    list(chat.send(runtime, "zed", "t1", "I live in Lisbon"))
    latest = threads.get_state(runtime, "zed", "t1")
    porto = next(m for m in latest.values["messages"] if m.text == "I live in Porto")
    checkpoint = latest.config["configurable"]["checkpoint_id"]
    threads.fork_with_edit(runtime, "zed", "t1", checkpoint, porto.id, "I live in Faro")
    branch = threads.get_state(runtime, "zed", "t1")
    assert [m.text for m in branch.values["messages"]] == ["I live in Faro"]
    assert branch.next == ("call_model",)  # the agent has yet to answer the edited message
    list(chat.resume(runtime, "zed", "t1"))
    said = [m.text for m in threads.messages(runtime, "zed", "t1")]
    assert said[0] == "I live in Faro"
    assert not any("Porto" in text for text in said)  # the replies to the original are gone
    assert [m.text for m in threads.messages(runtime, "zed", "t1") if m.type == "human"] == [
        "I live in Faro"
    ]
    assert "you live in Faro" in said[-1]


def test_edit_point_walks_back_to_the_step_that_wrote_the_message(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "hello"))
    records = threads.checkpoint_records(runtime, "zed", "t1")
    latest = threads.get_state(runtime, "zed", "t1")
    [hello, *_] = latest.values["messages"]
    point = threads.edit_point(records, records[0].checkpoint_id, hello.id)
    at_point = threads.get_checkpoint(runtime, "zed", "t1", point)
    assert [m.id for m in at_point.values["messages"]] == [hello.id]
    assert threads.edit_point(records, records[0].checkpoint_id, "no-such-message") is None


def test_labels_show_a_reply_as_it_reads_not_its_markdown(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "I love _sailing_ **a lot**"))
    names = history_tree.labels(threads.checkpoint_records(runtime, "zed", "t1"))
    replies = [n for n in names.values() if n.startswith("model: ")]
    assert replies and all("_— offline demo model_" not in n for n in replies)
    assert any(n.endswith("— offline demo model") for n in replies)
    # What the user typed is quoted as typed: markup in it is their text.
    assert "user sends: I love _sailing_ **a lot**" in names.values()


def test_markdown_plain_keeps_the_text_of_inline_markup() -> None:
    assert views.markdown_plain("**bold** _it_ `code` [link](http://x) ~~old~~") == (
        "bold it code link old"
    )
    assert views.markdown_plain("**_both_**") == "both"
    assert views.markdown_plain("snake_case_name and 2 * 3 * 4") == "snake_case_name and 2 * 3 * 4"


def test_plural_words() -> None:
    assert views.plural(1, "memory", "memories") == "1 memory"
    assert views.plural(2, "memory", "memories") == "2 memories"
    assert views.plural(0, "change") == "0 changes"
    assert views.plural(1_200, "checkpoint") == "1,200 checkpoints"


def test_a_limited_read_marks_the_branch_that_goes_further_back(runtime: Runtime) -> None:
    for n in range(3):
        list(chat.send(runtime, "zed", "t1", f"hello {n}"))
    every = threads.checkpoint_records(runtime, "zed", "t1")
    newest = threads.checkpoint_records(runtime, "zed", "t1", limit=4)
    assert [r.checkpoint_id for r in newest] == [r.checkpoint_id for r in every[:4]]
    [branch] = history_tree.branches(newest)
    assert branch.older and branch.forked_from is None
    names = history_tree.labels(newest)
    assert "older checkpoints not loaded" in history_tree.title(branch, names)
    [whole] = history_tree.branches(every)
    assert not whole.older
    assert "from the start" in history_tree.title(whole, history_tree.labels(every))
