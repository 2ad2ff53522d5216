"""The graph's state: the conversation, as LangGraph messages."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Annotated

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import add_messages
from typing_extensions import TypedDict

SNAPSHOT_EVERY = 30
"""Updates between full snapshots of the message list (measured best at 500 turns: see bench)."""

WINDOW_MESSAGES = 40
"""Messages the bounded state keeps (and the model is sent): the latest turns that fit.

A turn is at most 17 messages (the user's, 6 model calls, 10 tool results), so every message
stays in the window for at least one model call, which is when ``transcript.record`` keeps it."""


def add_message_batches(messages: list[AnyMessage] | None, writes: Sequence) -> list[AnyMessage]:
    """``add_messages`` folded over a batch of writes (what ``DeltaChannel`` replays)."""
    return reduce(add_messages, writes, messages or [])


def recent_turns(messages: list[AnyMessage], size: int = WINDOW_MESSAGES) -> list[AnyMessage]:
    """The last ``size`` messages, starting at a user's message (a turn is never cut in two).

    A tool result is never kept without the call it answers, so the model always gets a history
    it accepts. A single turn longer than ``size`` is kept whole.
    """
    if len(messages) <= size:
        return messages
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    start = next((i for i in humans if i >= len(messages) - size), None)
    if start is None:
        start = humans[-1] if humans else 0
    return messages[start:]


def add_recent_batches(messages: list[AnyMessage] | None, writes: Sequence) -> list[AnyMessage]:
    """``add_message_batches``, then only the recent turns, so loading a thread is bounded.

    Cutting a prefix keeps the fold batching-invariant, as ``DeltaChannel`` requires: trimming
    between batches or only after them leaves the same window.
    """
    return recent_turns(add_message_batches(messages, writes))


class State(TypedDict):
    """The messages of one conversation; ``add_messages`` appends, or replaces by id.

    Stored as a ``DeltaChannel``: each checkpoint keeps only its new messages, with a full snapshot
    every ``SNAPSHOT_EVERY`` updates. A plain list channel copies the whole conversation into every
    checkpoint, which took 309 MB on disk for a 500-turn thread; this takes 9 MB.
    """

    messages: Annotated[
        list[AnyMessage], DeltaChannel(add_message_batches, snapshot_frequency=SNAPSHOT_EVERY)
    ]


class BoundedState(TypedDict):
    """The recent turns of one conversation (``WINDOW_MESSAGES``): what the model is sent.

    The whole conversation is kept apart by ``memory_agent.conversations.transcript``, so a turn
    at message 1,000 loads and folds 40 messages instead of 1,000.
    """

    messages: Annotated[
        list[AnyMessage], DeltaChannel(add_recent_batches, snapshot_frequency=SNAPSHOT_EVERY)
    ]
