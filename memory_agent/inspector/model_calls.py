"""Every model call of a turn, rebuilt from stored state: what was sent, recalled and answered.

``call_model`` sends ``[SystemMessage(recall.system_prompt), *messages]``: the system prompt comes
from the ``Recall`` record kept in the reply's ``response_metadata`` (rendered by the graph's own
``render_system_prompt``), and the messages are the recent turns before the reply
(``state.recent_turns``, the window the state held then). A turn that saves a memory has two
calls (the one that decided to save, and the confirmation); both are listed, each with the tool
calls it made and their results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from memory_agent.inspector.views import message_rows, plural
from memory_agent.message_text import message_text
from memory_agent.prompts import SYSTEM_PROMPT
from memory_agent.recall import Recall
from memory_agent.state import recent_turns

USER_INFO_SLOT = "{user_info}"


@dataclass(frozen=True)
class ToolExchange:
    """One tool call a model call made, and the result ``store_memory`` answered it with."""

    name: str
    args: Any
    call_id: str
    result: str
    status: str
    """``success``, ``error``, or ``pending`` when the turn stopped before it was carried out."""


@dataclass(frozen=True)
class ModelCall:
    """One ``call_model`` step: its prompt, its recall, its reply, its tools, its token usage."""

    number: int
    """1 for the turn's first call."""
    recall: Recall
    sent: list[dict[str, Any]]
    """The conversation messages sent after the system prompt, as ``views.message_rows``."""
    reply: str
    tools: list[ToolExchange]
    usage: dict[str, int] | None
    """``usage_metadata`` of the reply (input, output, total tokens) when the server sent it."""
    reply_id: str

    @property
    def system_prompt(self) -> str:
        """The system prompt exactly as sent."""
        return self.recall.system_prompt

    @property
    def shows_memories(self) -> bool:
        """Whether the prompt template has the slot the recalled memories are rendered into."""
        return USER_INFO_SLOT in (self.recall.template or SYSTEM_PROMPT)

    @property
    def summary(self) -> str:
        """What this call did, in a few words: the tools it asked for, or that it answered."""
        if self.tools:
            names = sorted({t.name for t in self.tools})
            return f"asked for {plural(len(self.tools), 'tool call')}: {', '.join(names)}"
        return "answered in words"


@dataclass(frozen=True)
class TurnStart:
    """Where a turn begins: the user's message, and its position in the thread."""

    number: int
    index: int
    text: str


def turns(messages: Sequence[BaseMessage]) -> list[TurnStart]:
    """The thread's turns, oldest first, each named by the user's message that opened it."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    return [
        TurnStart(number, index, message_text(messages[index]))
        for number, index in enumerate(starts, start=1)
    ]


def model_calls(messages: Sequence[BaseMessage], turn: TurnStart | None = None) -> list[ModelCall]:
    """Every model call of one turn (the last one when none is given), in the order made."""
    started = turns(messages)
    turn = turn or (started[-1] if started else None)
    begin = turn.index if turn else 0
    later = [s.index for s in started if s.index > begin]
    end = later[0] if later else len(messages)
    results = {m.tool_call_id: m for m in messages[begin:end] if isinstance(m, ToolMessage)}
    calls: list[ModelCall] = []
    for index in range(begin, end):
        message = messages[index]
        recall = Recall.of(message)
        if recall is None:  # not a model reply (or the turn limit's own sentence)
            continue
        assert isinstance(message, AIMessage)
        calls.append(
            ModelCall(
                number=len(calls) + 1,
                recall=recall,
                sent=message_rows(recent_turns(list(messages[:index]))),
                reply=message_text(message),
                tools=[
                    _exchange(call, results.get(call.get("id") or "")) for call in _calls(message)
                ],
                usage=dict(message.usage_metadata) if message.usage_metadata else None,
                reply_id=message.id or "",
            )
        )
    return calls


def _calls(message: AIMessage) -> list[dict[str, Any]]:
    return [*message.tool_calls, *message.invalid_tool_calls]


def _exchange(call: dict[str, Any], result: ToolMessage | None) -> ToolExchange:
    return ToolExchange(
        name=call.get("name") or "",
        args=call.get("args"),
        call_id=call.get("id") or "",
        result=message_text(result) if result else "",
        status=(result.status or "success") if result else "pending",
    )
