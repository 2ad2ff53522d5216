"""The inspector in a real browser: chat, inspect, edit a memory, recall it, delete, restore."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from memory_agent import memories
from memory_agent.conversations import chat
from memory_agent.runtime import open_runtime
from tests.live_app import LiveApp, settled

pytestmark = pytest.mark.browser

SAILING = "User loves sailing"
ROWING = "My name is Zed and I love rowing"
ROW_HEIGHT = 35  # st.data_editor's header and rows, in CSS pixels
ROW_MARKER = 34  # width of the row-selection column


def _chat(page, text: str) -> str:
    """Send a message on the chat page; the agent's reply once it is complete."""
    bubbles = page.get_by_test_id("stChatMessage")
    before = bubbles.count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    reply = bubbles.nth(before + 1)
    reply.get_by_text("offline demo model").wait_for()
    settled(page)
    return reply.inner_text()


def _chat_elsewhere(data_dir: Path, thread: str, text: str) -> None:
    """A turn made outside this browser tab, as another tab or the command line would."""
    runtime = open_runtime(data_dir)
    try:
        list(chat.send(runtime, "zed", thread, text))
    finally:
        runtime.close()


def _cell(page, text: str):
    """The memory table's accessible (hidden) cell with exactly this text."""
    cells = page.locator(".st-key-memory_table table[role=grid] [role=gridcell]")
    return cells.filter(has_text=re.compile(f"^{re.escape(text)}$"))


def _has_cell(page, text: str) -> None:
    _cell(page, text).wait_for(state="attached")


def _cell_point(page, text: str) -> tuple[float, float]:
    """Where a cell is drawn: the grid is a canvas, so from its row number and the grid's box."""
    column, row = map(int, _cell(page, text).get_attribute("id").split("-")[-2:])
    assert column == 1, "content is the first column after the row markers"
    grid = page.locator(".st-key-memory_table canvas").first.bounding_box()
    return grid["x"] + ROW_MARKER + 40, grid["y"] + ROW_HEIGHT * (row + 1.5)


def _delete_row(page, text: str) -> None:
    """Select the row by its marker and press Delete; again if the grid was still settling."""
    save = page.get_by_role("button", name="Save changes")
    for _ in range(3):
        x, y = _cell_point(page, text)
        page.mouse.click(x - 40 - ROW_MARKER / 2, y)
        page.keyboard.press("Delete")
        try:
            expect(save).to_be_enabled(timeout=3_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"could not delete the row {text!r}")


def _url_thread(page) -> str:
    """The conversation the page is on, from its URL (the chat puts it there)."""
    page.wait_for_url(re.compile(r"[?&]thread="))
    return parse_qs(urlparse(page.url).query)["thread"][0]


def edit_memory(page, old: str, new: str) -> None:
    """Double-click a memory's content cell, type ``new``, save, and see it in the table."""
    page.mouse.dblclick(*_cell_point(page, old))
    page.locator(".gdg-input").fill(new)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Saved 1 change(s)").wait_for()
    _has_cell(page, new)


def _open_memories(page) -> None:
    page.get_by_role("tab", name="Memories").click()
    page.get_by_text("Recall preview").wait_for()


def test_edit_a_memory_recall_it_delete_it_and_restore_it(page, tmp_path: Path) -> None:
    with LiveApp(tmp_path / "data") as app:
        page.goto(f"{app.url}/?user=zed")
        _chat(page, "My name is Zed and I love sailing")
        thread = _url_thread(page)

        page.get_by_role("link", name="Open in the memory inspector").last.click()
        page.wait_for_url(re.compile(r"/inspector\?.*user=zed"))
        assert _url_thread(page) == thread
        said = page.get_by_role("tabpanel", name="State").get_by_test_id("stChatMessage")
        said.get_by_text("My name is Zed and I love sailing", exact=True).wait_for()
        page.get_by_text("Auto-refresh").click()
        _chat_elsewhere(tmp_path / "data", thread, "I work at Acme")
        said.get_by_text("I work at Acme", exact=True).wait_for(timeout=10_000)  # no reload

        _open_memories(page)
        _has_cell(page, SAILING)
        edit_memory(page, SAILING, ROWING)

        page.goto(f"{app.url}/?user=zed")  # a new chat
        answer = _chat(page, "What do you know about me?")
        assert "rowing" in answer and "sailing" not in answer
        assert _url_thread(page) != thread

        page.goto(f"{app.url}/Inspector?user=zed&thread={_url_thread(page)}")
        _open_memories(page)
        _has_cell(page, ROWING)
        _delete_row(page, ROWING)
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Saved 1 change(s)").wait_for()
        assert _cell(page, ROWING).count() == 0

        page.get_by_role("button", name="Undo this change").click()
        page.get_by_text("Undone").wait_for()
        _has_cell(page, ROWING)

    runtime = open_runtime(tmp_path / "data")
    try:
        stored = {m.content: m.source for m in memories.list_memories(runtime.store, "zed")}
        changes = [(e.action, e.source) for e in memories.history(runtime.store, "zed")]
    finally:
        runtime.close()
    assert stored == {
        ROWING: "inspector",
        "User's name is Zed": "agent",
        "User works at Acme": "agent",
    }
    assert changes[:3] == [
        ("create", "inspector"),
        ("delete", "inspector"),
        ("update", "inspector"),
    ]


def test_every_inspector_address_opens_the_inspector_with_its_parameters(
    page, tmp_path: Path
) -> None:
    """``/inspector`` is the page's address; ``/Inspector`` (older links) still works."""
    with LiveApp(tmp_path / "data") as app:
        page.goto(f"{app.url}/?user=zed")
        _chat(page, "I love sailing")
        thread = _url_thread(page)
        for path in ("inspector", "Inspector"):
            page.goto(f"{app.url}/{path}?user=zed&thread={thread}&tab=Memories")
            page.get_by_role("heading", name="Memory inspector").wait_for()
            _has_cell(page, SAILING)
            settled(page)
            query = parse_qs(urlparse(page.url).query)
            assert (query["user"], query["thread"], query["tab"]) == (
                ["zed"],
                [thread],
                ["Memories"],
            )
            expect(page.get_by_text("Page not found")).to_have_count(0)
        page.get_by_role("link", name="Back to the chat").click()
        page.get_by_test_id("stChatInputTextArea").wait_for()
        assert urlparse(page.url).path == "/"
        assert parse_qs(urlparse(page.url).query)["thread"] == [thread]
