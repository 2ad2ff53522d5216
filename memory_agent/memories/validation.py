"""Checks every memory change passes before anything is written; errors name the row."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from memory_agent.memories.records import (
    MAX_CONTENT_LENGTH,
    MAX_CONTEXT_LENGTH,
    SOURCES,
    THREAD_ID_PATTERN,
    Change,
    Memory,
    MemoryValidationError,
    MemoryWrite,
    Source,
)

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JOINER = "\u200d"
"""The zero-width joiner builds emoji (👩‍💻) and Indic ligatures; it hides nothing."""


def invisible_characters(text: str) -> list[str]:
    """The invisible format characters in ``text`` (bidi controls, zero-width spaces, BOM…).

    They change how text displays without being seen: U+202E shows "gnilias" as "sailing".
    """
    return [c for c in text if unicodedata.category(c) == "Cf" and c != _JOINER]


def describe_character(char: str) -> str:
    """A character as people can look it up: ``U+202E (RIGHT-TO-LEFT OVERRIDE)``."""
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')})"


def validate_text(value: Any, name: str, limit: int, *, required: bool) -> str:
    """Content and context are printable strings within ``limit`` characters.

    NUL bytes and other control characters (tab and line breaks aside) would reach terminals,
    CSV files and the prompt as invisible commands; a lone surrogate cannot be encoded as UTF-8,
    so it would break every later export or page render of the memory; bidi controls and other
    invisible format characters would show a reader (and the inspector) different text.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise MemoryValidationError(f"{name} must be text, got {kind_of(value)}")
    if "\x00" in value:
        raise MemoryValidationError(f"{name} contains a NUL byte")
    control = _CONTROL.search(value)
    if control:
        raise MemoryValidationError(
            f"{name} contains the control character U+{ord(control.group()):04X}"
        )
    if _SURROGATE.search(value):
        raise MemoryValidationError(f"{name} contains an unpaired surrogate (invalid Unicode)")
    invisible = invisible_characters(value)
    if invisible:
        raise MemoryValidationError(
            f"{name} contains the invisible character {describe_character(invisible[0])}, "
            "which would make it display as something other than what is stored"
        )
    if required and not value.strip():
        raise MemoryValidationError(f"{name} must not be empty")
    if len(value) > limit:
        raise MemoryValidationError(f"{name} is {len(value):,} characters; the limit is {limit:,}")
    return value.strip()


def plan_writes(
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
        where = describe_change(change, number)
        try:
            write = validated_write(change, current, source, thread_id, timestamp)
        except MemoryValidationError as error:
            raise MemoryValidationError(f"{where}: {error}") from None
        if write.key in touched:
            raise MemoryValidationError(f"{where}: key {write.key} appears more than once")
        touched.add(write.key)
        writes.append(write)
    return writes


def describe_change(change: Change, number: int) -> str:
    """How an error names a change: its label, else its position (and key)."""
    return change.label or f"Change {number}" + (f" (key {change.key})" if change.key else "")


def validated_write(
    change: Change,
    current: Mapping[str, Memory],
    source: Source,
    thread_id: str | None,
    timestamp: str,
) -> MemoryWrite:
    """What one change writes, checked against the current memories."""
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
    created_at = valid_timestamp(change.fields.get("created_at"), "created_at") or timestamp
    carried_thread = valid_thread_id(change.fields.get("thread_id"))
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


def is_number(value: Any) -> bool:
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


def valid_thread_id(value: Any) -> str | None:
    """An imported thread id, or ``None`` when empty."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MemoryValidationError(f"thread_id must be text, got {kind_of(value)}")
    if not THREAD_ID_PATTERN.fullmatch(value):
        raise MemoryValidationError(
            f"thread_id {value[:40]!r} must be 1-128 letters, digits or _ - . : @"
        )
    return value


def kind_of(value: Any) -> str:
    """A value's type as a JSON file spells it, for error messages."""
    names = {bool: "boolean", int: "number", float: "number", list: "list", dict: "object"}
    return names.get(type(value), type(value).__name__)


def valid_timestamp(value: Any, name: str) -> str | None:
    """An imported time as ISO 8601 in UTC, or ``None`` when empty."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MemoryValidationError(f"{name} must be an ISO 8601 time, got {kind_of(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MemoryValidationError(f"{name} {value[:40]!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat(timespec="milliseconds")


def carried_fields(value: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a re-created memory keeps (when it was made, in which thread)."""
    return {k: value[k] for k in ("created_at", "thread_id") if value.get(k)}
