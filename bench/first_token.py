"""First token, from the user's side: sending a message at turn 200 with 10k memories.

The model is the OpenAI-compatible stub (``tests.openai_stub``) in a process of its own, so its
work does not share this process's interpreter. Ours: from calling ``chat.send`` (what the chat
page calls when the user presses Enter) to its first text token. The floor: from the raw
``openai`` client's ``create`` call to its first text token, against the same stub, sending the
very request our turn's first model call sent (system prompt with the recalled memories, the
window of messages, the tool), rebuilt from the stored state by the inspector's own code, so
the difference is what the app adds, not the size of the request. Ours runs
on the product's graph (bounded state) and on the whole-state graph it replaced (the "before"
row, ``agent_runs.build_whole_state_graph``), each on its own 200-turn thread; the three
alternate, so load moves them together. The target is on the product's difference at p95.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from bench.agent_runs import build_whole_state_graph
from bench.common import Figure, ms, percentile
from bench.data import USER, write_memories
from memory_agent.conversations import chat, threads
from memory_agent.runtime import Runtime, open_runtime

SIZES = {"full": (200, 10_000, 40), "tiny": (3, 100, 4)}
"""(turns before the measured ones, memories, measured samples of each)"""
ADDED_TARGET = 0.050
REPLY_WORDS = 40
THREAD = "first-token"
BEFORE_THREAD = "first-token-whole-state"


def _serve_stub(pipe: Connection) -> None:
    from tests.openai_stub import OpenAIStub, Reply

    with OpenAIStub() as stub:
        stub.default_reply = Reply(text=" ".join(f"word{i}" for i in range(REPLY_WORDS)))
        stub.requests = _Forgetful()  # 200 turns of 400-message requests would pile up
        pipe.send(stub.url)
        pipe.recv()


class _Forgetful(list):
    """A request log that keeps nothing: the stub appends every request it receives."""

    def append(self, item: object) -> None:
        pass


@contextmanager
def _stub_process() -> Iterator[str]:
    """The stub's base URL, served by a separate process until the block ends."""
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve_stub, args=(theirs,), daemon=True)
    process.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        process.join(timeout=10)


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


def _ours(runtime: Runtime, number: int, thread: str = THREAD) -> float:
    """Seconds from ``chat.send`` to its first text token; the rest of the reply is read too."""
    start = time.perf_counter()
    events = chat.send(runtime, USER, thread, f"hello {number}, tell me something")
    next(e for e in events if isinstance(e, str))
    first = time.perf_counter() - start
    for _ in events:
        pass
    return first


def _request(runtime: Runtime, thread: str = THREAD) -> dict:
    """What the last turn's first model call sent, as the raw client's ``create`` arguments."""
    from langchain_openai.chat_models.base import _convert_message_to_dict

    from memory_agent import tools
    from memory_agent.inspector.model_calls import model_calls
    from memory_agent.state import recent_turns

    messages = threads.messages(runtime, USER, thread)
    first = model_calls(messages)[0]
    index = next(n for n, m in enumerate(messages) if m.id == first.reply_id)
    sent = [{"role": "system", "content": first.system_prompt}]
    sent += [_convert_message_to_dict(m) for m in recent_turns(messages[:index])]
    return {"messages": sent, "tools": tools.TOOL_SCHEMAS}


def _raw(client, request: dict) -> float:
    """Seconds from the raw client's ``create`` to its first text token."""
    start = time.perf_counter()
    stream = client.chat.completions.create(model="stub-model", stream=True, **request)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    first = time.perf_counter() - start
    for _ in stream:
        pass
    return first


def run(scale: str = "full") -> list[Figure]:
    import openai

    turns, memories, count = SIZES[scale]
    ours, before, floor = [], [], []
    with (
        _stub_process() as url,
        tempfile.TemporaryDirectory() as tmp,
        _env(MEMORY_AGENT_BASE_URL=url, MEMORY_AGENT_MODEL="stub-model"),
    ):
        runtime = open_runtime(tmp)
        whole_state = dataclasses.replace(
            runtime, build=lambda: build_whole_state_graph(runtime.checkpointer, runtime.store)
        )
        try:
            write_memories(runtime.store, memories)
            for number in range(turns):
                _ours(runtime, number)
                _ours(whole_state, number, BEFORE_THREAD)
            client = openai.OpenAI(base_url=url, api_key="not-needed")
            _raw(client, _request(runtime))
            for number in range(count):
                ours.append(_ours(runtime, turns + number))
                before.append(_ours(whole_state, turns + number, BEFORE_THREAD))
                floor.append(_raw(client, _request(runtime)))
        finally:
            runtime.close()
    name = f"turn {turns}, {memories:,} memories, send → first token"
    figures = []
    figures += _figures(f"{name}, bounded state", ours, floor)
    figures += _figures(f"{name}, whole state (before)", before, floor, target=False)
    return figures


def _figures(name: str, ours: list[float], floor: list[float], target: bool = True) -> list[Figure]:
    figures = []
    for pct in (50, 95):
        added = percentile(ours, pct) - percentile(floor, pct)
        checked = target and pct == 95
        figures.append(
            Figure(
                "first token",
                f"{name}, p{pct} (adds {ms(added):.0f} ms)",
                ms(percentile(ours, pct)),
                "raw openai client, same request, same stub process",
                ms(percentile(floor, pct)),
                "ms",
                target=f"≤ {ms(ADDED_TARGET):.0f} ms added" if checked else "report",
                met=added <= ADDED_TARGET if checked else None,
            )
        )
    return figures
