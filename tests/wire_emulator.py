"""A local chat-completions server that speaks each real OpenAI-compatible server's dialect.

Written from the behaviours listed in STACK-NOTES ("OpenAI-compatible servers"), so the real
``ChatOpenAI`` HTTP path meets the wire shapes users' servers send, not only OpenAI's:

- ``openai``: ``call_<random>`` ids, name on the first chunk, arguments in pieces, a usage chunk.
- ``ollama``: each tool call whole in one chunk (id, index, full arguments); the finish reason in
  a separate chunk with an empty delta.
- ``llamacpp``: ``reasoning_content`` deltas, ``:`` ping comments, a ``timings`` object.
- ``vllm-hermes``: ``chatcmpl-tool-<hex>`` ids; the last argument piece rides on the chunk that
  carries ``finish_reason``.
- ``vllm-kimi``: vLLM's Kimi-K2 parser ids, ``functions.upsert_memory:0``, restarting at 0 in
  every request (the same ids in every conversation).
- ``lmstudio``: a numeric id on the first chunk only; later chunks repeat id/type/name as null.
- ``idless``: tool calls with no ``id`` at all (llama.cpp leaves an empty id out).
- ``parallel``: two calls in one reply, arguments interleaved, ids ``call_0``/``call_1`` reused
  in every request.
- ``midstream-error``: as vLLM, plus the first answer to every new user message streams some
  text and then an error event (``data: {"error": ...}`` then ``[DONE]``).

Every mode sends usage only when asked (``stream_options.include_usage``), as the real ones do.
Faults (``Reply(fault=...)``) script the error shapes those servers send; see ``FAULTS``.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.loopback_http import LoopbackServer, QuietHandler

MODES = (
    "openai",
    "ollama",
    "llamacpp",
    "vllm-hermes",
    "vllm-kimi",
    "lmstudio",
    "idless",
    "parallel",
    "midstream-error",
)

DONE = object()
"""Marks where ``data: [DONE]`` is written."""

FAULTS: dict[str, tuple[int, Any]] = {
    # A first error is a plain HTTP status with a JSON body, in each server's shape.
    "vllm-tool-flags": (
        400,
        {
            "object": "error",
            "message": '"auto" tool choice requires --enable-auto-tool-choice and '
            "--tool-call-parser to be set",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        },
    ),
    "llamacpp-context": (
        400,
        {
            "error": {
                "code": 400,
                "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 4242,
                "n_ctx": 4096,
            }
        },
    ),
    "ollama-unknown-model": (404, {"error": 'model "llama9" not found, try pulling it first'}),
    "route-404": (404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found"}}),
    "500": (500, {"error": {"message": "CUDA out of memory", "type": "server_error"}}),
    "markup-400": (400, {"error": {"message": "bad **value** <img src=x onerror=alert(1)>"}}),
    # Status 200, then something that is not a normal reply.
    "html-200": (200, "<html><body><h1>Welcome to nginx!</h1></body></html>"),
    "malformed-chunk": (200, None),
    "length": (200, None),
    "content-filter": (200, None),
    "stream-error-llamacpp": (200, None),
    "stream-error-vllm": (200, None),
}


@dataclass
class Reply:
    """One scripted answer. ``tool_calls`` holds (name, arguments-as-JSON-text) pairs."""

    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    fault: str | None = None
    """A key of ``FAULTS``: answer with that server error instead."""


USAGE = {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}


class WireEmulator(LoopbackServer):
    """Serve one mode on a free loopback port; ``url`` is the base URL to give ``ChatOpenAI``."""

    def __init__(self, mode: str = "openai") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.requests: list[dict[str, Any]] = []
        self.replies: deque[Reply] = deque()
        self.default_reply = Reply(text="Hello from the emulator.")
        self._lmstudio_ids = itertools.count(318_224_001)
        super().__init__(self._handler())

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies; in ``midstream-error`` mode the first
        answer to a new user message fails mid-stream first."""
        if self.mode == "midstream-error":
            self.replies.append(Reply(text="Let me think", fault="stream-error-vllm"))
        self.replies.extend(replies)

    def events(self, body: dict[str, Any], reply: Reply) -> list[Any]:
        """The stream for one reply: dicts are ``data:`` events, strings raw SSE lines."""
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "emulated"),
        }
        if reply.fault:
            return _fault_events(base, reply)
        calls = self._calls(reply)
        render = {
            "ollama": _ollama,
            "llamacpp": _llamacpp,
            "idless": _llamacpp,
            "vllm-hermes": _vllm,
            "vllm-kimi": _vllm,
            "midstream-error": _vllm,
            "lmstudio": _lmstudio,
            "parallel": _parallel,
        }.get(self.mode, _openai)
        events = render(base, reply.text, calls)
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": USAGE})
        return [*events, DONE]

    def _calls(self, reply: Reply) -> list[dict[str, Any]]:
        calls = []
        for index, (name, arguments) in enumerate(reply.tool_calls):
            call: dict[str, Any] = {"index": index, "name": name, "arguments": arguments}
            if self.mode == "vllm-kimi":
                call["id"] = f"functions.{name}:{index}"
            elif self.mode in ("vllm-hermes", "midstream-error"):
                call["id"] = f"chatcmpl-tool-{uuid.uuid4().hex}"
            elif self.mode == "lmstudio":
                call["id"] = str(next(self._lmstudio_ids))
            elif self.mode == "parallel":
                call["id"] = f"call_{index}"
            elif self.mode == "ollama":
                call["id"] = f"call_{uuid.uuid4().hex[:8]}"
            elif self.mode != "idless":
                call["id"] = f"call_{uuid.uuid4().hex[:24]}"
            calls.append(call)
        return calls

    def _next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else self.default_reply

    def _handler(self) -> type[QuietHandler]:
        emulator = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.json_body()
                emulator.requests.append({"path": self.path, "body": body})
                if not self.path.endswith("/chat/completions"):
                    self.send_json(404, {"detail": "Not Found"})
                    return
                reply = emulator._next_reply()
                status, payload = FAULTS.get(reply.fault or "", (200, None))
                if status != 200:
                    self.send_json(status, payload)
                elif isinstance(payload, str):
                    self.send_body(200, "text/html", payload.encode())
                else:
                    self.start_events()
                    for event in emulator.events(body, reply):
                        self.send_event(_sse_line(event))

        return Handler


def _sse_line(event: Any) -> str:
    """``DONE`` is ``data: [DONE]``, a string a raw line (a comment, a broken chunk), else JSON."""
    if event is DONE:
        return "data: [DONE]"
    return event if isinstance(event, str) else f"data: {json.dumps(event)}"


# ---- the dialects ------------------------------------------------------------------------------


def _chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict:
    return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _words(text: str) -> Iterator[str]:
    words = text.split(" ")
    for index, word in enumerate(words):
        yield word + (" " if index < len(words) - 1 else "")


def _pieces(arguments: str, count: int = 3) -> list[str]:
    size = max(1, -(-len(arguments) // count))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


def _finish(calls: list[dict[str, Any]]) -> str:
    return "tool_calls" if calls else "stop"


def _text(base: dict[str, Any], text: str) -> list[dict]:
    return [_chunk(base, {"content": word}) for word in _words(text)] if text else []


def _openai(base: dict[str, Any], text: str, calls: list[dict[str, Any]]) -> list[Any]:
    events = [_chunk(base, {"role": "assistant", "content": "", "refusal": None})]
    events += _text(base, text)
    for call in calls:
        head = {"name": call["name"], "arguments": ""}
        first = {"index": call["index"], "id": call["id"], "type": "function", "function": head}
        events.append(_chunk(base, {"tool_calls": [first]}))
        for piece in _pieces(call["arguments"]):
            part = {"index": call["index"], "function": {"arguments": piece}}
            events.append(_chunk(base, {"tool_calls": [part]}))
    events.append(_chunk(base, {}, _finish(calls)))
    return events


def _ollama(base: dict[str, Any], text: str, calls: list[dict[str, Any]]) -> list[Any]:
    base = {**base, "system_fingerprint": "fp_ollama"}
    events = [_chunk(base, {"role": "assistant", "content": word}) for word in _words(text)]
    for call in calls:
        whole = {
            "id": call["id"],
            "index": call["index"],
            "type": "function",
            "function": {"name": call["name"], "arguments": call["arguments"]},
        }
        events.append(_chunk(base, {"role": "assistant", "content": "", "tool_calls": [whole]}))
    events.append(_chunk(base, {"role": "assistant", "content": ""}, _finish(calls)))
    return events


def _llamacpp(base: dict[str, Any], text: str, calls: list[dict[str, Any]]) -> list[Any]:
    events: list[Any] = [_chunk(base, {"role": "assistant", "content": None})]
    events += [_chunk(base, {"reasoning_content": w}) for w in _words("The user told me a fact.")]
    events.append(": ping")
    events += _text(base, text)
    for call in calls:
        head: dict[str, Any] = {
            "index": call["index"],
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        if call.get("id"):
            head["id"] = call["id"]
        events.append(_chunk(base, {"tool_calls": [head]}))
        for piece in _pieces(call["arguments"]):
            part = {"index": call["index"], "function": {"arguments": piece}}
            events.append(_chunk(base, {"tool_calls": [part]}))
    last = _chunk(base, {}, _finish(calls))
    last["timings"] = {"prompt_n": 42, "predicted_n": 7, "predicted_per_second": 31.5}
    events.append(last)
    return events


def _vllm(base: dict[str, Any], text: str, calls: list[dict[str, Any]]) -> list[Any]:
    events = [_chunk(base, {"role": "assistant", "content": ""})]
    events += _text(base, text)
    held: dict[str, Any] | None = None
    for call in calls:
        head = {"index": call["index"], "id": call["id"], "type": "function"}
        events.append(_chunk(base, {"tool_calls": [{**head, "function": {"name": call["name"]}}]}))
        pieces = _pieces(call["arguments"])
        for piece in pieces[:-1]:
            part = {"index": call["index"], "function": {"arguments": piece}}
            events.append(_chunk(base, {"tool_calls": [part]}))
        held = {"index": call["index"], "function": {"arguments": pieces[-1]}}
    # The last argument piece rides on the chunk that carries the finish reason.
    events.append(_chunk(base, {"tool_calls": [held]} if held else {}, _finish(calls)))
    return events


def _lmstudio(base: dict[str, Any], text: str, calls: list[dict[str, Any]]) -> list[Any]:
    events = [_chunk(base, {"role": "assistant", "content": ""})]
    events += _text(base, text)
    for call in calls:
        first = {
            "index": call["index"],
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        events.append(_chunk(base, {"tool_calls": [first]}))
        for piece in _pieces(call["arguments"]):
            later = {
                "index": call["index"],
                "id": None,
                "type": None,
                "function": {"name": None, "arguments": piece},
            }
            events.append(_chunk(base, {"tool_calls": [later]}))
    events.append(_chunk(base, {}, _finish(calls)))
    return events


def _parallel(base: dict[str, Any], text: str, calls: list[dict[str, Any]]) -> list[Any]:
    events = [_chunk(base, {"role": "assistant", "content": ""})]
    events += _text(base, text)
    for call in calls:
        head = {"name": call["name"], "arguments": ""}
        first = {"index": call["index"], "id": call["id"], "type": "function", "function": head}
        events.append(_chunk(base, {"tool_calls": [first]}))
    pieces = [_pieces(call["arguments"]) for call in calls]
    for round_ in range(max((len(p) for p in pieces), default=0)):
        for call, parts in zip(calls, pieces, strict=True):  # interleaved, as servers may
            if round_ < len(parts):
                part = {"index": call["index"], "function": {"arguments": parts[round_]}}
                events.append(_chunk(base, {"tool_calls": [part]}))
    events.append(_chunk(base, {}, _finish(calls)))
    return events


def _fault_events(base: dict[str, Any], reply: Reply) -> list[Any]:
    """The 200-status faults: a stream that goes wrong after it began."""
    head = [_chunk(base, {"role": "assistant", "content": ""}), *_text(base, reply.text)]
    if reply.fault == "malformed-chunk":
        return [*head, 'data: {"id": "chatcmpl-x", "choices": [{"delta": {"content": "oops"', DONE]
    if reply.fault == "length":
        return [*head, _chunk(base, {}, "length"), DONE]
    if reply.fault == "content-filter":
        return [head[0], _chunk(base, {}, "content_filter"), DONE]
    if reply.fault == "stream-error-llamacpp":  # llama.cpp closes without [DONE]
        error = {"code": 500, "message": "slot unavailable: server busy", "type": "server_error"}
        return [*head, {"error": error}]
    error = {
        "object": "error",
        "message": "The decoder crashed half-way",
        "type": "InternalServerError",
        "code": 500,
    }
    return [*head, {"error": error}, DONE]
