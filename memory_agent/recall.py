"""The recall record: what the model saw on one call, stored with the reply it produced.

``call_model`` searches the user's memories for the latest message and renders them into the
system prompt. The record of that search (query, time, memories with scores, the template when it
is not the default) is kept in the AI message's ``response_metadata``, so the chat, the inspector
and the command line rebuild the exact prompt from stored state with the graph's own code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.store.base import BaseStore

from memory_agent import memories
from memory_agent.configuration import Configuration
from memory_agent.message_text import message_text
from memory_agent.prompts import SYSTEM_PROMPT, render_system_prompt

RECALL_KEY = "memory_agent_recall"
"""Key in each AI message's ``response_metadata`` for the recall record of its prompt."""


@dataclass(frozen=True)
class Recall:
    """The memories recalled for one model call, and the prompt they were rendered into."""

    query: str
    time: str
    memories: tuple[Mapping[str, Any], ...]
    """Each ``{"key", "content", "context", "score"}``, best match first."""
    template: str | None = None
    """The system prompt template when it was not the default (else ``None``, to keep it small)."""
    total: int | None = None
    """How many memories the user had (``None`` in records older than this field)."""

    @property
    def system_prompt(self) -> str:
        """The system prompt exactly as the model received it."""
        template = self.template or SYSTEM_PROMPT
        return render_system_prompt(template, self.memories, self.time, self.total)

    @property
    def summary(self) -> str:
        """What was recalled, in one wording for the chat, the inspector and the command line.

        "Recalled the 10 most relevant of 24 memories", or "Recalled 3 memories".
        """
        shown = len(self.memories)
        if self.total and self.total > shown:
            return f"Recalled the {shown} most relevant of {self.total} memories"
        return f"Recalled {shown} memor{'y' if shown == 1 else 'ies'}"

    def as_metadata(self) -> dict[str, Any]:
        """The JSON-ready form stored under ``RECALL_KEY``."""
        return {
            "query": self.query,
            "time": self.time,
            "memories": [dict(m) for m in self.memories],
            "system_prompt": self.template,
            "total": self.total,
        }

    @classmethod
    def from_metadata(cls, record: Mapping[str, Any]) -> Recall:
        """Read a stored record (older records have the same keys)."""
        return cls(
            query=record.get("query", ""),
            time=record["time"],
            memories=tuple(record.get("memories") or ()),
            template=record.get("system_prompt"),
            total=record.get("total"),
        )

    @classmethod
    def of(cls, message: BaseMessage) -> Recall | None:
        """The record stored with an AI reply, if it has one."""
        if not isinstance(message, AIMessage):
            return None
        record = message.response_metadata.get(RECALL_KEY)
        return cls.from_metadata(record) if record else None


def recall(store: BaseStore, settings: Configuration, messages: Sequence[AnyMessage]) -> Recall:
    """Search the user's memories for the latest message: the record of what the model will see."""
    query = recall_query(messages)
    found = memories.search_memories(store, settings.user_id, query, limit=settings.recall_limit)
    return Recall(
        query=query,
        time=datetime.now(UTC).isoformat(),
        memories=tuple(
            {"key": m.key, "content": m.content, "context": m.context, "score": m.score}
            for m in found
        ),
        template=None if settings.system_prompt == SYSTEM_PROMPT else settings.system_prompt,
        total=count_memories(store, settings.user_id, len(found), settings.recall_limit),
    )


def count_memories(store: BaseStore, user_id: str, found: int, limit: int) -> int:
    """How many memories the user has, asked only when recall filled its limit.

    The SQLite store counts in one indexed query; other stores are paged (capped at 10,000, a
    count past which "the 10 most relevant of 10,000" is still true).
    """
    if found < limit:
        return found
    namespace = memories.memory_namespace(user_id)
    count_items = getattr(store, "count_items", None)
    if count_items is not None:
        return count_items(namespace)
    items = store.search(namespace, limit=10_000)
    return sum(item.namespace == namespace for item in items)


def recall_query(messages: Sequence[AnyMessage]) -> str:
    """The user's latest message: what this turn is about (the agent's replies add only noise)."""
    latest = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    return message_text(latest) if latest else ""


def last_recall(messages: Sequence[BaseMessage]) -> Recall | None:
    """The record of the latest model call in ``messages``."""
    return next((r for r in map(Recall.of, reversed(messages)) if r is not None), None)
