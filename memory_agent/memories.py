"""One user's memories: read, search, write, validate, undo, import and export.

Every write goes through here, whoever makes it (the agent's tool, the inspector, an import), so
each one is validated the same way and leaves a change-history event. A memory and its history
event are written in one store batch, which the store runs as one transaction: both or neither.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from langgraph.store.base import BaseStore, GetOp, Item, PutOp

from memory_agent.configuration import validate_user_id

MEMORY_NAMESPACE = "memories"
HISTORY_NAMESPACE = "memory_history"
MAX_CONTENT_LENGTH = 2_000
MAX_CONTEXT_LENGTH = 2_000
MAX_IMPORT_ROWS = 10_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024
SOURCES = ("agent", "inspector", "import")
EXPORT_COLUMNS = ["key", "content", "context", "created_at", "updated_at", "thread_id", "source"]
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
THREAD_ID_PATTERN = re.compile(r"^[\w\-.:@]{1,128}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
"""A CSV cell a spreadsheet would run as a formula (after any quotes already guarding one)."""
_GUARDED = re.compile(r"^'+[=+\-@\t\r]")
_PAGE = 1_000

Source = Literal["agent", "inspector", "import"]
Action = Literal["create", "update", "delete"]


class MemoryValidationError(ValueError):
    """A memory operation was refused; the message names the row and the reason."""


@dataclass(frozen=True)
class Memory:
    """A memory as people and the model see it; ``score`` is set by a search."""

    key: str
    content: str
    context: str = ""
    created_at: str = ""
    updated_at: str = ""
    thread_id: str | None = None
    source: str = "agent"
    score: float | None = None

    def stored_value(self) -> dict[str, Any]:
        """The store's value: everything but the key and the (per-search) score."""
        value = asdict(self)
        del value["key"], value["score"]
        return value


@dataclass(frozen=True)
class MemoryWrite:
    """What one write did: ``before`` is None for a create, ``after`` None for a delete."""

    action: Action
    key: str
    before: Memory | None
    after: Memory | None

    def describe(self) -> str:
        """The tool result the model reads."""
        verb = {"create": "Created", "update": "Updated", "delete": "Deleted"}[self.action]
        return f"{verb} memory {self.key}"


@dataclass(frozen=True)
class HistoryEvent:
    """One change to one memory, with the memory before and after it."""

    id: str
    memory_key: str
    action: Action
    source: str
    at: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    thread_id: str | None = None
    undo_of: str | None = None


@dataclass(frozen=True)
class Change:
    """A change requested by the inspector or an import; validated before anything is written."""

    action: Action
    key: str | None = None
    content: str | None = None
    context: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    """Extra stored fields an import carries over (created_at, thread_id)."""
    label: str = ""
    """Where the change came from ("Row 3", "New row 1"), so an error names what people see."""
    expected_updated_at: str | None = None
    """The ``updated_at`` the editor was shown; a memory changed since then is not overwritten."""


def memory_namespace(user_id: str) -> tuple[str, str]:
    """Where a user's memories live; the only place their namespace is spelled."""
    return (MEMORY_NAMESPACE, validate_user_id(user_id))


def history_namespace(user_id: str) -> tuple[str, str]:
    return (HISTORY_NAMESPACE, validate_user_id(user_id))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# ---- reading -------------------------------------------------------------------------------


def list_memories(store: BaseStore, user_id: str) -> list[Memory]:
    """All of the user's memories, most recently updated first."""
    items = _all_items(store, memory_namespace(user_id))
    memories = [_to_memory(item) for item in items]
    return sorted(memories, key=lambda m: m.updated_at, reverse=True)


def get_memory(store: BaseStore, user_id: str, key: str) -> Memory | None:
    item = store.get(memory_namespace(user_id), key)
    return _to_memory(item) if item else None


def search_memories(store: BaseStore, user_id: str, query: str, limit: int = 10) -> list[Memory]:
    """The memories most like ``query``, best first, with scores: what ``call_model`` recalls."""
    namespace = memory_namespace(user_id)
    items = store.search(namespace, query=query or None, limit=limit)
    # A prefix search also matches deeper namespaces; only the user's own memories are recalled.
    return [_to_memory(item) for item in items if item.namespace == namespace]


def history(store: BaseStore, user_id: str, memory_key: str | None = None) -> list[HistoryEvent]:
    """The user's memory changes, newest first; only those of one memory when a key is given."""
    filter_ = {"memory_key": memory_key} if memory_key else None
    items = _all_items(store, history_namespace(user_id), filter_)
    events = [HistoryEvent(id=item.key, **item.value) for item in items]
    return sorted(events, key=lambda e: e.id, reverse=True)


# ---- writing -------------------------------------------------------------------------------


def upsert_memory(
    store: BaseStore,
    user_id: str,
    content: str,
    context: str = "",
    *,
    key: str | None = None,
    thread_id: str | None = None,
    source: Source = "agent",
) -> MemoryWrite:
    """Create a memory, or update the one with ``key`` in place. The agent's tool calls this.

    Writing what is already stored changes nothing (a re-run turn repeats its tool calls).
    """
    existing = get_memory(store, user_id, key) if key else None
    if existing and (existing.content, existing.context) == (content, context):
        return MemoryWrite("update", existing.key, existing, existing)
    if existing:
        change = Change("update", key, content, context)
    else:
        change = Change("create", key, content, context)
    return _commit(
        store, user_id, [change], source, thread_id, {m.key: m for m in [existing] if m}
    )[0]


def delete_memory(store: BaseStore, user_id: str, key: str, *, source: Source) -> MemoryWrite:
    existing = get_memory(store, user_id, key)
    if existing is None:
        raise MemoryValidationError(f"No memory with key {key!r} for user {user_id!r}.")
    return _commit(store, user_id, [Change("delete", key)], source, None, {key: existing})[0]


def apply_changes(
    store: BaseStore, user_id: str, changes: Sequence[Change], *, source: Source
) -> list[MemoryWrite]:
    """Apply all changes at once or none: each is validated first; errors name the change."""
    if not changes:
        return []
    current = {m.key: m for m in list_memories(store, user_id)}
    return _commit(store, user_id, changes, source, None, current)


def check_changes(
    store: BaseStore, user_id: str, changes: Sequence[Change], *, source: Source
) -> list[MemoryWrite]:
    """What ``apply_changes`` would write, validated the same way, without writing: a preview."""
    current = {m.key: m for m in list_memories(store, user_id)}
    writes = _plan(changes, current, source, None, now_iso())
    if source == "import":
        _refuse_foreign_keys(store, user_id, changes, writes)
    return writes


def undo(store: BaseStore, user_id: str, event_id: str) -> MemoryWrite:
    """Reverse one change: re-create a deleted memory, revert an update, remove a creation."""
    item = store.get(history_namespace(user_id), event_id)
    if item is None:
        raise MemoryValidationError(f"No change {event_id!r} in the history of user {user_id!r}.")
    event = HistoryEvent(id=item.key, **item.value)
    current = get_memory(store, user_id, event.memory_key)
    if event.action == "create":
        if current is None:
            raise MemoryValidationError(
                f"Memory {event.memory_key} no longer exists; nothing to undo."
            )
        change = Change("delete", event.memory_key)
    elif event.action == "update":
        before = event.before or {}
        if current is None:
            change = Change(
                "create", event.memory_key, before["content"], before["context"], _carried(before)
            )
        else:
            change = Change("update", event.memory_key, before["content"], before["context"])
    else:
        before = event.before or {}
        if current is not None:
            raise MemoryValidationError(
                f"Memory {event.memory_key} exists again; nothing to restore."
            )
        change = Change(
            "create", event.memory_key, before["content"], before["context"], _carried(before)
        )
    known = {current.key: current} if current else {}
    return _commit(store, user_id, [change], "inspector", None, known, undo_of=event.id)[0]


def reindex(store: BaseStore) -> int:
    """Re-embed every memory of every user (after the embedding changed); returns the count."""
    count = 0
    for namespace in store.list_namespaces(prefix=(MEMORY_NAMESPACE,), limit=1_000_000):
        items = _all_items(store, namespace)
        for start in range(0, len(items), 200):
            batch = items[start : start + 200]
            store.batch([PutOp(namespace, item.key, item.value) for item in batch])
        count += len(items)
    return count


# ---- import and export ---------------------------------------------------------------------


def export_json(memories: Iterable[Memory], user_id: str) -> str:
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
    store: BaseStore,
    user_id: str,
    rows: Sequence[Mapping[str, Any]],
    mode: Literal["merge", "replace"],
) -> list[Change]:
    """The changes an import makes: merge upserts by key; replace also deletes the rest."""
    if mode not in ("merge", "replace"):
        raise MemoryValidationError(f"Import mode must be 'merge' or 'replace', got {mode!r}.")
    current = {m.key: m for m in list_memories(store, user_id)}
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
            raise MemoryValidationError(f"Row {number}: key must be text, got {_kind(key)}.")
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


# ---- internals -----------------------------------------------------------------------------


def validate_text(value: Any, name: str, limit: int, *, required: bool) -> str:
    """Content and context are printable strings within ``limit`` characters.

    NUL bytes and other control characters (tab and line breaks aside) would reach terminals,
    CSV files and the prompt as invisible commands; a lone surrogate cannot be encoded as UTF-8,
    so it would break every later export or page render of the memory.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise MemoryValidationError(f"{name} must be text, got {_kind(value)}")
    if "\x00" in value:
        raise MemoryValidationError(f"{name} contains a NUL byte")
    control = _CONTROL.search(value)
    if control:
        raise MemoryValidationError(
            f"{name} contains the control character U+{ord(control.group()):04X}"
        )
    if _SURROGATE.search(value):
        raise MemoryValidationError(f"{name} contains an unpaired surrogate (invalid Unicode)")
    if required and not value.strip():
        raise MemoryValidationError(f"{name} must not be empty")
    if len(value) > limit:
        raise MemoryValidationError(f"{name} is {len(value):,} characters; the limit is {limit:,}")
    return value.strip()


def _commit(
    store: BaseStore,
    user_id: str,
    changes: Sequence[Change],
    source: Source,
    thread_id: str | None,
    current: Mapping[str, Memory],
    undo_of: str | None = None,
) -> list[MemoryWrite]:
    """Validate every change against ``current``, then write them all in one store batch."""
    namespace, history_ns = memory_namespace(user_id), history_namespace(user_id)
    timestamp = now_iso()
    writes = _plan(changes, current, source, thread_id, timestamp)
    if source == "import":
        _refuse_foreign_keys(store, user_id, changes, writes)
    ops: list[PutOp] = []
    for write in writes:
        value = write.after.stored_value() if write.after else None
        ops.append(PutOp(namespace, write.key, value))
        event = HistoryEvent(
            id=f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}",
            memory_key=write.key,
            action=write.action,
            source=source,
            at=timestamp,
            before=write.before.stored_value() if write.before else None,
            after=value,
            thread_id=thread_id,
            undo_of=undo_of,
        )
        event_value = asdict(event)
        del event_value["id"]
        ops.append(PutOp(history_ns, event.id, event_value, index=False))
    store.batch(ops)
    return writes


def _plan(
    changes: Sequence[Change],
    current: Mapping[str, Memory],
    source: Source,
    thread_id: str | None,
    timestamp: str,
) -> list[MemoryWrite]:
    """Validate every change before any is written; the first error names its change."""
    if source not in SOURCES:
        raise MemoryValidationError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    writes: list[MemoryWrite] = []
    touched: set[str] = set()
    for number, change in enumerate(changes, start=1):
        where = _where(change, number)
        try:
            write = _validated_write(change, current, source, thread_id, timestamp)
        except MemoryValidationError as error:
            raise MemoryValidationError(f"{where}: {error}") from None
        if write.key in touched:
            raise MemoryValidationError(f"{where}: key {write.key} appears more than once")
        touched.add(write.key)
        writes.append(write)
    return writes


def _where(change: Change, number: int) -> str:
    """How an error names a change: its label, else its position (and key)."""
    return change.label or f"Change {number}" + (f" (key {change.key})" if change.key else "")


def _refuse_foreign_keys(
    store: BaseStore, user_id: str, changes: Sequence[Change], writes: Sequence[MemoryWrite]
) -> None:
    """Refuse an import row that would create a memory under a key another user's memory has.

    Keys are per-user, so such a create would not touch the other memory; but a file carrying
    someone else's keys is almost always the wrong user's export, and importing it would
    silently fork their memories. Only imports are checked: the agent's tool must not fail, or
    reveal that a key exists elsewhere, because of another user's data (the inspector's new rows
    get fresh UUIDs). One batched lookup per other user.
    """
    given = {
        write.key: _where(change, number)
        for number, (change, write) in enumerate(zip(changes, writes, strict=True), start=1)
        if write.action == "create" and change.key
    }
    if not given:
        return
    own = memory_namespace(user_id)
    ops = [
        GetOp(namespace, key)
        for namespace in _memory_namespaces(store)
        if namespace != own
        for key in given
    ]
    taken = {item.key for item in store.batch(ops) if item is not None}
    for key, where in given.items():
        if key in taken:
            raise MemoryValidationError(
                f"{where}: key {key} belongs to another user's memory; remove the key to "
                "import the row as a new memory"
            )


def _memory_namespaces(store: BaseStore) -> list[tuple[str, ...]]:
    """Every user's memory namespace (the store pages its results)."""
    namespaces: list[tuple[str, ...]] = []
    while True:
        page = store.list_namespaces(
            prefix=(MEMORY_NAMESPACE,), max_depth=2, limit=_PAGE, offset=len(namespaces)
        )
        namespaces.extend(page)
        if len(page) < _PAGE:
            return namespaces


def _validated_write(
    change: Change,
    current: Mapping[str, Memory],
    source: Source,
    thread_id: str | None,
    timestamp: str,
) -> MemoryWrite:
    if change.action not in ("create", "update", "delete"):
        raise MemoryValidationError(f"unknown action {change.action!r}")
    if change.key is not None and (
        not isinstance(change.key, str) or not _KEY_PATTERN.fullmatch(change.key)
    ):
        raise MemoryValidationError("key must be 1-100 letters, digits, '-' or '_'")
    before = current.get(change.key) if change.key else None
    if before is not None and change.expected_updated_at not in (None, before.updated_at):
        raise MemoryValidationError(
            f"the memory was changed by {before.source} at {before.updated_at} since it was "
            "loaded; reload and edit again"
        )
    if change.action == "delete":
        if before is None:
            raise MemoryValidationError("no such memory to delete")
        return MemoryWrite("delete", before.key, before, None)
    content = validate_text(change.content, "content", MAX_CONTENT_LENGTH, required=True)
    context = validate_text(change.context, "context", MAX_CONTEXT_LENGTH, required=False)
    if change.action == "update":
        if before is None:
            raise MemoryValidationError("no such memory to update")
        after = Memory(
            key=before.key,
            content=content,
            context=context,
            created_at=before.created_at,
            updated_at=timestamp,
            thread_id=thread_id or before.thread_id,
            source=source,
        )
        return MemoryWrite("update", before.key, before, after)
    if before is not None:
        raise MemoryValidationError("a memory with this key already exists")
    created_at = _valid_timestamp(change.fields.get("created_at"), "created_at") or timestamp
    carried_thread = _valid_thread_id(change.fields.get("thread_id"))
    after = Memory(
        key=change.key or str(uuid.uuid4()),
        content=content,
        context=context,
        created_at=created_at,
        updated_at=timestamp,
        thread_id=thread_id or carried_thread,
        source=source,
    )
    return MemoryWrite("create", after.key, None, after)


def _import_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an import row's bookkeeping columns; the ones a created memory carries over.

    ``updated_at``, ``source`` and ``score`` are set by the import itself, but a wrong value
    there still means the file is not what it claims to be, so it is refused too.
    """
    _valid_timestamp(row.get("updated_at"), "updated_at")
    source = row.get("source")
    if source not in (None, "") and source not in SOURCES:
        raise MemoryValidationError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    score = row.get("score")
    if score not in (None, "") and not _is_number(score):
        raise MemoryValidationError(f"score must be a number, got {str(score)[:40]!r}")
    carried = {
        "created_at": _valid_timestamp(row.get("created_at"), "created_at"),
        "thread_id": _valid_thread_id(row.get("thread_id")),
    }
    return {k: v for k, v in carried.items() if v}


def _is_number(value: Any) -> bool:
    """A JSON number, or CSV text that spells one."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _valid_thread_id(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MemoryValidationError(f"thread_id must be text, got {_kind(value)}")
    if not THREAD_ID_PATTERN.fullmatch(value):
        raise MemoryValidationError(
            f"thread_id {value[:40]!r} must be 1-128 letters, digits or _ - . : @"
        )
    return value


def _kind(value: Any) -> str:
    """A value's type as a JSON file spells it, for error messages."""
    names = {bool: "boolean", int: "number", float: "number", list: "list", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _valid_timestamp(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MemoryValidationError(f"{name} must be an ISO 8601 time, got {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MemoryValidationError(f"{name} {value[:40]!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat(timespec="milliseconds")


def _carried(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: value[k] for k in ("created_at", "thread_id") if value.get(k)}


def _to_memory(item: Item) -> Memory:
    """Read a store item, tolerating items written by other tools (only content and context)."""
    value = item.value
    return Memory(
        key=item.key,
        content=str(value.get("content", "")),
        context=str(value.get("context") or ""),
        created_at=value.get("created_at") or _iso(item.created_at),
        updated_at=value.get("updated_at") or _iso(item.updated_at),
        thread_id=value.get("thread_id"),
        source=value.get("source") or "agent",
        score=getattr(item, "score", None),
    )


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds")


def _all_items(
    store: BaseStore, namespace: tuple[str, ...], filter_: dict[str, Any] | None = None
) -> list[Item]:
    """Every item of one namespace (the store pages its results)."""
    items: list[Item] = []
    offset = 0
    while True:
        page = store.search(namespace, filter=filter_, limit=_PAGE, offset=offset)
        offset += len(page)
        items.extend(item for item in page if item.namespace == namespace)
        if len(page) < _PAGE:
            return items


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
