"""One clear sentence for each way a model call can fail, for the chat page and the command line.

A failed turn is described twice: live, from the exception, and after a reload, from the text the
checkpoint recorded for the failed task (LangGraph stores ``repr(error)``, not the exception). Both
paths end in the same sentences, so the page says the same thing before and after a reload.
"""

from __future__ import annotations

import re
import sys

import httpx

AUTH = "The model server rejected the API key (401): check OPENAI_API_KEY."
FORBIDDEN = "The model server refused access to this model (403)."
UNKNOWN_MODEL = "The model server does not know this model (404): check the model name."
RATE_LIMITED = "The model server is rate limiting requests (429): wait a moment and retry."
TIMEOUT = "The model server did not answer in time (timeout): retry, or raise the timeout."
UNREACHABLE = "Could not reach the model server (connection failed): check the base URL."
CUT_OFF = "The model's reply was cut off half-way: retry."
UNFINISHED = "The reply to this message did not finish: retry."

_BY_STATUS = {401: AUTH, 403: FORBIDDEN, 404: UNKNOWN_MODEL, 429: RATE_LIMITED}
_RECORDED_STATUS = re.compile(r"Error code: (\d{3})")


class IncompleteReplyError(ConnectionError):
    """The model's stream ended without a finish reason: the connection closed mid-reply.

    A server that closes a close-delimited stream early looks like a normal end of stream to the
    HTTP client, so without this check a truncated reply would be stored as if it were complete.
    """


def describe_model_error(error: BaseException) -> str:
    """What went wrong with the model, in one line a user can act on (no traceback, no key)."""
    if isinstance(error, _openai("APIStatusError")):
        return _status_sentence(error.status_code)  # type: ignore[attr-defined]
    if isinstance(error, (*_openai("APITimeoutError"), httpx.TimeoutException, TimeoutError)):
        return TIMEOUT
    if isinstance(
        error, (*_openai("APIConnectionError"), httpx.ConnectError, ConnectionRefusedError)
    ):
        return UNREACHABLE
    if isinstance(error, (IncompleteReplyError, httpx.RemoteProtocolError, httpx.ReadError)):
        return CUT_OFF
    if isinstance(error, _openai("APIError")):
        return CUT_OFF
    return f"The turn failed: {type(error).__name__}: {_first_line(str(error))}"


def describe_recorded_error(recorded: str | None) -> str:
    """The same sentence from a checkpoint's record of the error, e.g. ``"X('Error code: 429')"``.

    ``None`` (the process stopped mid-turn, so nothing was recorded) reads as an unfinished reply.
    """
    if not recorded:
        return UNFINISHED
    name = recorded.split("(", 1)[0]
    status = _RECORDED_STATUS.search(recorded)
    if status:
        return _status_sentence(int(status.group(1)))
    if "Timeout" in name:
        return TIMEOUT
    if "Connect" in name:
        return UNREACHABLE
    if any(part in name for part in ("IncompleteReply", "RemoteProtocol", "ReadError")):
        return CUT_OFF
    return f"The turn failed: {_first_line(recorded)}"


def _openai(name: str) -> tuple[type[BaseException], ...]:
    """The ``openai`` exception class, if the client was ever imported; else nothing to match.

    Only a run with a real model server imports it (over a second of start-up), and no error can
    be one of its classes before it is imported.
    """
    module = sys.modules.get("openai")
    return (getattr(module, name),) if module else ()


def _status_sentence(status: int) -> str:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return f"The model server failed ({status}): retry in a moment."
    return f"The model server answered with an error ({status})."


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else "no details"
