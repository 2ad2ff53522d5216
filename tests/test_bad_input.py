"""Bad memory edits and imports are refused whole, with a reason naming the row, store untouched.

Each case is one kind of bad input, run through the same path a person takes: an import file
through ``parse_import`` → ``import_changes`` → ``apply_changes``, a table edit through
``changes_from_editor`` → ``apply_changes``, and both again through the inspector page under
AppTest. After every refusal the memory database is compared byte for byte (``iterdump``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from memory_agent import memories
from memory_agent.backends.sqlite import MEMORIES_FILE
from memory_agent.inspector import memory_table
from memory_agent.memories import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, MemoryValidationError
from memory_agent.runtime import Runtime
from tests.live_app import ROOT
from ui import get_runtime

USER = "zed"


def _json(*rows: dict[str, Any]) -> bytes:
    return json.dumps(list(rows)).encode()


# (id, file name, file bytes, what the refusal must say)
BAD_IMPORTS: list[tuple[str, str, bytes, str]] = [
    ("whitespace content", "m.csv", b"content\n   \n", "Row 1: content must not be empty"),
    ("empty content", "m.json", _json({"content": ""}), "Row 1: content must not be empty"),
    ("null content", "m.json", _json({"content": None}), "Row 1: content must not be empty"),
    ("missing content", "m.json", _json({"context": "c"}), "Row 1: content must not be empty"),
    (
        "1 MB content",
        "m.json",
        _json({"content": "x" * 1_000_000}),
        "Row 1: content is 1,000,000 characters; the limit is 2,000",
    ),
    ("number content", "m.json", _json({"content": 42}), "Row 1: content must be text, got number"),
    ("list content", "m.json", _json({"content": ["a"]}), "Row 1: content must be text, got list"),
    ("dict content", "m.json", _json({"content": {"a": 1}}), "content must be text, got object"),
    ("bool content", "m.json", _json({"content": True}), "content must be text, got boolean"),
    ("number context", "m.json", _json({"content": "ok", "context": 5}), "context must be text"),
    ("false context", "m.json", _json({"content": "ok", "context": False}), "got boolean"),
    (
        "over-long context",
        "m.json",
        _json({"content": "ok", "context": "c" * 2_001}),
        "Row 1: context is 2,001 characters; the limit is 2,000",
    ),
    ("number key", "m.json", _json({"key": 7, "content": "a"}), "Row 1: key must be text, got"),
    ("false key", "m.json", _json({"key": False, "content": "a"}), "key must be text, got boolean"),
    (
        "duplicate new key in file",
        "m.csv",
        b"key,content\nk1,a\nk1,b\n",
        "Row 2 (key k1): key k1 appears more than once in the file (first in row 1)",
    ),
    (
        "duplicate existing key in file",
        "m.csv",
        b"key,content\nsail,User loves sailing\nsail,User loves rowing\n",
        "Row 2 (key sail): key sail appears more than once",
    ),
    ("invalid key characters", "m.csv", b"key,content\nbad key!,a\n", "key must be 1-100"),
    ("key with a newline", "m.json", _json({"key": "k\n", "content": "a"}), "key must be 1-100"),
    ("over-long key", "m.json", _json({"key": "k" * 101, "content": "a"}), "key must be 1-100"),
    ("NUL in a JSON string", "m.json", _json({"content": "a\x00b"}), "contains a NUL byte"),
    ("NUL byte in a CSV", "m.csv", b"content\na\x00b\n", "Row 1: content contains a NUL byte"),
    ("control character", "m.json", _json({"content": "\x1b[2Jx"}), "control character U+001B"),
    ("lone surrogate", "m.json", b'[{"content": "a\\ud800"}]', "unpaired surrogate"),
    ("invalid UTF-8", "m.csv", b"content\n\xff\n", "m.csv is not UTF-8 text (byte 8)"),
    ("UTF-16 file", "m.csv", "content\nx\n".encode("utf-16"), "is not UTF-8 text"),
    ("unclosed CSV quote", "m.csv", b'content\n"abc\n', "m.csv is not valid CSV"),
    ("extra CSV cell", "m.csv", b"content\na,b\n", "Row 1: more cells than columns"),
    ("missing CSV cell", "m.csv", b"key,content\nk1\n", "Row 1: fewer cells than columns"),
    ("no content column", "m.csv", b"key,context\nk,c\n", "must have a 'content' column"),
    ("repeated CSV column", "m.csv", b"content,content\na,b\n", "the CSV header repeats"),
    ("unknown column", "m.csv", b"content,colour\na,red\n", r"Row 1: unknown column(s) colour"),
    ("malformed JSON", "m.json", b"{not json", "m.json is not valid JSON"),
    ("JSON of the wrong shape", "m.json", b'{"memory": []}', "expected a list of memories"),
    ("JSON scalar", "m.json", b'"hello"', "expected a list of memories"),
    ("JSON row not an object", "m.json", b'["a"]', "Row 1: expected an object, got str"),
    (
        "repeated JSON field",
        "m.json",
        b'[{"content": "a", "content": "b"}]',
        "m.json: a JSON object repeats the field(s) content",
    ),
    ("empty file", "m.csv", b"", "must have a 'content' column"),
    ("header only", "m.csv", b"content\n", "m.csv has no memories to import"),
    ("empty JSON list", "m.json", b"[]", "m.json has no memories to import"),
    ("huge file", "m.csv", b"x" * (MAX_IMPORT_BYTES + 1), "the limit is 10 MB"),
    (
        "too many rows",
        "m.csv",
        b"content\n" + b"a\n" * (MAX_IMPORT_ROWS + 1),
        f"{MAX_IMPORT_ROWS + 1} rows; the limit is {MAX_IMPORT_ROWS}",
    ),
    (
        "bad created_at",
        "m.json",
        _json({"content": "a", "created_at": "yesterday"}),
        "Row 1: created_at 'yesterday' is not an ISO 8601 time",
    ),
    (
        "number created_at",
        "m.json",
        _json({"content": "a", "created_at": 1700000000}),
        "created_at must be an ISO 8601 time, got number",
    ),
    (
        "bad created_at on an update",
        "m.csv",
        b"key,content,created_at\nsail,User loves sailing,31/12/2020\n",
        "Row 1 (key sail): created_at '31/12/2020' is not an ISO 8601 time",
    ),
    ("bad updated_at", "m.csv", b"content,updated_at\na,soon\n", "updated_at 'soon' is not"),
    ("unknown source", "m.csv", b"content,source\na,hacker\n", "source must be one of"),
    ("number thread_id", "m.json", _json({"content": "a", "thread_id": 5}), "thread_id must be"),
    ("bad thread_id", "m.csv", b"content,thread_id\na,a b/c\n", "thread_id 'a b/c' must be"),
    ("non-numeric score", "m.csv", b"content,score\na,high\n", "score must be a number"),
    ("wrong file type", "m.txt", b"content\na\n", "import takes a .json or .csv file"),
]

# (id, data_editor state, what the refusal must say); the table shows "name" then "sail".
BAD_EDITS: list[tuple[str, dict[str, Any], str]] = [
    ("whitespace content", {"edited_rows": {0: {"content": "   "}}}, "content must not be empty"),
    ("cleared content", {"edited_rows": {0: {"content": None}}}, "content must not be empty"),
    ("number content", {"edited_rows": {0: {"content": 42}}}, "content must be text, got number"),
    ("list content", {"edited_rows": {0: {"content": ["a"]}}}, "content must be text, got list"),
    ("dict content", {"edited_rows": {0: {"content": {"a": 1}}}}, "must be text, got object"),
    ("bool content", {"edited_rows": {0: {"content": True}}}, "must be text, got boolean"),
    ("1 MB content", {"edited_rows": {0: {"content": "x" * 2**20}}}, "the limit is 2,000"),
    ("NUL in content", {"edited_rows": {0: {"content": "a\x00b"}}}, "contains a NUL byte"),
    ("over-long context", {"edited_rows": {0: {"context": "c" * 2_001}}}, "context is 2,001"),
    ("read-only column", {"edited_rows": {0: {"key": "mine"}}}, "key cannot be edited"),
    ("unknown column", {"edited_rows": {0: {"colour": "red"}}}, "colour cannot be edited"),
    ("row out of range", {"edited_rows": {99: {"content": "a"}}}, "Row 100 is not in the table"),
    ("row not a number", {"edited_rows": {"x": {"content": "a"}}}, "Row 'x' is not a row number"),
    ("deleted row out of range", {"deleted_rows": [5]}, "Row 6 is not in the table any more"),
    ("added row with a key", {"added_rows": [{"key": "k", "content": "a"}]}, "key cannot be set"),
    ("added row empty", {"added_rows": [{"content": " "}]}, "New row 1: content must not be empty"),
    ("added row number", {"added_rows": [{"content": 3.5}]}, "content must be text, got number"),
]

STREAMLIT_REFUSES = {
    "unknown column",
    "row out of range",
    "row not a number",
    "deleted row out of range",
}
"""Edits no browser can send: st.data_editor itself fails applying them, before the page runs."""


def _dump(data_dir: Path) -> str:
    """Every row of the memory database (items, vectors, history) as SQL text."""
    with sqlite3.connect(data_dir / MEMORIES_FILE) as conn:
        return "\n".join(conn.iterdump())


@pytest.fixture
def seeded(runtime: Runtime) -> Runtime:
    """Zed's two memories, and one of Alice's, whose key Zed's imports must not take."""
    memories.upsert_memory(runtime.store, USER, "User loves sailing", key="sail")
    memories.upsert_memory(runtime.store, USER, "User's name is Zed", key="name")
    memories.upsert_memory(runtime.store, "alice", "Alice's bank PIN is 1234", key="alice-secret")
    return runtime


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [pytest.param(n, d, m, id=i) for i, n, d, m in BAD_IMPORTS],
)
def test_a_bad_import_is_refused_with_its_reason_and_changes_nothing(
    seeded: Runtime, data_dir: Path, name: str, data: bytes, message: str
) -> None:
    before = _dump(data_dir)
    with pytest.raises(MemoryValidationError) as refused:
        rows = memories.parse_import(data, name)
        changes = memories.import_changes(seeded.store, USER, rows, "merge")
        memories.check_changes(seeded.store, USER, changes, source="import")
        memories.apply_changes(seeded.store, USER, changes, source="import")
    assert message in str(refused.value)
    assert _dump(data_dir) == before


def test_an_unknown_import_mode_is_refused(seeded: Runtime, data_dir: Path) -> None:
    before = _dump(data_dir)
    rows = memories.parse_import(b"content\na\n", "m.csv")
    with pytest.raises(MemoryValidationError, match="mode must be 'merge' or 'replace'"):
        memories.import_changes(seeded.store, USER, rows, "append")  # type: ignore[arg-type]
    assert _dump(data_dir) == before


def test_the_agent_saving_under_another_users_key_writes_only_its_own_user(
    seeded: Runtime,
) -> None:
    """Keys are per user: the tool neither fails on, nor touches, Alice's memory of that key."""
    memories.upsert_memory(seeded.store, USER, "User likes tea", key="alice-secret")
    assert memories.get_memory(seeded.store, USER, "alice-secret").content == "User likes tea"
    assert memories.get_memory(seeded.store, "alice", "alice-secret").content.startswith("Alice")


@pytest.mark.parametrize(
    ("edits", "message"),
    [pytest.param(e, m, id=i) for i, e, m in BAD_EDITS],
)
def test_a_bad_table_edit_is_refused_with_its_row_and_changes_nothing(
    seeded: Runtime, data_dir: Path, edits: dict[str, Any], message: str
) -> None:
    shown = memory_table.memories_frame(memories.list_memories(seeded.store, USER))
    before = _dump(data_dir)
    with pytest.raises(MemoryValidationError) as refused:
        changes = memory_table.changes_from_editor(shown, edits)
        memories.apply_changes(seeded.store, USER, changes, source="inspector")
    assert message in str(refused.value)
    assert _dump(data_dir) == before


def test_a_create_over_an_existing_key_is_refused(seeded: Runtime, data_dir: Path) -> None:
    before = _dump(data_dir)
    again = memories.Change("create", "sail", "again", "", label="New row 1")
    with pytest.raises(MemoryValidationError, match="^New row 1: a memory with this key already"):
        memories.apply_changes(seeded.store, USER, [again], source="inspector")
    assert _dump(data_dir) == before


# ---- the same through the inspector page ----------------------------------------------------


@pytest.fixture
def page_runtime(
    seeded: Runtime, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The page's cached runtime, pointed at the seeded data directory."""
    monkeypatch.setenv("MEMORY_AGENT_DATA_DIR", str(data_dir))
    get_runtime.clear()
    yield seeded
    get_runtime().close()
    get_runtime.clear()


def _memories_tab() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=20)
    at.query_params["tab"] = "Memories"
    at.query_params["table"] = "true"  # "Edit as a table" open
    at.query_params["user"] = USER
    at.switch_page("pages/inspector.py").run()
    assert not at.exception, at.exception
    return at


def test_the_inspector_refuses_every_bad_edit_and_saves_nothing(
    page_runtime: Runtime, data_dir: Path
) -> None:
    """One page session, every bad edit in turn: each save shows why and writes nothing."""
    at = _memories_tab()
    before = _dump(data_dir)
    missed = []
    for case, edits, message in BAD_EDITS:
        key = f"memory_editor_{USER}_{at.session_state[f'editor_version_{USER}']}"
        at.session_state[key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **edits}
        at.run()
        if case in STREAMLIT_REFUSES:
            if not at.exception:
                missed.append((case, "accepted by st.data_editor"))
            at = _memories_tab()
            continue
        at.button(key="save_memories").click().run()
        shown = at.error[0].value if at.error else ""
        if not (shown.startswith("Nothing was saved.") and message in shown):
            missed.append((case, shown))
        at.button(key="discard_memories").click().run()
    assert missed == []
    assert _dump(data_dir) == before


def test_the_inspector_refuses_every_bad_import_file_and_imports_nothing(
    page_runtime: Runtime, data_dir: Path
) -> None:
    """One page session, every bad file uploaded in turn: a reason, no Import button."""
    at = _memories_tab()
    before = _dump(data_dir)
    missed = []
    for case, name, data, message in BAD_IMPORTS:
        if not name.endswith((".csv", ".json")):
            continue  # the uploader itself takes only .csv and .json files
        at.file_uploader(key="import_0").upload(name, data).run()
        shown = at.error[0].value if at.error else ""
        if not (shown.startswith("This file cannot be imported") and message in shown):
            missed.append((case, shown[:200]))
        if any(b.key == "import_apply" for b in at.button):
            missed.append((case, "Import button offered"))
    assert missed == []
    assert _dump(data_dir) == before
