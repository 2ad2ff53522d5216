"""One user never reaches another's memories or conversations: not by function, page, URL or CLI.

Alice has a conversation and memories; Bob has his own. Every path Bob could take to Alice's data
is tried with her keys, event ids, thread and checkpoint ids: each is refused or comes back empty,
her data is still there afterwards, and nothing of hers appears in anything Bob is shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from memory_agent import memories
from memory_agent.cli import main
from memory_agent.conversations import chat, threads
from memory_agent.conversations.threads import ThreadNotFound
from memory_agent.memories import Change, MemoryValidationError
from memory_agent.runtime import Runtime
from tests.live_app import ROOT
from ui import get_runtime

ALICE_SAYS = "My name is Alice and I love sailing"
SECRET = "Alice"  # in her message, her memories and her thread's title; nowhere in Bob's


@pytest.fixture
def alice(runtime: Runtime) -> dict[str, Any]:
    """Alice's thread a1 (one turn, two memories) and Bob's thread b1; her ids, to attack with."""
    list(chat.send(runtime, "alice", "a1", ALICE_SAYS))
    list(chat.send(runtime, "bob", "b1", "I work at Initech"))
    key = next(m.key for m in memories.list_memories(runtime.store, "alice"))
    return {
        "key": key,
        "event": memories.history(runtime.store, "alice")[0].id,
        "checkpoint": threads.get_state(runtime, "alice", "a1").config["configurable"][
            "checkpoint_id"
        ],
        "memories": memories.list_memories(runtime.store, "alice"),
        "messages": len(threads.messages(runtime, "alice", "a1")),
    }


def _alice_untouched(runtime: Runtime, alice: dict[str, Any]) -> None:
    assert memories.list_memories(runtime.store, "alice") == alice["memories"]
    assert len(threads.messages(runtime, "alice", "a1")) == alice["messages"]
    assert threads.get_thread(runtime, "alice", "a1").title.startswith("My name is Alice")


# ---- memories ------------------------------------------------------------------------------


def test_bob_reads_none_of_alices_memories(runtime: Runtime, alice: dict[str, Any]) -> None:
    store = runtime.store
    assert SECRET not in repr(memories.list_memories(store, "bob"))
    assert SECRET not in repr(memories.search_memories(store, "bob", ALICE_SAYS, limit=100))
    assert memories.get_memory(store, "bob", alice["key"]) is None
    assert memories.history(store, "bob", alice["key"]) == []
    assert SECRET not in repr(memories.history(store, "bob"))
    bobs = memories.list_memories(store, "bob")
    assert SECRET not in memories.export_json(bobs, "bob") + memories.export_csv(bobs)


def test_bob_cannot_write_alices_memories(runtime: Runtime, alice: dict[str, Any]) -> None:
    store, key = runtime.store, alice["key"]
    attempts = [
        (lambda: memories.delete_memory(store, "bob", key, source="inspector"), "No memory"),
        (lambda: memories.undo(store, "bob", alice["event"]), "No change"),
        (
            lambda: memories.apply_changes(
                store, "bob", [Change("update", key, "mine", "")], source="inspector"
            ),
            "no such memory to update",
        ),
        (
            lambda: memories.apply_changes(store, "bob", [Change("delete", key)], source="import"),
            "no such memory to delete",
        ),
    ]
    for attempt, reason in attempts:
        with pytest.raises(MemoryValidationError, match=reason):
            attempt()
    memories.upsert_memory(store, "bob", "mine", key=key)  # Bob's own memory of that key
    assert memories.get_memory(store, "bob", key).content == "mine"
    _alice_untouched(runtime, alice)


def test_importing_alices_export_as_bob_tells_him_nothing_of_hers(
    runtime: Runtime, alice: dict[str, Any]
) -> None:
    """Her export carries her keys; as Bob's import they are his own keys, checked against his
    memories only: the answer is the same whether or not she still has them."""
    exported = memories.export_json(alice["memories"], "alice").encode()
    rows = memories.parse_import(exported, "alice.json")
    invented = [{**row, "key": f"nobody-{number}"} for number, row in enumerate(rows)]
    for mode in ("merge", "replace"):
        real = memories.import_changes(runtime.store, "bob", rows, mode)
        fake = memories.import_changes(runtime.store, "bob", invented, mode)
        planned = memories.check_changes(runtime.store, "bob", real, source="import")
        assert [w.action for w in planned] == [
            w.action for w in memories.check_changes(runtime.store, "bob", fake, source="import")
        ]
    memories.apply_changes(runtime.store, "bob", real, source="import")
    assert {m.key for m in memories.list_memories(runtime.store, "bob")} == {
        m.key for m in alice["memories"]
    }  # replace mode: Bob's own memory went, his copies of hers came in
    _alice_untouched(runtime, alice)


def test_namespaces_that_look_alike_stay_apart(runtime: Runtime) -> None:
    """A prefix search must not reach a longer id, a wildcard-like id, or a deeper namespace."""
    store = runtime.store
    memories.upsert_memory(store, "bob2", "Bob2 sails", key="k2")
    memories.upsert_memory(store, "boxb", "Boxb sails", key="k3")
    store.put(("memories", "bob", "nested"), "k4", {"content": "Nested sails"})
    memories.upsert_memory(store, "bo_b", "Bo_b sails", key="k5")
    memories.upsert_memory(store, "bob", "Bob sails", key="k6")
    for user, own in [("bob", "Bob sails"), ("bo_b", "Bo_b sails")]:
        assert [m.content for m in memories.list_memories(store, user)] == [own]
        assert [m.content for m in memories.search_memories(store, user, "sails", 50)] == [own]


def test_bob_recalls_none_of_alices_memories_in_a_chat(
    runtime: Runtime, alice: dict[str, Any]
) -> None:
    reply = "".join(
        e for e in chat.send(runtime, "bob", "b2", "What is my name?") if isinstance(e, str)
    )
    recalled = threads.messages(runtime, "bob", "b2")[-1].response_metadata
    assert SECRET not in reply
    assert SECRET not in json.dumps(recalled, default=str)


# ---- threads -------------------------------------------------------------------------------


def test_bob_cannot_open_or_change_alices_thread(runtime: Runtime, alice: dict[str, Any]) -> None:
    checkpoint = alice["checkpoint"]
    attempts = [
        lambda: threads.get_thread(runtime, "bob", "a1"),
        lambda: threads.open_thread(runtime, "bob", "a1"),
        lambda: threads.get_state(runtime, "bob", "a1"),
        lambda: threads.messages(runtime, "bob", "a1"),
        lambda: threads.get_history(runtime, "bob", "a1"),
        lambda: threads.get_checkpoint(runtime, "bob", "a1", checkpoint),
        lambda: threads.get_checkpoint(runtime, "bob", "b1", checkpoint),  # her id, his thread
        lambda: threads.fork(runtime, "bob", "a1", checkpoint),
        lambda: threads.fork(runtime, "bob", "b1", checkpoint),
        lambda: threads.rename_thread(runtime, "bob", "a1", "Mine now"),
        lambda: threads.delete_thread(runtime, "bob", "a1"),
        lambda: list(chat.send(runtime, "bob", "a1", "hello")),
        lambda: list(chat.resume(runtime, "bob", "a1")),
        lambda: chat.history(runtime, "bob", "a1"),
        lambda: chat.pending_error(runtime, "bob", "a1"),
    ]
    for attempt in attempts:
        with pytest.raises(ThreadNotFound):
            attempt()
    assert [t.thread_id for t in threads.list_threads(runtime, "bob")] == ["b1"]
    _alice_untouched(runtime, alice)


def test_a_thread_with_checkpoints_but_no_owner_is_nobodys(runtime: Runtime) -> None:
    """Checkpoints written outside the registry are not handed to whoever asks first."""
    config = threads.thread_config("alice", "orphan")
    runtime.graph.invoke({"messages": [("user", ALICE_SAYS)]}, config)
    with pytest.raises(ThreadNotFound):
        threads.open_thread(runtime, "bob", "orphan")
    with pytest.raises(ThreadNotFound):
        list(chat.send(runtime, "bob", "orphan", "What is my name?"))


# ---- pages ---------------------------------------------------------------------------------


@pytest.fixture
def pages(
    runtime: Runtime, alice: dict, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator:
    monkeypatch.setenv("MEMORY_AGENT_DATA_DIR", str(data_dir))
    get_runtime.clear()
    yield alice
    get_runtime().close()
    get_runtime.clear()


def _everything_shown(at: AppTest) -> str:
    """Every element of the page, sidebar included, as its protobuf text."""

    def walk(node: Any) -> Iterator[Any]:
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return "\n".join(str(n.proto) for n in walk(at._tree) if getattr(n, "proto", None))


def _open(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=20)
    for name, value in query.items():
        at.query_params[name] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_chat_page_does_not_open_alices_thread_for_bob(pages: dict) -> None:
    at = _open(user="bob", thread="a1")
    assert "bob has no conversation a1" in at.warning[0].value
    assert "thread" not in at.query_params
    assert SECRET not in _everything_shown(at)


@pytest.mark.parametrize("tab", ["State", "History", "Memories"])
def test_the_inspector_does_not_show_alices_thread_to_bob(pages: dict, tab: str) -> None:
    at = _open("pages/inspector.py", user="bob", thread="a1", tab=tab)
    assert "bob has no conversation a1;" in at.warning[0].value
    assert at.query_params["thread"] == "b1"
    assert SECRET not in _everything_shown(at)


# ---- command line --------------------------------------------------------------------------


def test_the_cli_refuses_bob_alices_thread_and_keys(
    runtime: Runtime, alice: dict[str, Any], data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    def cli(*args: str) -> tuple[int, str]:
        code = main(["--data-dir", str(data_dir), *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    refused = [
        (("state", "--user", "bob", "--thread", "a1"), "No conversation 'a1'"),
        (("chat", "--user", "bob", "--thread", "a1", "hi"), "No conversation 'a1'"),
        (("chat", "--user", "bob", "--thread", "a1", "--retry"), "No conversation 'a1'"),
        (("memories", "delete", "--user", "bob", alice["key"]), "No memory"),
    ]
    for args, reason in refused:
        code, output = cli(*args)
        assert (code, reason in output, SECRET in output) == (1, True, False), args
    for args in [
        ("memories", "list", "--user", "bob", "--format", "json"),
        ("memories", "search", "--user", "bob", ALICE_SAYS),
        ("memories", "history", "--user", "bob", "--format", "json"),
        ("memories", "export", "--user", "bob", "--format", "csv"),
        ("threads", "list", "--user", "bob"),
    ]:
        code, output = cli(*args)
        assert (code, SECRET in output) == (0, False), args
    _alice_untouched(runtime, alice)


def test_a_user_id_with_a_trailing_newline_is_refused() -> None:
    from memory_agent.configuration import validate_user_id

    with pytest.raises(ValueError):
        validate_user_id("alice\n")
