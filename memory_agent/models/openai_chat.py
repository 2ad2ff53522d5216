"""ChatOpenAI made strict: a cut-off stream fails, and tool calls must carry JSON arguments.

Its own module so that only a run with a real model server imports ``langchain_openai`` and the
``openai`` client (over a second of start-up); the offline demo model never does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.tool import invalid_tool_call
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

from memory_agent.models.errors import IncompleteReplyError


class CompleteReplyChatOpenAI(ChatOpenAI):
    """ChatOpenAI that fails a cut-off stream and refuses tool calls whose arguments are not JSON.

    A server that drops a close-delimited stream half-way looks like a normal end of stream to
    httpx; raising here keeps the turn pending, so the page offers Retry instead of storing a
    truncated reply as if it were complete.

    Streamed tool-call arguments are parsed leniently by LangChain (``parse_partial_json``): a
    truncated ``{"content": "x", `` becomes ``{"content": "x"}`` and would be saved as a memory.
    The raw text is kept while streaming and checked strictly once the reply is complete; a call
    that fails becomes an invalid tool call, which the graph answers with a tool error.
    """

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        finished = False
        ids: dict[int, str] = {}
        arguments: dict[int, str] = {}
        for chunk in super()._stream(*args, **kwargs):
            finished = finished or bool((chunk.generation_info or {}).get("finish_reason"))
            for part in getattr(chunk.message, "tool_call_chunks", []):
                index = part.get("index") or 0
                if part.get("id"):
                    ids.setdefault(index, part["id"])
                arguments[index] = arguments.get(index, "") + (part.get("args") or "")
            yield chunk
        if not finished:
            raise IncompleteReplyError("The model's stream ended before the reply was finished.")
        if arguments:
            raw = {ids.get(index, ""): text for index, text in arguments.items()}
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="", response_metadata={RAW_ARGUMENTS_KEY: raw})
            )

    def invoke(self, *args: Any, **kwargs: Any) -> AIMessage:
        """The reply, with tool calls whose arguments are not JSON moved to invalid calls."""
        return strict_tool_calls(super().invoke(*args, **kwargs))


RAW_ARGUMENTS_KEY = "memory_agent_raw_tool_arguments"
"""Carries the streamed tool-call arguments, as sent, from ``_stream`` to ``invoke``."""


def strict_tool_calls(message: AIMessage) -> AIMessage:
    """Move tool calls whose raw arguments are not a JSON object to ``invalid_tool_calls``."""
    metadata = dict(message.response_metadata)
    raw: dict[str, str] = metadata.pop(RAW_ARGUMENTS_KEY, None) or {}
    valid, invalid = [], list(message.invalid_tool_calls)
    for call in message.tool_calls:
        text = raw.get(call["id"] or "")
        if text is None or _is_json_object(text):
            valid.append(call)
        else:
            invalid.append(
                invalid_tool_call(
                    name=call["name"], args=text, id=call["id"], error="not a JSON object"
                )
            )
    return message.model_copy(
        update={"tool_calls": valid, "invalid_tool_calls": invalid, "response_metadata": metadata}
    )


def _is_json_object(text: str) -> bool:
    """Strict JSON (no repair of truncated text); empty arguments mean a call with none."""
    if not text.strip():
        return True
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
