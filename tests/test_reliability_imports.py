"""Import checks cost what the file holds, not users x rows; the uploader checks a file once.

Before, a 5,000-row keyed import took 3.6 s with 1 user and 25 s / 1.85 GB with 1,200 users in
the store (one lookup per other user and key), and the inspector redid it on every rerun while the
file sat in the uploader. Counted here as SQL statements and as calls, not as seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.store.base import PutOp
from streamlit.testing.v1 import AppTest

from memory_agent import memories
from memory_agent.memories import records
from memory_agent.runtime import Runtime, open_runtime
from tests.live_app import ROOT

ROWS = [{"key": f"k{n:04d}", "content": f"User fact number {n}"} for n in range(400)]


def _other_users(runtime: Runtime, count: int) -> None:
    ops = [
        PutOp(records.memory_namespace(f"other{n}"), f"o{n}", {"content": "x"}, index=False)
        for n in range(count)
    ]
    runtime.store.batch(ops)


def _statements_to_check(runtime: Runtime) -> int:
    statements: list[str] = []
    runtime.store.conn.set_trace_callback(statements.append)
    try:
        changes = memories.import_changes(runtime.store, "zed", ROWS, "merge")
        memories.check_changes(runtime.store, "zed", changes, source="import")
    finally:
        runtime.store.conn.set_trace_callback(None)
    return len(statements)


def test_an_import_check_does_not_grow_with_the_number_of_users(tmp_path: Path) -> None:
    """Other users' memories are never looked at: the cost is the rows', and nothing leaks."""
    runtime = open_runtime(tmp_path / "data")
    try:
        _other_users(runtime, 1)
        with_one = _statements_to_check(runtime)
        _other_users(runtime, 600)
        with_many = _statements_to_check(runtime)
        print(
            f"\n400 keyed rows checked: {with_one} statements with 1 other user, "
            f"{with_many} with 601"
        )
        assert with_many == with_one
        runtime.store.put(records.memory_namespace("other7"), "k0042", {"content": "theirs"})
        planned = memories.check_changes(
            runtime.store,
            "zed",
            memories.import_changes(runtime.store, "zed", ROWS, "merge"),
            source="import",
        )
        assert len(planned) == len(ROWS)  # another user's key is a new memory of zed's
        memories.import_memories(runtime.store, "zed", ROWS, "merge")
        theirs = runtime.store.get(records.memory_namespace("other7"), "k0042")
        assert theirs is not None and theirs.value["content"] == "theirs"
    finally:
        runtime.close()


def test_a_file_in_the_uploader_is_checked_once_not_on_every_rerun(
    page_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    check = memories.check_changes
    monkeypatch.setattr(
        memories, "check_changes", lambda *a, **k: calls.append(1) or check(*a, **k)
    )
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params["tab"] = "Memories"
    at.query_params["user"] = "zed"
    at.switch_page("pages/inspector.py").run()
    data = memories.export_csv(memories.Memory(r["key"], r["content"]) for r in ROWS).encode()
    at.file_uploader(key="import_0").upload("zed.csv", data, "text/csv").run()
    for _ in range(4):
        at.run()
    assert "400 to create" in at.info[0].value
    assert len(calls) == 1, "one check for one file, however often the page reruns"
    at.radio(key="import_mode").set_value("replace").run()
    assert len(calls) == 2, "another mode is another check"
    at.button(key="import_apply").click().run()
    assert "Imported 400 changes" in at.toast[0].value
    assert len(memories.list_memories(page_runtime.store, "zed")) == 400
