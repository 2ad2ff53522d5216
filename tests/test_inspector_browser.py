"""The inspector in a real browser: chat, inspect, edit a memory, recall it, delete, restore."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from memory_agent import memories
from memory_agent.conversations import chat
from memory_agent.runtime import open_runtime
from tests.live_app import LiveApp, rerun_of, settled

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
    # .first: while the page redraws, the streamed reply and its final draw can both be there
    reply.get_by_text("offline demo model").first.wait_for()
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
    page.locator(".st-key-memory_table").scroll_into_view_if_needed()  # below the memory list
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
    page.get_by_text("Saved 1 change;").wait_for()
    _has_cell(page, new)


def _open_memories(page, *, table: bool = False) -> None:
    page.get_by_role("tab", name="Memories").click()
    page.get_by_text("Recall preview").wait_for()
    if table:
        page.get_by_text("Open the table").click()
        page.locator(".st-key-memory_table canvas").first.wait_for()


def test_edit_a_memory_recall_it_delete_it_and_restore_it(page, tmp_path: Path) -> None:
    page.set_default_timeout(60_000)  # two busy cores
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

        _open_memories(page, table=True)
        _has_cell(page, SAILING)
        edit_memory(page, SAILING, ROWING)

        page.goto(f"{app.url}/?user=zed")  # a new chat
        answer = _chat(page, "What do you know about me?")
        assert "rowing" in answer and "sailing" not in answer
        assert _url_thread(page) != thread

        page.goto(f"{app.url}/Inspector?user=zed&thread={_url_thread(page)}")
        _open_memories(page, table=True)
        _has_cell(page, ROWING)
        _delete_row(page, ROWING)
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Saved 1 change;").wait_for()
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
    page.set_default_timeout(60_000)  # two busy cores
    with LiveApp(tmp_path / "data") as app:
        page.goto(f"{app.url}/?user=zed")
        _chat(page, "I love sailing")
        thread = _url_thread(page)
        for path in ("inspector", "Inspector"):
            page.goto(f"{app.url}/{path}?user=zed&thread={thread}&tab=Memories&table=true")
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


# ---- the inspector as a debugger ----------------------------------------------------------


def _shot(page, tmp_path: Path, name: str) -> None:
    """A full-page screenshot to look at (``INSPECTOR_SCREENSHOTS`` keeps them after the run)."""
    folder = Path(os.environ.get("INSPECTOR_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _seed(data_dir: Path, *texts: str, thread: str = "t1") -> None:
    """Turns made before the browser opens, through the same core the chat page calls."""
    runtime = open_runtime(data_dir)
    try:
        for text in texts:
            list(chat.send(runtime, "zed", thread, text))
    finally:
        runtime.close()


def _pick(page, label: str, option: str, tries: int = 3) -> None:
    """Choose the option containing ``option`` in the selectbox labelled ``label``.

    On two busy cores the open list can still be moving into place when it is clicked, and a
    click beside it closes it; then the box is opened again, as a person would.
    """
    settled(page)  # a rerun still drawing would replace the open list under the click
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    with rerun_of(page):
        for attempt in range(1, tries + 1):
            box.click()
            # Filters the list (a long one shows only its first options); one input event, as
            # keys typed on busy cores can outrun the box and close it half-typed.
            box.get_by_role("combobox").fill(option)
            try:
                page.get_by_role("option").filter(has_text=option).first.click(timeout=15_000)
                return
            except PlaywrightTimeoutError:
                if attempt == tries:
                    raise
                page.keyboard.press("Escape")


def _toast_in_view(page, text: str) -> None:
    """A confirmation is a toast the person sees wherever the page is scrolled."""
    toast = page.get_by_test_id("stToast").filter(has_text=text)
    expect(toast).to_be_visible(timeout=60_000)  # a rerun on two busy cores
    box = toast.bounding_box()
    height = page.viewport_size["height"]
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, box


def _grid_has(page, scope: str, text: str) -> None:
    """A cell of the dataframe inside ``scope`` (a keyed container) with exactly this text."""
    cells = page.locator(f"{scope} table[role=grid] [role=gridcell]")
    cells.filter(has_text=re.compile(f"^{re.escape(text)}$")).first.wait_for(state="attached")


def test_a_fork_shows_as_a_branch_and_can_bring_back_the_memories_of_then(
    page, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    _seed(data, "I live in Porto", "I live in Lisbon")
    page.set_default_timeout(60_000)  # the History tab on two busy cores
    with LiveApp(data) as app:
        page.goto(f"{app.url}/inspector?user=zed&thread=t1&tab=History")
        page.get_by_text("Open a checkpoint").wait_for()
        _pick(page, "Checkpoint", "I'll remember that you live in Porto")
        then = page.get_by_test_id("stDataFrame").filter(has_text="User lives in Porto")
        expect(page.get_by_text("Changed since (1)")).to_be_visible(timeout=60_000)
        expect(then.first).to_be_attached()  # a grid fills its cells after it is drawn
        page.get_by_text("restore the memories as they were then").click()
        page.get_by_role("button", name="Fork from this checkpoint").click()
        _toast_in_view(page, "memories restored as they were then")
        expect(page.get_by_text("current branch · from the start")).to_be_visible()
        expect(page.get_by_text(re.compile(r"branch 2 · branches off at step 3"))).to_be_visible()
        _shot(page, tmp_path, "history-after-fork-desktop")

        page.get_by_role("link", name="Continue this conversation in the chat").click()
        page.get_by_test_id("stChatInputTextArea").wait_for()  # the chat, not the inspector
        settled(page)
        answer = _chat(page, "Where do I live?")
        assert "Porto" in answer and "Lisbon" not in answer


def test_a_memory_note_and_its_provenance_link_open_the_turn_that_wrote_it(
    browser, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        with LiveApp(tmp_path / "data") as app:
            page.goto(f"{app.url}/?user=zed")
            _chat(page, "I live in Porto")
            _chat(page, "I live in Lisbon")
            page.get_by_role("link", name="Open this memory").last.click()
            page.wait_for_url(re.compile(r"tab=Memories.*memory=|memory=.*tab=Memories"))
            item = page.locator("[class*='st-key-memory_item_']").first
            expect(item.get_by_text("User lives in Lisbon", exact=True).first).to_be_visible()
            expect(item.get_by_text("History of this memory (2 changes)")).to_be_visible()
            _shot(page, tmp_path, "memories-narrow")
            item.get_by_role("link", name="Open turn 1").click()
            page.wait_for_url(re.compile(r"checkpoint="))
            state = page.get_by_role("tabpanel", name="History").get_by_test_id("stChatMessage")
            state.get_by_text("I live in Porto", exact=True).first.wait_for()
            expect(state.get_by_text("I live in Lisbon", exact=True)).to_have_count(0)
            # The linked turn opens above the tree, in view, with no scrolling to find it.
            expect(page.get_by_role("heading", name="Open a checkpoint")).to_be_in_viewport()
            _shot(page, tmp_path, "provenance-checkpoint-narrow")
    finally:
        context.close()


def test_delete_all_asks_then_deletes_and_the_toast_is_in_view(browser, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed(data, "My name is Zed and I love sailing")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        with LiveApp(data) as app:
            page.goto(f"{app.url}/inspector?user=zed&thread=t1&tab=Memories")
            page.get_by_role("button", name="Delete all 2 memories").click()
            page.get_by_role("button", name="Yes, delete all 2").click()
            _toast_in_view(page, "Deleted all 2 memories")
            expect(page.locator("[class*='st-key-memory_item_']")).to_have_count(0)
    finally:
        context.close()


def test_editing_a_message_forks_and_the_agent_answers_the_edited_one(page, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed(data, "I live in Porto")
    page.set_default_timeout(60_000)  # the History tab on two busy cores
    with LiveApp(data) as app:
        page.goto(f"{app.url}/inspector?user=zed&thread=t1&tab=History")
        _pick(page, "Checkpoint", "step 0 ")
        # A pick leaves the opened checkpoint below the tree, where it was; a link opens above.
        tree = page.get_by_test_id("stExpander").filter(has_text="current branch").first
        opened = page.get_by_role("heading", name="Open a checkpoint")
        assert opened.bounding_box()["y"] > tree.bounding_box()["y"]
        page.get_by_text("Edit a message, then fork").click()
        expect(page.get_by_label("New text")).to_be_visible()
        page.get_by_label("New text").fill("I live in Faro")
        with rerun_of(page):  # the text is committed, the page reruns
            page.get_by_label("New text").press("Tab")
        page.get_by_role("button", name="Fork with this text").click()
        _toast_in_view(page, "the agent answered")
        expect(
            page.get_by_text(re.compile(r"branch starts: edited copy of step 0"))
        ).to_be_attached()
        _shot(page, tmp_path, "edit-then-fork-desktop")
        page.get_by_role("tab", name="Model calls").click()
        page.get_by_text("Call 1 of 2").wait_for()
        expect(page.get_by_text("asked for 1 tool call: upsert_memory")).to_be_visible()
        _shot(page, tmp_path, "model-calls-desktop")
    runtime = open_runtime(data)
    try:
        assert {m.content for m in memories.list_memories(runtime.store, "zed")} == {
            "User lives in Faro"
        }
    finally:
        runtime.close()


def test_a_forgotten_memory_opens_with_its_versions_and_turns(browser, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        with LiveApp(tmp_path / "data") as app:
            page.goto(f"{app.url}/?user=zed")
            _chat(page, "I love sailing")
            _chat(page, "Forget that I love sailing")
            page.get_by_role("link", name="Open this memory").last.click()
            page.wait_for_url(re.compile(r"memory="))
            item = page.locator(".st-key-memory_item_forgotten")
            expect(item.get_by_text("User loves sailing").first).to_be_visible()
            expect(item.get_by_text(re.compile(r"^Forgotten .*not recalled\.$"))).to_be_visible()
            expect(item.get_by_text("History of this memory (2 changes)")).to_be_visible()
            _shot(page, tmp_path, "forgotten-memory-narrow")
            item.get_by_role("link", name="Open turn 2").click()  # the turn that forgot it
            page.wait_for_url(re.compile(r"checkpoint="))
            state = page.get_by_role("tabpanel", name="History").get_by_test_id("stChatMessage")
            state.get_by_text("Forget that I love sailing", exact=True).first.wait_for()
    finally:
        context.close()


def test_editing_an_early_message_drops_the_replies_to_the_original(page, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed(data, "I live in Porto", "I love sailing")
    page.set_default_timeout(60_000)
    with LiveApp(data) as app:
        page.goto(f"{app.url}/inspector?user=zed&thread=t1&tab=History")  # the latest checkpoint
        page.get_by_text("Edit a message, then fork").click()
        _pick(page, "Message", "#1 human")
        # The pick reruns the page: the box then holds that message's text, ready to edit.
        expect(page.get_by_label("New text")).to_have_value("I live in Porto")
        page.get_by_label("New text").fill("I live in Faro")
        with rerun_of(page):
            page.get_by_label("New text").press("Tab")
        page.get_by_role("button", name="Fork with this text").click()
        _toast_in_view(page, "the agent answered")
        page.get_by_role("tab", name="State").click()
        said = page.get_by_role("tabpanel", name="State").get_by_test_id("stChatMessage")
        said.get_by_text("I live in Faro", exact=True).wait_for()
        expect(said.get_by_text("I love sailing", exact=True)).to_have_count(0)
        expect(said.get_by_text(re.compile("remember that you live in Porto"))).to_have_count(0)
        said.get_by_text(re.compile("you live in Faro")).wait_for()
        _shot(page, tmp_path, "edit-early-message-desktop")
