"""Turning an st.data_editor result over a (filtered) memory table into memory changes."""

from __future__ import annotations

import dataclasses

import pytest

from memory_agent.inspector import memory_table
from memory_agent.memories import Change, HistoryEvent, Memory, MemoryValidationError

MEMORIES = [
    Memory("k1", "User loves sailing", "said in t1", "2026-01-01T00:00:00.000+00:00", "u1", "t1"),
    Memory("k2", "User's name is Zed", "", "2026-01-01T00:00:01.000+00:00", "u2", "t1"),
    Memory("k3", "User works at Acme", "", "2026-01-01T00:00:02.000+00:00", "u3", None, "import"),
]


def _edits(edited=None, added=None, deleted=None) -> dict:
    return {"edited_rows": edited or {}, "added_rows": added or [], "deleted_rows": deleted or []}


def test_the_frame_has_the_inspector_columns_in_order() -> None:
    frame = memory_table.memories_frame(MEMORIES)
    assert list(frame.columns) == memory_table.COLUMNS
    assert frame.loc[2].to_dict() == {
        "key": "k3",
        "content": "User works at Acme",
        "context": "",
        "created": "2026-01-01T00:00:02.000+00:00",
        "updated": "u3",
        "source thread": "",
        "source": "import",
    }
    assert memory_table.memories_frame([]).empty


def test_filter_matches_any_text_column_and_renumbers_rows() -> None:
    frame = memory_table.memories_frame(MEMORIES)
    assert list(memory_table.filter_frame(frame, "ACME")["key"]) == ["k3"]
    assert list(memory_table.filter_frame(frame, "t1")["key"]) == ["k1", "k2"]
    assert list(memory_table.filter_frame(frame, "import").index) == [0]
    assert len(memory_table.filter_frame(frame, "  ")) == 3


def test_edits_in_a_filtered_view_map_to_the_shown_rows() -> None:
    shown = memory_table.filter_frame(memory_table.memories_frame(MEMORIES), "zed")
    changes = memory_table.changes_from_editor(
        shown, _edits(edited={0: {"content": "User's name is Zeddy"}})
    )
    assert changes == [
        Change(
            "update",
            "k2",
            "User's name is Zeddy",
            "",
            label="Row 1 (key k2)",
            expected_updated_at="u2",
        )
    ]


def test_added_and_deleted_rows_become_creates_and_deletes() -> None:
    shown = memory_table.memories_frame(MEMORIES)
    state = _edits(
        added=[{"content": "User has a cat", "context": None}],
        deleted=[2],
    )
    changes = memory_table.changes_from_editor(shown, state)
    assert [(c.action, c.key, c.content, c.context, c.label) for c in changes] == [
        ("delete", "k3", None, None, "Row 3 (key k3)"),
        ("create", None, "User has a cat", "", "New row 1"),
    ]


def test_deleting_an_edited_row_deletes_it_and_unchanged_edits_are_dropped() -> None:
    shown = memory_table.memories_frame(MEMORIES)
    state = _edits(
        edited={"0": {"content": "changed"}, "1": {"context": ""}},
        deleted=[0],
    )
    changes = memory_table.changes_from_editor(shown, state)
    assert [(c.action, c.key) for c in changes] == [("delete", "k1")]


def test_empty_cells_arrive_as_empty_text_for_validation() -> None:
    shown = memory_table.memories_frame(MEMORIES)
    changes = memory_table.changes_from_editor(
        shown, _edits(edited={1: {"content": None}}, added=[{"context": float("nan")}])
    )
    assert [(c.content, c.context) for c in changes] == [("", ""), ("", "")]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (_edits(edited={0: {"key": "mine"}}), r"Row 1 \(key k1\): key cannot be edited"),
        (_edits(edited={0: {"updated": "x"}}), "updated cannot be edited"),
        (_edits(added=[{"content": "a", "key": "mine"}]), "New row 1: key cannot be set"),
        (_edits(edited={7: {"content": "x"}}), "Row 8 is not in the table"),
        (_edits(deleted=["x"]), "not a row number"),
    ],
)
def test_malformed_editor_results_are_refused(state: dict, message: str) -> None:
    with pytest.raises(MemoryValidationError, match=message):
        memory_table.changes_from_editor(memory_table.memories_frame(MEMORIES), state)


def test_has_edits() -> None:
    assert not memory_table.has_edits(None)
    assert not memory_table.has_edits(_edits())
    assert memory_table.has_edits(_edits(deleted=[0]))


def _event(number: int, action: str, content: str) -> HistoryEvent:
    value = {"content": content}
    return HistoryEvent(
        id=f"2026010{number}T000000-{number}",
        memory_key="k",
        action=action,
        source="agent",
        at=f"2026-01-0{number}T00:00:00+00:00",
        before=None if action == "create" else value,
        after=None if action == "delete" else value,
    )


def test_count_over_time_ends_at_the_current_count() -> None:
    events = [_event(3, "delete", "b"), _event(2, "update", "a"), _event(1, "create", "a")]
    counts = memory_table.count_over_time(events, current_count=4)
    assert list(counts["memories"]) == [5, 5, 4]
    assert counts["time"].is_monotonic_increasing


def test_history_frame_shows_before_and_after() -> None:
    frame = memory_table.history_frame([_event(2, "update", "a"), _event(1, "create", "a")])
    assert list(frame["action"]) == ["update", "create"]
    assert list(frame["before"]) == ["a", ""]
    assert list(frame["after"]) == ["a", "a"]


def test_the_undo_picker_offers_neither_an_undo_nor_a_change_already_undone() -> None:
    created = _event(1, "create", "a")
    deleted = _event(2, "delete", "a")
    undo = dataclasses.replace(_event(3, "create", "a"), undo_of=deleted.id)
    assert memory_table.undo_default([deleted, created]) == 0
    # Newest first: the user's own undo, then the change it undid. Nothing is offered right
    # after an undo (the create is older, and undoing it would delete a kept memory)…
    assert memory_table.undo_default([undo, deleted, created]) is None
    assert memory_table.undo_default([undo, deleted]) is None
    # …and once a new change comes, it is offered again.
    later = _event(4, "update", "a")
    assert memory_table.undo_default([later, undo, deleted, created]) == 0
