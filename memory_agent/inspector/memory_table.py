"""Memories as an editable table, and the way back: an edited table becomes ``memories.Change``s.

The inspector shows a (possibly filtered) DataFrame in ``st.data_editor``, which reports edits as
row *positions* in that shown frame: ``edited_rows``, ``added_rows``, ``deleted_rows``. Turning
them into changes here, against the exact frame that was shown, keeps the page free of logic and
lets tests pin the mapping down without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from memory_agent.memories import Change, HistoryEvent, Memory, MemoryValidationError

COLUMNS = ["key", "content", "context", "created", "updated", "source thread", "source"]
EDITABLE = ("content", "context")
READ_ONLY = tuple(c for c in COLUMNS if c not in EDITABLE)
_SEARCHED = ["key", "content", "context", "source thread", "source"]
_EMPTY_EDITS: dict[str, Any] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}


def memories_frame(memories: Iterable[Memory]) -> pd.DataFrame:
    """One row per memory; timestamps stay the stored ISO text so a save can detect changes."""
    rows = [
        {
            "key": m.key,
            "content": m.content,
            "context": m.context,
            "created": m.created_at,
            "updated": m.updated_at,
            "source thread": m.thread_id or "",
            "source": m.source,
        }
        for m in memories
    ]
    return pd.DataFrame(rows, columns=COLUMNS).astype(str)


def filter_frame(frame: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows containing ``text`` (any case) in a text column, renumbered from 0 as shown."""
    needle = text.strip().lower()
    if not needle:
        return frame.reset_index(drop=True)
    haystack = frame[_SEARCHED].apply(lambda column: column.str.lower())
    matches = haystack.apply(lambda column: column.str.contains(needle, regex=False)).any(axis=1)
    return frame[matches].reset_index(drop=True)


def has_edits(editor_state: Mapping[str, Any] | None) -> bool:
    """Whether a data_editor state holds any unsaved edit."""
    state = editor_state or _EMPTY_EDITS
    return any(state.get(part) for part in _EMPTY_EDITS)


def changes_from_editor(shown: pd.DataFrame, editor_state: Mapping[str, Any]) -> list[Change]:
    """The changes a data_editor result asks for, relative to the frame it was shown.

    Deleting a row wins over editing it; an edit that leaves a row as it was is no change. Rows
    are labelled as people see them ("Row 2 (key …)", "New row 1") for error messages.
    """
    deleted = {_position(p, shown) for p in editor_state.get("deleted_rows") or []}
    changes = [_deletion(shown, position) for position in sorted(deleted)]
    edited = {
        _position(raw, shown): edits
        for raw, edits in (editor_state.get("edited_rows") or {}).items()
    }
    for position, edits in sorted(edited.items()):
        if position not in deleted:
            update = _update(shown, position, edits)
            if update:
                changes.append(update)
    for number, row in enumerate(editor_state.get("added_rows") or [], start=1):
        changes.append(_creation(number, row))
    return changes


def pending_cells(shown: pd.DataFrame, editor_state: Mapping[str, Any] | None) -> pd.DataFrame:
    """Every unsaved edit, cell by cell, so people see what Save will write before they save.

    The grid draws edited cells like the others; this lists each one: the row, the column, the
    stored text and the new text (an added row shows its cells, a deleted row says so).
    """
    state = editor_state or _EMPTY_EDITS
    rows = []
    for raw in state.get("deleted_rows") or []:
        if 0 <= int(raw) < len(shown):
            before = shown.at[int(raw), "content"]
            rows.append(
                {"row": int(raw) + 1, "column": "(row)", "stored": before, "new": "deleted"}
            )
    for raw, edits in sorted((state.get("edited_rows") or {}).items(), key=lambda e: int(e[0])):
        position = int(raw)
        for column, value in edits.items():
            if 0 <= position < len(shown) and column in shown.columns:
                stored = shown.at[position, column]
                if _text(value) != stored:
                    rows.append(
                        {
                            "row": position + 1,
                            "column": column,
                            "stored": stored,
                            "new": _text(value),
                        }
                    )
    for number, row in enumerate(state.get("added_rows") or [], start=1):
        for column, value in row.items():
            rows.append(
                {"row": f"new {number}", "column": column, "stored": "", "new": _text(value)}
            )
    return pd.DataFrame(rows, columns=["row", "column", "stored", "new"]).astype(str)


def history_frame(events: Sequence[HistoryEvent]) -> pd.DataFrame:
    """The change history as a table, newest first, with content before and after each change.

    Times are UTC to the second (the event id keeps the exact moment).
    """
    rows = [
        {
            "time": event.at[:19].replace("T", " "),
            "action": f"undo → {event.action}" if event.undo_of else event.action,
            "by": event.source,
            "key": event.memory_key,
            "before": (event.before or {}).get("content", ""),
            "after": (event.after or {}).get("content", ""),
            "thread": event.thread_id or "",
            "undoes": event.undo_of or "",
            "event": event.id,
        }
        for event in events
    ]
    # What changed first, so a narrow screen shows it; the ids last.
    columns = ["action", "before", "after", "by", "time", "key", "thread", "undoes", "event"]
    return pd.DataFrame(rows, columns=columns)


def undo_default(events: Sequence[HistoryEvent]) -> int | None:
    """Which change the undo picker offers first: the newest one people would undo.

    Never an undo (picking the user's own undo again would redo what they just took back), nor
    a change already undone; ``None`` when no change is left to offer, and right after an undo
    (the next candidate is an older change, often the agent's create of a memory kept today:
    one click would delete it), so the person picks.
    """
    if events and events[0].undo_of:
        return None
    undone = {e.undo_of for e in events if e.undo_of}
    return next(
        (n for n, e in enumerate(events) if not e.undo_of and e.id not in undone),
        None,
    )


def count_over_time(events: Sequence[HistoryEvent], current_count: int) -> pd.DataFrame:
    """How many memories the user had after each change, derived from the history.

    Memories written before the history existed (or by other tools) have no event; starting from
    ``current_count`` minus the net change keeps the last point equal to what is stored now.
    """
    steps = {"create": 1, "delete": -1, "update": 0}
    oldest_first = sorted(events, key=lambda e: e.id)
    count = current_count - sum(steps[e.action] for e in oldest_first)
    counts = []
    for event in oldest_first:
        count += steps[event.action]
        counts.append(count)
    # One conversion for all times: a Timestamp per event took 0.2 s at 10k events.
    times = pd.to_datetime([e.at for e in oldest_first], format="ISO8601")
    return pd.DataFrame({"time": times, "memories": counts}, columns=["time", "memories"])


def _position(raw: Any, shown: pd.DataFrame) -> int:
    try:
        position = int(raw)
    except (TypeError, ValueError):
        raise MemoryValidationError(f"Row {raw!r} is not a row number.") from None
    if not 0 <= position < len(shown):
        raise MemoryValidationError(
            f"Row {position + 1} is not in the table any more; reload the page."
        )
    return position


def _label(shown: pd.DataFrame, position: int) -> str:
    return f"Row {position + 1} (key {shown.at[position, 'key']})"


def _deletion(shown: pd.DataFrame, position: int) -> Change:
    return Change(
        "delete",
        shown.at[position, "key"],
        label=_label(shown, position),
        expected_updated_at=shown.at[position, "updated"],
    )


def _update(shown: pd.DataFrame, position: int, edits: Mapping[str, Any]) -> Change | None:
    label = _label(shown, position)
    read_only = sorted(set(edits) - set(EDITABLE))
    if read_only:
        raise MemoryValidationError(f"{label}: {', '.join(read_only)} cannot be edited.")
    content = _text(edits.get("content", shown.at[position, "content"]))
    context = _text(edits.get("context", shown.at[position, "context"]))
    if (content, context) == (shown.at[position, "content"], shown.at[position, "context"]):
        return None
    return Change(
        "update",
        shown.at[position, "key"],
        content,
        context,
        label=label,
        expected_updated_at=shown.at[position, "updated"],
    )


def _creation(number: int, row: Mapping[str, Any]) -> Change:
    label = f"New row {number}"
    filled = {column for column, value in row.items() if _text(value) != ""}
    read_only = sorted(filled - set(EDITABLE))
    if read_only:
        raise MemoryValidationError(
            f"{label}: {', '.join(read_only)} cannot be set; keys and times are assigned."
        )
    return Change("create", None, _text(row.get("content")), _text(row.get("context")), label=label)


def _text(value: Any) -> Any:
    """An empty cell arrives as None or NaN; anything else is passed on for validation."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value
