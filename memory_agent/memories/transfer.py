"""Memories to and from files: CSV and JSON export, and import parsed into validated changes."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from langgraph.store.base import BaseStore

from memory_agent.memories.records import (
    SOURCES,
    Change,
    Memory,
    MemoryValidationError,
    MemoryWrite,
    now_iso,
)
from memory_agent.memories.store import apply_planned, list_memories
from memory_agent.memories.validation import is_number, kind_of, valid_thread_id, valid_timestamp

ImportMode = Literal["merge", "replace"]
"""merge: add and update by key; replace: also delete the memories the file does not have."""
ImportRows = Sequence[Mapping[str, Any]]
"""Rows as ``parse_import`` returns them (or a page builds them), not yet validated."""

MAX_IMPORT_ROWS = 10_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024
EXPORT_COLUMNS = ["key", "content", "context", "created_at", "updated_at", "thread_id", "source"]
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
"""A CSV cell a spreadsheet would run as a formula (after any quotes already guarding one)."""
_GUARDED = re.compile(r"^'+[=+\-@\t\r]")


def export_json(memories: Iterable[Memory], user_id: str) -> str:
    """The memories as a JSON export that ``parse_import`` reads back."""
    rows = [{c: getattr(m, c) for c in EXPORT_COLUMNS} for m in memories]
    return json.dumps(
        {"user_id": user_id, "exported_at": now_iso(), "memories": rows},
        indent=2,
        ensure_ascii=False,
    )


def export_csv(memories: Iterable[Memory]) -> str:
    """CSV for people and spreadsheets; cells a spreadsheet would run as formulas are guarded.

    A cell starting with ``= + - @``, a tab or a CR gets a leading ``'`` (so does one that
    already starts with quotes before such a character); ``parse_import`` removes exactly that
    quote, so an export imports back as it was.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for m in memories:
        writer.writerow({c: neutralise_cell(str(getattr(m, c) or "")) for c in EXPORT_COLUMNS})
    return buffer.getvalue()


def neutralise_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs as a formula (see ``export_csv``)."""
    return "'" + text if _FORMULA.match(text) else text


def restore_cell(text: str) -> str:
    """Undo ``neutralise_cell``: drop the one quote it adds, and only that."""
    return text[1:] if _GUARDED.match(text) else text


def parse_import(data: bytes, filename: str) -> list[dict[str, Any]]:
    """Rows of a CSV or JSON export, by the file's extension; raises ``MemoryValidationError``."""
    if len(data) > MAX_IMPORT_BYTES:
        raise MemoryValidationError(
            f"{filename} is {len(data) / 1e6:.1f} MB; the limit is {MAX_IMPORT_BYTES // 2**20} MB."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MemoryValidationError(f"{filename} is not UTF-8 text (byte {error.start}).") from None
    if filename.lower().endswith(".json"):
        rows = _parse_json_rows(text, filename)
    elif filename.lower().endswith(".csv"):
        rows = _parse_csv_rows(text, filename)
    else:
        raise MemoryValidationError(f"{filename}: import takes a .json or .csv file.")
    if len(rows) > MAX_IMPORT_ROWS:
        raise MemoryValidationError(
            f"{filename} has {len(rows)} rows; the limit is {MAX_IMPORT_ROWS}."
        )
    if not rows:
        # An empty file is a mistake far more often than a wish; in replace mode it would
        # delete every memory.
        raise MemoryValidationError(f"{filename} has no memories to import.")
    return rows


def import_changes(
    store: BaseStore, user_id: str, rows: ImportRows, mode: ImportMode
) -> list[Change]:
    """The changes an import would make now (a preview; ``import_memories`` applies them)."""
    return changes_for_import(rows, {m.key: m for m in list_memories(store, user_id)}, mode)


def import_memories(
    store: BaseStore, user_id: str, rows: ImportRows, mode: ImportMode
) -> list[MemoryWrite]:
    """Import ``rows``, all or nothing, with changes worked out under the user's write lock.

    Worked out beforehand, two imports of one file at once would both create every memory (and
    log every create twice); here the second finds the first's memories and changes nothing.
    """
    changes_for_import([], {}, mode)  # an unknown mode is refused before the lock is taken
    return apply_planned(
        store, user_id, lambda current: changes_for_import(rows, current, mode), source="import"
    )


def changes_for_import(
    rows: ImportRows, current: Mapping[str, Memory], mode: ImportMode
) -> list[Change]:
    """The changes ``rows`` make to ``current``: merge upserts by key; replace deletes the rest.

    A row's key names one of the user's own memories or a new one of theirs; other users'
    memories are never looked at, so no answer (or error) tells an importer what others have.
    """
    if mode not in get_args(ImportMode):
        raise MemoryValidationError(f"Import mode must be 'merge' or 'replace', got {mode!r}.")
    changes: list[Change] = []
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        unknown = set(row) - set(EXPORT_COLUMNS) - {"score"}
        if unknown:
            raise MemoryValidationError(
                f"Row {number}: unknown column(s) {', '.join(sorted(unknown))}."
            )
        key = row.get("key")
        if key == "":
            key = None
        if key is not None and not isinstance(key, str):
            raise MemoryValidationError(f"Row {number}: key must be text, got {kind_of(key)}.")
        label = f"Row {number}" + (f" (key {key})" if key else "")
        if key is not None:
            if key in first_row:
                raise MemoryValidationError(
                    f"{label}: key {key} appears more than once in the file "
                    f"(first in row {first_row[key]})."
                )
            first_row[key] = number
        try:
            carried = _import_fields(row)
        except MemoryValidationError as error:
            raise MemoryValidationError(f"{label}: {error}.") from None
        content, context = row.get("content"), row.get("context")
        context = "" if context is None else context  # a wrong type is refused, not blanked
        if key and key in current:
            old = current[key]
            if (old.content, old.context) != (content, context):
                changes.append(Change("update", key, content, context, label=label))
        else:
            changes.append(Change("create", key, content, context, carried, label))
    if mode == "replace":
        listed = {row.get("key") for row in rows}
        changes += [
            Change("delete", key, label=f"Memory {key} (not in the file)")
            for key in current
            if key not in listed
        ]
    return changes


def _import_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an import row's bookkeeping columns; the ones a created memory carries over.

    ``updated_at``, ``source`` and ``score`` are set by the import itself, but a wrong value
    there still means the file is not what it claims to be, so it is refused too.
    """
    valid_timestamp(row.get("updated_at"), "updated_at")
    source = row.get("source")
    if source not in (None, "") and source not in SOURCES:
        raise MemoryValidationError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    score = row.get("score")
    if score not in (None, "") and not is_number(score):
        raise MemoryValidationError(f"score must be a number, got {str(score)[:40]!r}")
    carried = {
        "created_at": valid_timestamp(row.get("created_at"), "created_at"),
        "thread_id": valid_thread_id(row.get("thread_id")),
    }
    return {k: v for k, v in carried.items() if v}


def _parse_json_rows(text: str, filename: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text, object_pairs_hook=_unique_fields)
    except MemoryValidationError as error:
        raise MemoryValidationError(f"{filename}: {error}") from None
    except json.JSONDecodeError as error:
        raise MemoryValidationError(
            f"{filename} is not valid JSON: {error.msg} at line {error.lineno}."
        ) from None
    rows = data.get("memories") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise MemoryValidationError(
            f'{filename}: expected a list of memories or {{"memories": [...]}}.'
        )
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise MemoryValidationError(
                f"Row {number}: expected an object, got {type(row).__name__}."
            )
        try:
            json.dumps(row, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            # JSON can spell a lone surrogate ("\ud800"); it is not text any page can show.
            raise MemoryValidationError(
                f"Row {number}: contains an unpaired surrogate (invalid Unicode)."
            ) from None
    return rows


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it names a field twice (``json`` would keep the last)."""
    fields = dict(pairs)
    if len(fields) != len(pairs):
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise MemoryValidationError(f"a JSON object repeats the field(s) {', '.join(repeated)}.")
    return fields


def _parse_csv_rows(text: str, filename: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
        if "content" not in header:
            raise MemoryValidationError(f"{filename}: the CSV header must have a 'content' column.")
        if len(set(header)) != len(header):
            raise MemoryValidationError(f"{filename}: the CSV header repeats a column.")
        rows = []
        for row in reader:
            if None in row:
                raise MemoryValidationError(
                    f"Row {reader.line_num - 1}: more cells than columns in the header."
                )
            if any(value is None for value in row.values()):
                raise MemoryValidationError(
                    f"Row {reader.line_num - 1}: fewer cells than columns in the header."
                )
            rows.append({column: restore_cell(value) for column, value in row.items()})
        return rows
    except csv.Error as error:
        raise MemoryValidationError(
            f"{filename} is not valid CSV: {error} (line {reader.line_num})."
        ) from None
