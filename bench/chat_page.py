"""The chat page at any length, in a real browser: opening a thread, and a turn driven by typing.

A 10-turn and a 200-turn thread are chatted through ``chat.send`` into one data directory; then
``streamlit run app.py`` serves it to Debian's Chromium. Opening: from ``goto`` of the thread's
URL to the page being interactive (its last reply shown, the chat input ready, the script
finished). A driven turn: from pressing Enter to the reply shown and the script finished. The
long thread is measured against the short one, alternating, ``REPEATS`` times each. The page
draws the recent turns (the state's window: 20 turns of the 200, all 10 of the short thread)
with "Show earlier messages" above them.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import Figure, median, ms
from bench.data import USER
from memory_agent.conversations import chat
from memory_agent.runtime import open_runtime
from tests.live_app import LiveApp, launch_chromium

LENGTHS = {"full": (10, 200), "tiny": (2, 6)}
REPEATS = {"full": 3, "tiny": 1}
TARGET = 1.5


def _chat(data_dir: Path, thread: str, turns: int) -> None:
    runtime = open_runtime(data_dir)
    try:
        for number in range(turns):
            for _ in chat.send(runtime, USER, thread, f"hello {number}, how are you?"):
                pass
    finally:
        runtime.close()


def _open(page, url: str) -> float:
    """Seconds until the thread is interactive."""
    start = time.perf_counter()
    page.goto(url, timeout=300_000)
    page.get_by_test_id("stChatInputTextArea").wait_for(state="visible", timeout=300_000)
    page.get_by_test_id("stChatMessage").last.wait_for(state="visible", timeout=300_000)
    _settled(page)
    return time.perf_counter() - start


def _turn(page, number: int) -> float:
    """Seconds from pressing Enter to the reply shown and the run finished.

    The page redraws the window once the turn is stored, so a long thread shows as many bubbles
    after a turn as before it: the turn is found by its text, not by a count of bubbles.
    """
    from playwright.sync_api import expect

    text = f"one more message, number {number}"
    bubbles = page.get_by_test_id("stChatMessage")
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    start = time.perf_counter()
    box.press("Enter")
    bubbles.filter(has_text=text).last.wait_for(state="visible", timeout=300_000)
    _settled(page)
    expect(bubbles.nth(-2)).to_contain_text(text, timeout=300_000)  # the reply is drawn after it
    elapsed = time.perf_counter() - start
    expect(bubbles.last.get_by_test_id("stChatMessageAvatarAssistant")).to_be_visible()
    return elapsed


def _settled(page) -> None:
    """The script run (and any rerun it asked for) has finished; generous under load."""
    from playwright.sync_api import expect

    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=300_000)


def run(scale: str = "full") -> list[Figure]:
    from playwright.sync_api import sync_playwright

    short, long = LENGTHS[scale]
    opened: dict[int, list[float]] = {short: [], long: []}
    driven: dict[int, list[float]] = {short: [], long: []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        data_dir = Path(tmp) / "data"
        for turns in (short, long):
            _chat(data_dir, f"t{turns}", turns)
        browser = launch_chromium(playwright)
        try:
            with LiveApp(data_dir) as app:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(300_000)
                _open(page, f"{app.url}/?user={USER}&thread=t{short}")  # warm the server
                for number in range(REPEATS[scale]):
                    for turns in (short, long):
                        url = f"{app.url}/?user={USER}&thread=t{turns}"
                        opened[turns].append(_open(page, url))
                        driven[turns].append(_turn(page, number))
                page.close()
        finally:
            browser.close()
    return [
        Figure(
            "chat page",
            f"{what}, {long}-turn thread (real browser)",
            ms(median(times[long])),
            f"the same for a {short}-turn thread",
            ms(median(times[short])),
            "ms",
            target=f"≤ {TARGET}×",
            met=median(times[long]) <= TARGET * median(times[short]),
            low=ms(min(times[long])),
            high=ms(max(times[long])),
        )
        for what, times in (("open until interactive", opened), ("a typed turn", driven))
    ]
