"""Memory writes from the inspector and imports: validation, all-or-nothing saves, history, undo."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from memory_agent import memories
from memory_agent.backends.sqlite import MEMORIES_FILE
from memory_agent.memories import Change, MemoryValidationError
from memory_agent.runtime import Runtime
from tests.postgres_server import dump_store

pytestmark = pytest.mark.both_backends


def _dump(data_dir: Path) -> str:
    """Every row of the memory database (items, vectors, history) as SQL text."""
    if url := os.environ.get("MEMORY_AGENT_DATABASE_URL"):
        return dump_store(url)
    with sqlite3.connect(data_dir / MEMORIES_FILE) as conn:
        return "\n".join(conn.iterdump())


@pytest.fixture
def store(runtime: Runtime):
    memories.upsert_memory(runtime.store, "zed", "User loves sailing", key="sail")
    memories.upsert_memory(runtime.store, "zed", "User's name is Zed", key="name")
    return runtime.store


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (
            Change("update", "sail", "   ", "", label="Row 1 (key sail)"),
            "content must not be empty",
        ),
        (Change("update", "sail", "x" * 2_001, "", label="Row 1"), "the limit is 2,000"),
        (Change("create", None, "ok", 42, label="New row 1"), "context must be text"),
        (Change("create", "name", "again", "", label="New row 1"), "already exists"),
        (Change("delete", "nope", label="Row 9"), "no such memory"),
        (Change("create", "bad key!", "ok", "", label="New row 2"), "key must be"),
    ],
)
def test_a_rejected_save_names_the_row_and_leaves_the_store_byte_for_byte(
    store, data_dir: Path, bad: Change, reason: str
) -> None:
    before = _dump(data_dir)
    good = Change("update", "name", "User's name is Zeddy", "")
    with pytest.raises(MemoryValidationError) as error:
        memories.apply_changes(store, "zed", [good, bad], source="inspector")
    assert str(error.value).startswith(bad.label)
    assert reason in str(error.value)
    assert _dump(data_dir) == before


def test_the_same_key_twice_in_one_save_is_refused(store) -> None:
    twice = [Change("update", "sail", "a", ""), Change("delete", "sail")]
    with pytest.raises(MemoryValidationError, match="appears more than once"):
        memories.apply_changes(store, "zed", twice, source="inspector")


def test_an_edit_of_a_memory_changed_since_it_was_shown_is_refused(store) -> None:
    shown = memories.get_memory(store, "zed", "sail")
    memories.upsert_memory(store, "zed", "User loves rowing", key="sail")
    stale = Change("update", "sail", "mine", "", expected_updated_at=shown.updated_at)
    with pytest.raises(MemoryValidationError, match="changed by agent"):
        memories.apply_changes(store, "zed", [stale], source="inspector")
    assert memories.get_memory(store, "zed", "sail").content == "User loves rowing"


def test_an_edited_memory_is_recalled_by_its_new_text_at_once(store) -> None:
    edit = Change("update", "sail", "User loves rowing", "")
    memories.apply_changes(store, "zed", [edit], source="inspector")
    best = memories.search_memories(store, "zed", "rowing", limit=1)[0]
    assert (best.key, best.source) == ("sail", "inspector")
    assert best.score > 0.5


def test_check_changes_validates_without_writing(store, data_dir: Path) -> None:
    before = _dump(data_dir)
    planned = memories.check_changes(
        store, "zed", [Change("create", None, "User has a cat", "")], source="import"
    )
    assert [w.action for w in planned] == ["create"]
    assert _dump(data_dir) == before


def test_history_records_every_write_with_before_and_after(store) -> None:
    memories.apply_changes(
        store, "zed", [Change("update", "sail", "User loves rowing", "")], source="inspector"
    )
    memories.delete_memory(store, "zed", "name", source="inspector")
    events = memories.history(store, "zed")
    assert [(e.action, e.memory_key, e.source) for e in events] == [
        ("delete", "name", "inspector"),
        ("update", "sail", "inspector"),
        ("create", "name", "agent"),
        ("create", "sail", "agent"),
    ]
    assert events[1].before["content"] == "User loves sailing"
    assert events[1].after["content"] == "User loves rowing"
    assert events[0].after is None


def test_undo_restores_a_deleted_memory_and_reverts_an_update(store) -> None:
    created = memories.get_memory(store, "zed", "name").created_at
    memories.delete_memory(store, "zed", "name", source="inspector")
    memories.upsert_memory(store, "zed", "User loves rowing", key="sail", source="inspector")
    delete_event, update_event = (
        memories.history(store, "zed")[1],
        memories.history(store, "zed")[0],
    )
    memories.undo(store, "zed", delete_event.id)
    memories.undo(store, "zed", update_event.id)
    restored = memories.get_memory(store, "zed", "name")
    assert (restored.content, restored.created_at) == ("User's name is Zed", created)
    assert memories.get_memory(store, "zed", "sail").content == "User loves sailing"
    assert memories.history(store, "zed")[0].undo_of == update_event.id
    with pytest.raises(MemoryValidationError, match="exists again"):
        memories.undo(store, "zed", delete_event.id)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_replace_import_round_trips(runtime: Runtime, store, fmt: str) -> None:
    exported = memories.list_memories(store, "zed")
    if fmt == "csv":
        data, name = memories.export_csv(exported).encode(), "zed.csv"
    else:
        data, name = memories.export_json(exported, "zed").encode(), "zed.json"
    rows = memories.parse_import(data, name)
    memories.upsert_memory(store, "zed", "User has a cat", key="cat")
    memories.upsert_memory(store, "zed", "User loves rowing", key="sail")
    changes = memories.import_changes(store, "zed", rows, "replace")
    memories.apply_changes(store, "zed", changes, source="import")
    after = memories.list_memories(store, "zed")
    assert {(m.key, m.content, m.created_at) for m in after} == {
        (m.key, m.content, m.created_at) for m in exported
    }
    assert {m.source for m in after if m.key == "sail"} == {"import"}


def test_import_errors_name_the_file_row(store) -> None:
    rows = memories.parse_import(b"key,content\nsail,User loves sailing\nnew,\n", "x.csv")
    changes = memories.import_changes(store, "zed", rows, "merge")
    with pytest.raises(MemoryValidationError, match=r"^Row 2 \(key new\): content must not be"):
        memories.check_changes(store, "zed", changes, source="import")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"{not json", "m.json", "not valid JSON"),
        (b"key,context\nk,c\n", "m.csv", "'content' column"),
        (b'[{"content": "a", "colour": "red"}]', "m.json", r"unknown column\(s\) colour"),
        (b"\xff\xfe", "m.csv", "not UTF-8"),
        (b'[{"content": "a", "key": ["k"]}]', "m.json", "Row 1: key must be text"),
        (b"content\na\n", "m.txt", ".json or .csv"),
    ],
)
def test_malformed_import_files_are_refused_with_a_reason(
    store, data: bytes, name: str, message: str
) -> None:
    with pytest.raises(MemoryValidationError, match=message):
        rows = memories.parse_import(data, name)
        memories.import_changes(store, "zed", rows, "merge")
