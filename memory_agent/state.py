"""The graph's state: the recent turns of a conversation, as LangGraph messages.

The whole conversation lives in ``memory_agent.conversations.transcript``; the state keeps only
what the model is sent, so loading and folding a thread costs the same at message 1,000 as at 20.
"""

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
"""Messages the state keeps (and the model is sent): the latest turns that fit, and never less
than the previous turn and the current one, so every message is in the window at the next model
call, which is when ``transcript.record`` keeps it."""


def add_message_batches(messages: list[AnyMessage] | None, writes: Sequence) -> list[AnyMessage]:
    """``add_messages`` folded over a batch of writes (what ``DeltaChannel`` replays)."""
    return reduce(add_messages, writes, messages or [])


def recent_turns(messages: list[AnyMessage], size: int = WINDOW_MESSAGES) -> list[AnyMessage]:
    """The last ``size`` messages, widened to start at a user's message (a turn is never cut).

    Always at least the previous turn whole plus the current one, however long they are: the
    previous turn's final reply is recorded at the current turn's first model call. A tool
    result is never kept without the call it answers, so the model gets a history it accepts.
    """
    if len(messages) <= size:
        return messages
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if not humans:
        return messages
    fits = next((i for i in humans if i >= len(messages) - size), len(messages))
    previous_turn = humans[-2] if len(humans) > 1 else humans[-1]
    return messages[min(fits, previous_turn) :]


def add_recent_batches(messages: list[AnyMessage] | None, writes: Sequence) -> list[AnyMessage]:
    """``add_message_batches``, then only the recent turns, so loading a thread is bounded.

    The start only moves forward as messages are added, so trimming between batches or only
    after them leaves the same window, as ``DeltaChannel`` requires.
    """
    return recent_turns(add_message_batches(messages, writes))


class State(TypedDict):
    """The recent turns of one conversation (``WINDOW_MESSAGES``): what the model is sent.

    Stored as a ``DeltaChannel``: each checkpoint keeps only its new messages, with a full snapshot
    every ``SNAPSHOT_EVERY`` updates. Before the window, a 500-turn thread rebuilt 3,000 messages
    per turn (turn 500 cost 2–5× turn 10); now it folds at most a few dozen.
    """

    messages: Annotated[
        list[AnyMessage], DeltaChannel(add_recent_batches, snapshot_frequency=SNAPSHOT_EVERY)
    ]


class WholeState(TypedDict):
    """The state as it was before the window: every message, read to upgrade older threads.

    A thread written before the window holds its whole conversation in its checkpoints; reading
    them with this reducer recovers it for the transcript (``transcript.record_written_before``).
    """

    messages: Annotated[
        list[AnyMessage], DeltaChannel(add_message_batches, snapshot_frequency=SNAPSHOT_EVERY)
    ]
