"""The inspector: its state view of a 1,000-message thread, its table of 10k memories, and the
whole page rendered by AppTest, each against building the same data as plain lists."""

from __future__ import annotations

import os
import random
import tempfile
import time
from dataclasses import astuple
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.agent_runs import turn
from bench.common import Figure, mean, ms, samples
from bench.recall import USER, _load
from memory_agent import memories
from memory_agent.conversations import threads
from memory_agent.inspector import memory_table, views
from memory_agent.runtime import Runtime, open_runtime

SIZES = {"full": (500, 10_000), "tiny": (5, 100)}
"""(turns, so twice as many messages; memories)"""
REPEAT = {"full": 5, "tiny": 2}
ROOT = Path(__file__).resolve().parent.parent
THREAD = "bench-thread"


def _state_view(runtime: Runtime) -> None:
    snapshot = threads.get_state(runtime, USER, THREAD)
    views.message_rows(snapshot.values["messages"])
    threads.snapshot_as_json(snapshot)


def _state_lists(runtime: Runtime) -> None:
    snapshot = threads.get_state(runtime, USER, THREAD)
    [(m.type, str(m.content), m.id) for m in snapshot.values["messages"]]


def _table(runtime: Runtime) -> None:
    memory_table.memories_frame(memories.list_memories(runtime.store, USER))


def _table_lists(runtime: Runtime) -> None:
    [astuple(m) for m in memories.list_memories(runtime.store, USER)]


def _render(tab: str) -> float:
    """Seconds for AppTest to run the chat app's script and switch to the inspector tab."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.query_params.update({"user": USER, "thread": THREAD, "tab": tab})
    start = time.perf_counter()
    app.switch_page("pages/inspector.py").run()
    elapsed = time.perf_counter() - start
    if app.exception:
        raise RuntimeError(f"the inspector failed: {app.exception}")
    return elapsed


def _render_lists() -> float:
    """The floor for a page: AppTest rendering the same rows as plain lists in one table."""
    app = AppTest.from_string(
        "import streamlit as st\n"
        "from memory_agent import memories, threads\n"
        "from ui import get_runtime\n"
        "rt = get_runtime()\n"
        f"msgs = threads.get_state(rt, {USER!r}, {THREAD!r}).values['messages']\n"
        "st.dataframe([(m.type, str(m.content)) for m in msgs])\n"
        f"st.dataframe([(m.key, m.content) for m in memories.list_memories(rt.store, {USER!r})])\n",
        default_timeout=120,
    )
    start = time.perf_counter()
    app.run()
    return time.perf_counter() - start


def run(scale: str = "full") -> list[Figure]:
    turns, size = SIZES[scale]
    count = REPEAT[scale]
    from ui import get_runtime

    with tempfile.TemporaryDirectory() as tmp:
        runtime = open_runtime(tmp)
        saved = os.environ.get("MEMORY_AGENT_DATA_DIR")
        try:
            threads.open_thread(runtime, USER, THREAD)
            for number in range(1, turns + 1):
                turn(runtime.graph, THREAD, number)
            _load(runtime.store, size, random.Random(3))
            view = samples(lambda: _state_view(runtime), count)
            view_floor = samples(lambda: _state_lists(runtime), count)
            table = samples(lambda: _table(runtime), count)
            table_floor = samples(lambda: _table_lists(runtime), count)
            os.environ["MEMORY_AGENT_DATA_DIR"] = tmp
            get_runtime.clear()
            _render_lists()  # warm up: imports and the cached runtime
            page = {
                tab: mean([_render(tab) for _ in range(count)]) for tab in ("State", "Memories")
            }
            page_floor = mean([_render_lists() for _ in range(count)])
        finally:
            get_runtime.clear()
            if saved is None:
                os.environ.pop("MEMORY_AGENT_DATA_DIR", None)
            else:
                os.environ["MEMORY_AGENT_DATA_DIR"] = saved
            runtime.close()
    messages = 2 * turns
    figures = [
        Figure(
            "inspector",
            f"state view, {messages:,}-message thread",
            ms(mean(view)),
            "the same messages as plain lists",
            ms(mean(view_floor)),
            "ms",
        ),
        Figure(
            "inspector",
            f"memory table, {size:,} memories",
            ms(mean(table)),
            "the same memories as plain tuples",
            ms(mean(table_floor)),
            "ms",
        ),
    ]
    figures += [
        Figure(
            "inspector",
            f"whole page ({tab} tab) in AppTest",
            ms(seconds),
            "AppTest page of the same rows as plain tables",
            ms(page_floor),
            "ms",
            target="≤ 1 s",
            met=seconds <= 1.0,
        )
        for tab, seconds in page.items()
    ]
    return figures
