"""ChatOpenAI made strict: how a stream ended is said, and tool calls must carry JSON arguments.

Its own module so that only a run with a real model server imports ``langchain_openai`` and the
``openai`` client (over a second of start-up); the offline demo model never does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.tool import invalid_tool_call
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

from memory_agent.models import errors


class CompleteReplyChatOpenAI(ChatOpenAI):
    """ChatOpenAI that says how a stream really ended and refuses tool calls that are not JSON.

    A server that drops a close-delimited stream half-way looks like a normal end of stream to
    httpx; raising here keeps the turn pending, so the page offers Retry instead of storing a
    truncated reply as if it were complete. Likewise a 200 with no stream event (a web page at a
    wrong base URL), a chunk that is not JSON, and an error event inside the stream each raise
    their own error (``models.errors``), with the server's words kept. A reply the server ended
    for ``length`` or ``content_filter`` is kept, with a note saying so appended to its text.

    Streamed tool-call arguments are parsed leniently by LangChain (``parse_partial_json``): a
    truncated ``{"content": "x", `` becomes ``{"content": "x"}`` and would be saved as a memory.
    The raw text is kept while streaming and checked strictly once the reply is complete; a call
    that fails becomes an invalid tool call, which the graph answers with a tool error.
    """

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        received = 0
        finish_reason = None
        ids: dict[int, str] = {}
        arguments: dict[int, str] = {}
        for chunk in self._stream_with_clear_errors(*args, **kwargs):
            received += 1
            finish_reason = (chunk.generation_info or {}).get("finish_reason") or finish_reason
            for part in getattr(chunk.message, "tool_call_chunks", []):
                index = part.get("index") or 0
                if part.get("id"):
                    ids.setdefault(index, part["id"])
                arguments[index] = arguments.get(index, "") + (part.get("args") or "")
            yield chunk
        if not received:
            raise errors.NotAStreamError("The answer had status 200 but no stream event.")
        if not finish_reason:
            raise errors.IncompleteReplyError("The stream ended before the reply was finished.")
        note = {"length": errors.TRUNCATED_NOTE, "content_filter": errors.FILTERED_NOTE}
        if finish_reason in note:
            yield ChatGenerationChunk(message=AIMessageChunk(content=f"\n\n{note[finish_reason]}"))
        if arguments:
            raw = {ids.get(index, ""): text for index, text in arguments.items()}
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="", response_metadata={RAW_ARGUMENTS_KEY: raw})
            )

    def _stream_with_clear_errors(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        """ChatOpenAI's stream, each failure raised as the error that says what happened."""
        received = False
        try:
            for chunk in super()._stream(*args, **kwargs):
                received = True
                yield chunk
        except openai.APIStatusError as error:
            raise _with_server_text(error) from error
        except openai.APITimeoutError:
            raise
        except openai.APIConnectionError as error:
            if not received:
                raise
            raise errors.IncompleteReplyError("The connection closed mid-reply.") from error
        except openai.APIError as error:
            raise _stream_error(error) from error
        except json.JSONDecodeError as error:
            raise errors.MalformedStreamError(f"A stream chunk is not JSON: {error}") from None

    def invoke(self, *args: Any, **kwargs: Any) -> AIMessage:
        """The reply, with tool calls whose arguments are not JSON moved to invalid calls."""
        return strict_tool_calls(super().invoke(*args, **kwargs))


MAX_RECORDED_TEXT = 1_000
"""How much of a server's error text is kept in the exception (and so in the checkpoint)."""


def _with_server_text(error: openai.APIStatusError) -> openai.APIStatusError:
    """The same error whose message carries the server's words, whatever the body's shape.

    openai's client puts the message in the text only for ``{"error": {"message": ...}}``;
    LangGraph records only ``repr(error)``, so without this a reload would lose Ollama's
    ``{"error": "..."}`` or a proxy's page, and say less than the live error did.
    """
    said = errors.server_text(error.body)[:MAX_RECORDED_TEXT]
    message = f"Error code: {error.status_code}" + (f" - {said}" if said else "")
    try:
        return type(error)(message, response=error.response, body=error.body)
    except TypeError:  # a subclass with another constructor: keep it as it is
        return error


def _stream_error(error: openai.APIError) -> errors.StreamReportedError:
    """An error event sent after the stream began (llama.cpp, vLLM), with its code if given."""
    said = (errors.server_text(error.body) or error.message)[:MAX_RECORDED_TEXT]
    status = errors.error_status(error.body)
    return errors.StreamReportedError(f"Error code: {status} - {said}" if status else said)


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
