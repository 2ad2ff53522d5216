"""One clear sentence for each way a model call can fail, for the chat page and the command line.

A failed turn is described twice: live, from the exception, and after a reload, from the text the
checkpoint recorded for the failed task (LangGraph stores ``repr(error)``, not the exception). Both
paths end in the same sentences, so the page says the same thing before and after a reload.

The server's own words are kept (what it says is usually the fix: vLLM names the flags it
lacks), trimmed to one line and quoted as plain text, which every page shows inert. A
retry is suggested only where one can help: not for 400, 401, 403, 404, 422 or 501.
"""

from __future__ import annotations

import ast
import re
import sys

import httpx

from memory_agent.models.embeddings import EmbeddingServerError

AUTH = "The model server rejected the API key (401): check OPENAI_API_KEY."
FORBIDDEN = "The model server refused access to this model (403): check the key's permissions."
UNKNOWN_MODEL = "The model server does not know this model (404): check the model name."
WRONG_URL = (
    "The model server has no chat endpoint at this address (404): check the base URL "
    "(it usually ends in /v1)."
)
RATE_LIMITED = "The model server is rate limiting requests (429): wait a moment and retry."
TIMEOUT = "The model server did not answer in time (timeout): retry, or raise the timeout."
DEADLINE = (
    "The model's reply ran past its deadline (MEMORY_AGENT_MODEL_CALL_DEADLINE): retry, or "
    "raise that deadline."
)
_DEADLINE_ERROR = "ModelCallTimeout"
"""``deadlines.ModelCallTimeout`` by name (its subclass is a stall, which TIMEOUT describes)."""
UNREACHABLE = "Could not reach the model server (connection failed): check the base URL."
CUT_OFF = "The model's reply was cut off half-way: retry."
UNFINISHED = "The reply to this message did not finish: retry."
NOT_A_STREAM = (
    "The model server's answer was not a chat reply (a web page, or no stream events): "
    "check the base URL (it usually ends in /v1)."
)
MALFORMED = (
    "The model server sent a malformed stream chunk (not JSON): your message is kept; retry."
)
TOOL_CHOICE = (
    "The model server refuses tool calls (400): start vLLM with --enable-auto-tool-choice "
    "--tool-call-parser <parser for this model> (e.g. hermes for Qwen and Hermes models)."
)
CONTEXT_FULL = (
    "The conversation no longer fits the model's context window: start a new conversation, "
    "or give the server a larger context (llama.cpp: --ctx-size; vLLM: --max-model-len)."
)
TRUNCATED_NOTE = "(The reply stopped here: the model reached its output token limit.)"
FILTERED_NOTE = "(The model server's content filter withheld the rest of this reply.)"
"""Appended to a reply whose ``finish_reason`` is ``length`` / ``content_filter``, so the stored
reply says why it is short (or empty) instead of passing for a complete answer."""

MAX_SAID = 200
"""How much of the server's own message a sentence keeps."""
_NO_RETRY = {400, 401, 403, 404, 405, 413, 422, 501}
_RECORDED_STATUS = re.compile(r"Error code: (\d{3})(?: - (.*))?", re.DOTALL)
_KEY_LIKE = re.compile(r"\b(?:sk|pk|rk)-[^\s'\"`]+|Bearer\s+\S+", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


class IncompleteReplyError(ConnectionError):
    """The model's stream ended without a finish reason: the connection closed mid-reply.

    A server that closes a close-delimited stream early looks like a normal end of stream to the
    HTTP client, so without this check a truncated reply would be stored as if it were complete.
    """


class ModelServerError(Exception):
    """A fault of the model server's answer that openai's client does not raise itself.

    Not an ``openai`` class: this module is imported by the offline chat too, which never loads
    the client.
    """


class NotAStreamError(ModelServerError):
    """Status 200 but no stream event at all: a web page (wrong base URL) or a non-stream body."""


class MalformedStreamError(ModelServerError):
    """A stream event whose data is not JSON; the turn stays pending, so a retry can answer it."""


class StreamReportedError(ModelServerError):
    """An error the server sent inside the stream (``data: {"error": ...}``) after it began.

    Its text is ``Error code: N - message`` when the server gave a code, like a status error's,
    so the recorded ``repr`` still carries the status and the server's words.
    """


def describe_model_error(error: BaseException) -> str:
    """What went wrong with the model, in one line a user can act on (no traceback, no key)."""
    if isinstance(error, EmbeddingServerError):  # its own sentence: not the chat model's fault
        return str(error)
    if isinstance(error, _openai("APIStatusError")):
        return _status_sentence(error.status_code, server_text(error.body) or _said(str(error)))
    if isinstance(error, StreamReportedError):
        return _stream_sentence(str(error))
    if isinstance(error, NotAStreamError):
        return NOT_A_STREAM
    if isinstance(error, MalformedStreamError):
        return MALFORMED
    if type(error).__name__ == _DEADLINE_ERROR:
        return DEADLINE
    if isinstance(error, (*_openai("APITimeoutError"), httpx.TimeoutException, TimeoutError)):
        return TIMEOUT
    if isinstance(
        error, (*_openai("APIConnectionError"), httpx.ConnectError, ConnectionRefusedError)
    ):
        return UNREACHABLE
    if isinstance(error, (IncompleteReplyError, httpx.RemoteProtocolError, httpx.ReadError)):
        return CUT_OFF
    if isinstance(error, _openai("APIError")):  # an error event openai's client raised itself
        return _stream_sentence(str(error))
    return f"The turn failed: {type(error).__name__}: {_first_line(str(error))}"


def describe_recorded_error(recorded: str | None) -> str:
    """The same sentence from a checkpoint's record of the error, e.g. ``"X('Error code: 429')"``.

    ``None`` (the process stopped mid-turn, so nothing was recorded) reads as an unfinished reply.
    """
    if not recorded:
        return UNFINISHED
    name = recorded.split("(", 1)[0]
    text = _recorded_text(recorded, name)
    if name == EmbeddingServerError.__name__:
        return _first_line(text)
    if name == _DEADLINE_ERROR:
        return DEADLINE
    if "StreamReported" in name:
        return _stream_sentence(text)
    status = _RECORDED_STATUS.match(text)
    if status:
        return _status_sentence(int(status.group(1)), _said(text))
    for part, sentence in (
        ("NotAStream", NOT_A_STREAM),
        ("MalformedStream", MALFORMED),
        ("Timeout", TIMEOUT),
        ("Connect", UNREACHABLE),
        ("IncompleteReply", CUT_OFF),
        ("RemoteProtocol", CUT_OFF),
        ("ReadError", CUT_OFF),
    ):
        if part in name:
            return sentence
    if name == "APIError":  # an error event openai's client raised itself
        return _stream_sentence(text)
    return f"The turn failed: {_first_line(recorded)}"


def _openai(name: str) -> tuple[type[BaseException], ...]:
    """The ``openai`` exception class, if the client was ever imported; else nothing to match.

    Only a run with a real model server imports it (over a second of start-up), and no error can
    be one of its classes before it is imported.
    """
    module = sys.modules.get("openai")
    return (getattr(module, name),) if module else ()


def server_text(body: object) -> str:
    """The server's own message from an error body, whichever shape the server uses.

    OpenAI and vLLM send ``{"error": {"message": ...}}`` (or vLLM's flat ``{"message": ...}``),
    Ollama ``{"error": "..."}``, FastAPI-style routes ``{"detail": ...}``, a proxy an HTML page.
    """
    if isinstance(body, dict):
        for field in ("message", "error", "detail"):
            if body.get(field):
                return server_text(body[field])
        return ""
    return str(body) if body else ""


def error_status(body: object) -> int | None:
    """The HTTP-like status a stream error event names in its ``code``, if it names one."""
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return code if isinstance(code, int) and 100 <= code <= 599 else None


def _status_sentence(status: int, said: str) -> str:
    lowered = said.lower()
    if "enable-auto-tool-choice" in lowered or "tool-call-parser" in lowered:
        return _with_said(TOOL_CHOICE, said)
    if _is_context_full(lowered):
        return _with_said(CONTEXT_FULL, said)
    if status == 401:
        return AUTH  # its text can echo part of the key
    if status == 404:
        return _with_said(UNKNOWN_MODEL if "model" in lowered else WRONG_URL, said)
    known = {403: FORBIDDEN, 429: RATE_LIMITED}
    if status in known:
        return _with_said(known[status], said)
    if status == 501:
        return _with_said("The model server does not offer this endpoint (501).", said)
    if status >= 500:
        return _with_said(f"The model server failed ({status}): retry in a moment.", said)
    advice = "" if status in _NO_RETRY else " Retry in a moment."
    return _with_said(f"The model server refused the request ({status}).{advice}", said)


def _stream_sentence(text: str) -> str:
    """An error event after the reply began: the server's status (if given) decides the advice."""
    status = _RECORDED_STATUS.match(text)
    said = _said(text)
    if _is_context_full(said.lower()):
        return _with_said(CONTEXT_FULL, said)
    if status and int(status.group(1)) in _NO_RETRY:
        code = status.group(1)
        return _with_said(f"The model server stopped the reply with an error ({code}).", said)
    return _with_said("The model server stopped the reply with an error: retry.", said)


def _is_context_full(lowered: str) -> bool:
    return "context" in lowered and any(
        word in lowered for word in ("size", "length", "window", "exceed", "too long")
    )


def _said(text: str) -> str:
    """The server's message from ``Error code: N - message`` (or the whole text)."""
    match = _RECORDED_STATUS.match(text)
    if match:
        return match.group(2) or ""
    return text


def _with_said(sentence: str, said: str) -> str:
    """The sentence, then the server's own words in quotes: one line, no key, no markup.

    Plain text: each page escapes it where it renders (a code span here would be escaped twice).
    """
    text = _KEY_LIKE.sub("[key]", _TAG.sub(" ", said))
    text = " ".join(text.split())
    if not text:
        return sentence
    if len(text) > MAX_SAID:
        text = text[: MAX_SAID - 1].rstrip() + "…"
    return f"{sentence} The server said: “{text}”"


def _recorded_text(recorded: str, name: str) -> str:
    """The exception's message from its ``repr``, e.g. ``X('Error code: 404 - ...')``."""
    inner = recorded[len(name) + 1 : -1] if recorded.endswith(")") else ""
    try:
        value = ast.literal_eval(inner)
    except (ValueError, SyntaxError):
        return inner or recorded
    return value[0] if isinstance(value, tuple) and value else str(value)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else "no details"
