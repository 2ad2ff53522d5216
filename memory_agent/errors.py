"""One clear sentence for each way a model call can fail, for the chat page and the command line."""

from __future__ import annotations

import httpx
import openai


def describe_model_error(error: BaseException) -> str:
    """What went wrong with the model, in one line a user can act on (no traceback, no key)."""
    if isinstance(error, openai.AuthenticationError):
        return "The model server rejected the API key (401): check OPENAI_API_KEY."
    if isinstance(error, openai.PermissionDeniedError):
        return "The model server refused access to this model (403)."
    if isinstance(error, openai.NotFoundError):
        return "The model server does not know this model (404): check the model name."
    if isinstance(error, openai.RateLimitError):
        return "The model server is rate limiting requests (429): wait a moment and retry."
    if isinstance(error, openai.APITimeoutError):
        return "The model server did not answer in time (timeout): retry, or raise the timeout."
    if isinstance(error, openai.APIConnectionError):
        return "Could not reach the model server (connection failed): check the base URL."
    if isinstance(error, openai.InternalServerError):
        return f"The model server failed ({error.status_code}): retry in a moment."
    if isinstance(error, openai.APIStatusError):
        return f"The model server answered with an error ({error.status_code})."
    if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError, openai.APIError)):
        return "The model's reply was cut off half-way: retry."
    return f"The turn failed: {type(error).__name__}: {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else "no details"
