"""A local OpenAI-compatible HTTP server for tests: chat completions and embeddings.

It speaks the wire format the real ``openai`` client parses, records every request it receives,
and answers from a queue of scripted replies, so tests see exactly what the model was sent and
can make it answer with text, tool calls, or a fault (an HTTP error, a delay, a cut stream).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from memory_agent.models.embeddings import HashingEmbeddings
from tests.loopback_http import LoopbackServer, QuietHandler

STREAM_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
"""Token usage the stub reports at the end of a stream that asked for it."""


@dataclass
class Reply:
    """One scripted answer. ``tool_calls`` holds (name, arguments-as-JSON-text) pairs."""

    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    cut_after_chunks: int | None = None
    """Close the connection after this many streamed chunks, without finishing the stream."""
    chunk_delay: float = 0.0
    """Seconds between streamed chunks: a slow model, so a test can act mid-reply."""


class OpenAIStub(LoopbackServer):
    """Serve on a free loopback port; ``url`` is the base URL to give ``ChatOpenAI``."""

    def __init__(self, embedding_dims: int = 64) -> None:
        self.requests: list[dict[str, Any]] = []
        self.first_token_sent: list[float] = []
        """``time.perf_counter()`` when each streamed reply's first text token was written."""
        self.replies: deque[Reply] = deque()
        self.default_reply = Reply(text="Hello from the stub model.")
        self.embeddings = HashingEmbeddings(embedding_dims)
        super().__init__(self._handler())

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else self.default_reply

    def _handler(self) -> type[QuietHandler]:
        stub = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.json_body()
                stub.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if self.path.endswith("/embeddings"):
                    self._embeddings(body)
                elif self.path.endswith("/chat/completions"):
                    self._chat(body, stub._next_reply())
                else:
                    self.send_json(404, {"error": {"message": "not found"}})

            def _embeddings(self, body: dict[str, Any]) -> None:
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                vectors = stub.embeddings.embed_documents([str(t) for t in texts])
                data = [
                    {"object": "embedding", "index": i, "embedding": v}
                    for i, v in enumerate(vectors)
                ]
                self.send_json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model"),
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    },
                )

            def _chat(self, body: dict[str, Any], reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    error = {"message": f"stub error {reply.status}", "type": "stub"}
                    self.send_json(reply.status, {"error": {**error, "code": reply.status}})
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                else:
                    self.send_json(200, _completion(body, reply))

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.start_events()
                for number, chunk in enumerate(_chunks(body, reply)):
                    if reply.cut_after_chunks is not None and number >= reply.cut_after_chunks:
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    self.send_event(f"data: {json.dumps(chunk)}")
                    if number == 1:  # chunk 0 carries only the role
                        stub.first_token_sent.append(time.perf_counter())
                    if reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                self.send_event("data: [DONE]")

        return Handler


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        for name, arguments in reply.tool_calls
    ]


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunks(body: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
    }
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": word} for word in _words(reply.text)]
    for index, call in enumerate(_tool_calls(reply)):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {
                            "name": call["function"]["name"],
                            "arguments": arguments[:half],
                        },
                    }
                ]
            }
        )
        deltas.append(
            {"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]}
        )
    chunks = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    finish = "tool_calls" if reply.tool_calls else "stop"
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (body.get("stream_options") or {}).get("include_usage"):  # as every real server does
        chunks.append({**base, "choices": [], "usage": STREAM_USAGE})
    return chunks


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words) if w or i == 0]
