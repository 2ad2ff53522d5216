"""Eight conversations at once on one data directory (threads, as Streamlit runs sessions)."""

from __future__ import annotations

import tempfile
import threading
import time

from bench.common import Figure
from memory_agent.conversations import chat
from memory_agent.runtime import Runtime, open_runtime

TURNS = {"full": 25, "tiny": 3}
CONVERSATIONS = 8


def _run(runtime: Runtime, conversations: int, turns: int) -> tuple[float, int]:
    """(turns per second, errors) for ``conversations`` users chatting at once."""
    errors: list[BaseException] = []

    def converse(user: str) -> None:
        try:
            for number in range(turns):
                text = f"I love topic{number}" if number % 3 == 0 else f"hello {number}"
                list(chat.send(runtime, user, f"{user}-thread", text))
        except Exception as error:  # counted in the figure, not hidden
            errors.append(error)

    workers = [threading.Thread(target=converse, args=(f"user{i}",)) for i in range(conversations)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return conversations * turns / (time.perf_counter() - start), len(errors)


def run(scale: str = "full") -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = open_runtime(tmp)
        try:
            one, one_errors = _run(runtime, 1, TURNS[scale])
            many, many_errors = _run(runtime, CONVERSATIONS, TURNS[scale])
        finally:
            runtime.close()
    return [
        Figure(
            "concurrency",
            f"{CONVERSATIONS} conversations at once, turns/s ({many_errors + one_errors} errors)",
            many,
            "1 conversation, turns/s",
            one,
            "turns/s",
            target="scales, 0 errors",
            met=many_errors + one_errors == 0,
        )
    ]
