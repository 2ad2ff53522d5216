"""First token: from the server writing it to the chat page's stream yielding it."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import openai

from bench.common import Figure, ms, percentile
from memory_agent.conversations import chat
from memory_agent.runtime import open_runtime
from tests.openai_stub import OpenAIStub, Reply

COUNT = {"full": 30, "tiny": 3}
REPLY = Reply(text=" ".join(f"word{i}" for i in range(40)))


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _ours(stub: OpenAIStub, count: int) -> list[float]:
    """Added latency of ``chat.send``, the generator the chat page streams."""
    delays = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        _env(MEMORY_AGENT_BASE_URL=stub.url, MEMORY_AGENT_MODEL="stub-model"),
    ):
        runtime = open_runtime(tmp)
        try:
            for number in range(count + 2):
                stub.replies.append(REPLY)
                events = chat.send(runtime, "bench-user", "t", f"hello {number}")
                next(e for e in events if isinstance(e, str))
                yielded = time.perf_counter()
                if number >= 2:  # the first turns warm up connections and caches
                    delays.append(yielded - stub.first_token_sent[-1])
                for _ in events:
                    pass
        finally:
            runtime.close()
    return delays


def _raw_client(stub: OpenAIStub, count: int) -> list[float]:
    """The floor: the raw ``openai`` client reading the same stream."""
    client = openai.OpenAI(base_url=stub.url, api_key="not-needed")
    delays = []
    for number in range(count + 2):
        stub.replies.append(REPLY)
        stream = client.chat.completions.create(
            model="stub-model", messages=[{"role": "user", "content": "hello"}], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        yielded = time.perf_counter()
        if number >= 2:
            delays.append(yielded - stub.first_token_sent[-1])
        for _ in stream:
            pass
    return delays


def run(scale: str = "full") -> list[Figure]:
    with OpenAIStub() as stub:
        ours = _ours(stub, COUNT[scale])
        floor = _raw_client(stub, COUNT[scale])
    return [
        Figure(
            "first token",
            f"server → chat stream, p{pct}",
            ms(percentile(ours, pct)),
            "raw openai client on the same stream",
            ms(percentile(floor, pct)),
            "ms",
            target="≤ 50 ms added",
            met=percentile(ours, pct) - percentile(floor, pct) <= 0.050,
        )
        for pct in (50, 95)
    ]
