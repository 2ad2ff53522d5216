"""The inspector per tab: server time with 10k realistic memories, and time to interactive.

Data: threads chatted through ``chat.send`` and memories written through
``memories.apply_changes`` with their history (``bench.data``).

- **Server time** (AppTest, a 500-turn = 1,000-message thread, 10,000 memories): each tab is one
  AppTest run of the app switched to the inspector at ``?tab=…``, what a browser's rerun costs on
  the server. Its floor, interleaved tab by tab: ``FLOOR_PAGE``, a minimal Streamlit page that
  reads the same data once (one query per store namespace, the same checkpoints) and shows it in
  plain elements.
- **In a real browser** (Chromium against ``streamlit run app.py``, a 100-turn thread, 1,000
  memories): from ``goto`` of the tab's URL to its last element shown and the script finished.
  Its floor: the same minimal page served by its own ``streamlit run``, opened the same way,
  alternating with the inspector.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamlit.components.v2 import manifest_scanner
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, local_script_runner

from bench.common import Figure, median, ms
from bench.data import USER, write_memories
from memory_agent.conversations import chat
from memory_agent.runtime import open_runtime

SIZES = {"full": (500, 10_000), "tiny": (5, 100)}
"""AppTest data: (turns, so twice as many messages; memories)"""
BROWSER_SIZES = {"full": (100, 1_000), "tiny": (3, 50)}
"""Browser data, issue 17's: a 100-turn thread and 1,000 memories."""
REPEAT = {"full": 5, "tiny": 1}
BROWSER_REPEAT = {"full": 3, "tiny": 1}
TARGET_SECONDS = 1.0
BROWSER_TARGET_SECONDS = 1.5
ROOT = Path(__file__).resolve().parent.parent
THREAD = "bench-thread"
TABS = ["State", "History", "Memories"]
LAST_ELEMENT = {
    "State": "Graph",
    "History": "Edit a message, then fork",
    "Memories": "Import memories (CSV or JSON, as exported)",
}
"""Text of what each inspector tab draws (at or near its end)."""
TABLE_VIEW = "Memories with the table open"
BROWSER_VIEWS = {tab: (tab, "") for tab in TABS} | {TABLE_VIEW: ("Memories", "&table=true")}
"""What the browser opens: each tab, and the Memories tab's grid, which is drawn on request."""
FLOOR_DONE = "floor page drawn"
FLOOR_PAGE = f"""
import streamlit as st
from memory_agent import memories
from memory_agent.conversations import threads
from memory_agent.inspector import reads
from memory_agent.recall import last_recall
from ui import get_runtime
runtime = get_runtime()
user, thread = {USER!r}, {THREAD!r}
tab = st.query_params.get("tab", "State")
if tab == "State":
    messages = threads.get_state(runtime, user, thread).values["messages"]
    st.dataframe([(m.type, m.text, m.id) for m in messages])
    st.json(last_recall(messages).as_metadata())
elif tab == "History":
    records = threads.checkpoint_records(runtime, user, thread, limit=200)
    st.dataframe([(r.step, r.source, r.created_at, r.checkpoint_id) for r in records])
    latest = threads.get_checkpoint(runtime, user, thread, records[0].checkpoint_id)
    st.dataframe([(m.type, m.text, m.id) for m in latest.values["messages"]])
    st.dataframe([(m.key, m.content) for m in memories.list_memories(runtime.store, user)])
    events = memories.history(runtime.store, user, since=latest.created_at)
    st.dataframe([(e.action, e.memory_key, e.at) for e in events])
else:
    data = reads.read_user(runtime.store, user)
    st.dataframe([(m.key, m.content, m.context, m.updated_at) for m in data.memories])
    st.dataframe([(e.action, e.memory_key, e.at) for e in data.events])
st.write({FLOOR_DONE!r})
"""


# Each new AppTest scans every installed package for component manifests (0.4 s here); a real
# server scans once at start, so a rerun's server time must not include it (as tests/conftest.py).
manifest_scanner.scan_component_manifests = functools.cache(
    manifest_scanner.scan_component_manifests
)
# Likewise a server compiles each page once (its runtime's ``ScriptCache``) where each AppTest
# compiles the app and the inspector's 1,200 lines again (0.1 s here): they share one cache.
_COMPILED = ScriptCache()
local_script_runner.ScriptCache = lambda: _COMPILED


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


def _build(data_dir: Path | str, turns: int, memories: int) -> None:
    """The thread chatted turn by turn, then the memories with their history."""
    runtime = open_runtime(data_dir)
    try:
        for number in range(turns):
            fact = f"I love topic {number}" if number % 10 == 0 else f"hello {number}"
            for _ in chat.send(runtime, USER, THREAD, fact):
                pass
        write_memories(runtime.store, memories)
    finally:
        runtime.close()


@contextmanager
def _data_dir(turns: int, memories: int) -> Iterator[str]:
    """A data directory holding the thread and the memories; pages open it from the env."""
    from ui import get_runtime

    with tempfile.TemporaryDirectory() as tmp:
        _build(tmp, turns, memories)
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


def _server_figures(scale: str) -> list[Figure]:
    turns, size = SIZES[scale]
    ours: dict[str, list[float]] = {tab: [] for tab in TABS}
    floor: dict[str, list[float]] = {tab: [] for tab in TABS}
    with _data_dir(turns, size):
        for tab in TABS:  # warm: each page's imports, the cached runtime, SQLite's page cache
            _page(tab)
            _floor(tab)
        for round_ in range(REPEAT[scale]):
            for tab in TABS:
                pair = [(_page, ours), (_floor, floor)]
                for measure, into in pair if round_ % 2 == 0 else reversed(pair):
                    into[tab].append(measure(tab))
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


@contextmanager
def _floor_server(data_dir: Path) -> Iterator[str]:
    """``streamlit run`` of the minimal page, on the same data; its URL."""
    from tests.live_app import free_port, stop, wait_until_healthy

    script = data_dir.parent / "floor_page.py"
    script.write_text(FLOOR_PAGE)
    port = free_port()
    log = data_dir.parent / f"floor-{port}.log"
    env = {
        **os.environ,
        "MEMORY_AGENT_DATA_DIR": str(data_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}/_stcore/health", log, "floor", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _interactive(page, url: str, last_text: str) -> float:
    """Seconds from ``goto`` until ``last_text`` is shown and the script has finished."""
    from playwright.sync_api import expect

    start = time.perf_counter()
    page.goto(url, timeout=300_000)
    page.get_by_text(last_text, exact=True).first.wait_for(state="attached", timeout=300_000)
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=300_000)
    return time.perf_counter() - start


def _browser_figures(scale: str) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    from tests.live_app import LiveApp, launch_chromium

    turns, size = BROWSER_SIZES[scale]
    ours: dict[str, list[float]] = {view: [] for view in BROWSER_VIEWS}
    floor: dict[str, list[float]] = {view: [] for view in BROWSER_VIEWS}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        data_dir = Path(tmp) / "data"
        _build(data_dir, turns, size)
        browser = launch_chromium(playwright)
        try:
            with LiveApp(data_dir) as app, _floor_server(data_dir) as floor_url:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                query = f"user={USER}&thread={THREAD}"

                def inspector(view: str) -> float:
                    tab, extra = BROWSER_VIEWS[view]
                    url = f"{app.url}/inspector?{query}&tab={tab}{extra}"
                    return _interactive(page, url, LAST_ELEMENT[tab])

                def minimal(view: str) -> float:
                    tab, _ = BROWSER_VIEWS[view]
                    return _interactive(page, f"{floor_url}/?tab={tab}", FLOOR_DONE)

                for view in BROWSER_VIEWS:  # warm both servers: imports, caches, the runtime
                    inspector(view)
                    minimal(view)
                for round_ in range(BROWSER_REPEAT[scale]):
                    for view in BROWSER_VIEWS:
                        pair = [(inspector, ours), (minimal, floor)]
                        for measure, into in pair if round_ % 2 == 0 else reversed(pair):
                            into[view].append(measure(view))
                page.close()
        finally:
            browser.close()
    return [
        Figure(
            "inspector",
            f"{view} tab, open until interactive (real browser), {turns}-turn thread, "
            f"{size:,} memories"
            if view in TABS
            else f"{view} (?table=true), open until interactive (real browser), on request",
            ms(median(ours[view])),
            "minimal Streamlit page, same data, same browser",
            ms(median(floor[view])),
            "ms",
            target=f"≤ {BROWSER_TARGET_SECONDS:g} s" if view in TABS else "",
            met=median(ours[view]) <= BROWSER_TARGET_SECONDS if view in TABS else None,
            low=ms(min(ours[view])),
            high=ms(max(ours[view])),
        )
        for view in BROWSER_VIEWS
    ]


def run(scale: str = "full") -> list[Figure]:
    return _server_figures(scale) + _browser_figures(scale)
