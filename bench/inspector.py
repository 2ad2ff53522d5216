"""The inspector's server time per tab, with 10k realistic memories and a 1,000-message thread.

Data: a 500-turn thread chatted through ``chat.send`` and 10,000 memories written through
``memories.apply_changes`` with their history (``bench.data``). Each tab is one AppTest run of
the app switched to the inspector at ``?tab=…`` (what a browser's rerun costs on the server).
The floor, alternating with it: a minimal Streamlit page that reads the same data once through
the core and shows it in plain elements (``FLOOR_PAGE``): the state's messages and the recall
record, ten checkpoints, the memory table and the history.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from bench.common import Figure, median, ms
from bench.data import USER, write_memories
from memory_agent.conversations import chat
from memory_agent.runtime import open_runtime

SIZES = {"full": (500, 10_000), "tiny": (5, 100)}
"""(turns, so twice as many messages; memories)"""
REPEAT = {"full": 5, "tiny": 1}
TARGET_SECONDS = 1.0
ROOT = Path(__file__).resolve().parent.parent
THREAD = "bench-thread"
TABS = ["State", "History", "Memories"]
FLOOR_PAGE = f"""
import streamlit as st
from memory_agent import memories
from memory_agent.conversations import threads
from memory_agent.recall import last_recall
from ui import get_runtime
runtime = get_runtime()
tab = st.query_params.get("tab", "State")
if tab == "State":
    messages = threads.get_state(runtime, {USER!r}, {THREAD!r}).values["messages"]
    st.dataframe([(m.type, m.text, m.id) for m in messages])
    st.json(last_recall(messages).as_metadata())
elif tab == "History":
    for snapshot in threads.get_history(runtime, {USER!r}, {THREAD!r}, limit=10):
        st.write(snapshot.created_at, len(snapshot.values.get("messages", [])))
else:
    rows = [(m.key, m.content, m.context, m.updated_at) for m in
            memories.list_memories(runtime.store, {USER!r})]
    st.data_editor(rows)
    events = memories.history(runtime.store, {USER!r})
    st.dataframe([(e.action, e.memory_key, e.at) for e in events])
"""


# Each new AppTest scans every installed package for component manifests (0.4 s here); a real
# server scans once at start, so a rerun's server time must not include it (as tests/conftest.py).
manifest_scanner.scan_component_manifests = functools.cache(
    manifest_scanner.scan_component_manifests
)


def _page(tab: str) -> float:
    """Seconds for AppTest to run the app's inspector on ``tab``."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.query_params.update({"user": USER, "thread": THREAD, "tab": tab})
    start = time.perf_counter()
    app.switch_page("pages/inspector.py").run()
    elapsed = time.perf_counter() - start
    if app.exception:
        raise RuntimeError(f"the inspector failed on {tab}: {app.exception[0].message}")
    return elapsed


def _floor(tab: str) -> float:
    """Seconds for AppTest to run the minimal page on ``tab``."""
    app = AppTest.from_string(FLOOR_PAGE, default_timeout=300)
    app.query_params["tab"] = tab
    start = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - start
    if app.exception:
        raise RuntimeError(f"the floor page failed on {tab}: {app.exception[0].message}")
    return elapsed


@contextmanager
def _data_dir(turns: int, memories: int) -> Iterator[str]:
    """A data directory holding the thread and the memories; pages open it from the env."""
    from ui import get_runtime

    with tempfile.TemporaryDirectory() as tmp:
        runtime = open_runtime(tmp)
        try:
            for number in range(turns):
                fact = f"I love topic {number}" if number % 10 == 0 else f"hello {number}"
                for _ in chat.send(runtime, USER, THREAD, fact):
                    pass
            write_memories(runtime.store, memories)
        finally:
            runtime.close()
        saved = os.environ.get("MEMORY_AGENT_DATA_DIR")
        os.environ["MEMORY_AGENT_DATA_DIR"] = tmp
        get_runtime.clear()
        try:
            yield tmp
        finally:
            get_runtime.clear()
            if saved is None:
                os.environ.pop("MEMORY_AGENT_DATA_DIR", None)
            else:
                os.environ["MEMORY_AGENT_DATA_DIR"] = saved


def run(scale: str = "full") -> list[Figure]:
    turns, size = SIZES[scale]
    ours: dict[str, list[float]] = {tab: [] for tab in TABS}
    floor: dict[str, list[float]] = {tab: [] for tab in TABS}
    with _data_dir(turns, size):
        for tab in TABS:  # warm: each page's imports, the cached runtime, SQLite's page cache
            _page(tab)
            _floor(tab)
        for _ in range(REPEAT[scale]):
            for tab in TABS:
                ours[tab].append(_page(tab))
                floor[tab].append(_floor(tab))
    return [
        Figure(
            "inspector",
            f"{tab} tab, server time (AppTest), {2 * turns:,} messages, {size:,} memories",
            ms(median(ours[tab])),
            "minimal page, same data read once",
            ms(median(floor[tab])),
            "ms",
            target=f"≤ {TARGET_SECONDS:g} s",
            met=median(ours[tab]) <= TARGET_SECONDS,
            low=ms(min(ours[tab])),
            high=ms(max(ours[tab])),
        )
        for tab in TABS
    ]
