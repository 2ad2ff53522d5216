"""What a memory is: its record, a requested change, a write, and a history event."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from langgraph.store.base import Item

from memory_agent.configuration import validate_user_id

MEMORY_NAMESPACE = "memories"
HISTORY_NAMESPACE = "memory_history"
MAX_CONTENT_LENGTH = 2_000
MAX_CONTEXT_LENGTH = 2_000
SOURCES = ("agent", "inspector", "import")
THREAD_ID_PATTERN = re.compile(r"^[\w\-.:@]{1,128}$")
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
    checkpoint_id: str | None = None
    """The checkpoint the agent's turn ran from when it made the change: its provenance."""
    batch: str | None = None
    """Shared by the changes one save made together (a delete all, an import, a table save), so
    they can be undone together; ``None`` for a change made alone."""


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
    """Where a user's memory change history lives."""
    return (HISTORY_NAMESPACE, validate_user_id(user_id))


def now_iso() -> str:
    """Now, in UTC, as stored in memories and history events."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_memory(item: Item) -> Memory:
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
