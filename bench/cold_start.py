"""Cold start: the chat page's imports, and its first usable page in a real browser.

Imports: ``python -X importtime`` of what the chat page imports (in the offline, SQLite mode it
starts in) against ``import streamlit`` alone; the figure names the heavy packages still loaded.
First page: from spawning ``streamlit run app.py`` (a fresh data directory) to the chat input
being usable in Chromium, against the same for a bare page with the same widgets and no agent
(``BARE_PAGE``). The two alternate ``REPEATS`` times; figures are medians.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, median, ms
from tests.live_app import ROOT, free_port, launch_chromium, stop

REPEATS = {"full": 3, "tiny": 1}
PAGE_TARGET = 1.5
CHAT_PAGE_IMPORTS = (
    "import streamlit, ui; "
    "from memory_agent.conversations import chat, threads; "
    "from memory_agent.models.chat import describe_model; "
    "from memory_agent.models.errors import describe_model_error; "
    "from memory_agent.configuration import Configuration"
)
HEAVY = ["openai", "langchain_openai", "pandas", "langgraph.checkpoint.postgres", "langsmith"]
BARE_PAGE = """
import streamlit as st
st.sidebar.text_input("User id", value="default-user")
st.sidebar.button("New chat", icon=":material/add:")
st.sidebar.caption("No conversations yet.")
st.sidebar.markdown("**Model**")
st.sidebar.caption("Offline demo model (rule-based, no API key needed)")
with st.sidebar.expander("Model settings"):
    st.text_input("Model name")
    st.slider("Temperature", 0.0, 2.0, step=0.1)
    st.text_area("System prompt")
st.markdown("I remember what you tell me about yourself, across conversations.")
st.chat_input("Say something")
"""


def import_seconds(statement: str) -> tuple[float, set[str]]:
    """(seconds ``python -X importtime`` counts for ``statement``, which ``HEAVY`` it loaded)."""
    probe = f"{statement}; import sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MEMORY_AGENT_DATA_DIR": tempfile.gettempdir()},
    )
    top_level = re.findall(r"import time:\s+\d+ \|\s+(\d+) \| \S", done.stderr)
    return sum(map(int, top_level)) / 1e6, set(done.stdout.split())


def first_usable_page(browser, script: Path, data_dir: Path) -> float:
    """Seconds from spawning ``streamlit run script`` to its chat input being usable."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {**os.environ, "MEMORY_AGENT_DATA_DIR": str(data_dir)}
    page = browser.new_page()
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
                break
            except Exception:  # not listening yet
                if process.poll() is not None or time.perf_counter() - start > 120:
                    raise RuntimeError(f"streamlit run {script.name} did not start") from None
                time.sleep(0.05)
        page.get_by_test_id("stChatInputTextArea").wait_for(state="visible", timeout=120_000)
        return time.perf_counter() - start
    finally:
        page.close()
        stop(process)


def run(scale: str = "full") -> list[Figure]:
    from playwright.sync_api import sync_playwright

    repeats = REPEATS[scale]
    imports, bare_imports, loaded = [], [], set()
    for _ in range(repeats):
        seconds, loaded = import_seconds(CHAT_PAGE_IMPORTS)
        imports.append(seconds)
        bare_imports.append(import_seconds("import streamlit")[0])
    pages, bare_pages = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        bare = Path(tmp) / "bare_page.py"
        bare.write_text(BARE_PAGE)
        browser = launch_chromium(playwright)
        try:
            for number in range(repeats):
                pages.append(first_usable_page(browser, ROOT / "app.py", Path(tmp) / f"d{number}"))
                bare_pages.append(first_usable_page(browser, bare, Path(tmp) / "bare"))
        finally:
            browser.close()
    still = ", ".join(sorted(loaded)) or "none"
    return [
        Figure(
            "cold start",
            f"chat page imports, offline + SQLite (of {', '.join(HEAVY)}: {still} loaded)",
            ms(median(imports)),
            "import streamlit",
            ms(median(bare_imports)),
            "ms",
            target="report",
            low=ms(min(imports)),
            high=ms(max(imports)),
        ),
        Figure(
            "cold start",
            "first usable chat page (spawn → chat input in Chromium)",
            ms(median(pages)),
            "bare Streamlit page, same widgets",
            ms(median(bare_pages)),
            "ms",
            target=f"≤ {PAGE_TARGET}×",
            met=median(pages) <= PAGE_TARGET * median(bare_pages),
            low=ms(min(pages)),
            high=ms(max(pages)),
        ),
    ]
