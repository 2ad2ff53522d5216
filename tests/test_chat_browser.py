"""The chat page in Debian's Chromium against a real `streamlit run app.py` server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.live_app import LiveApp, settled
from tests.openai_stub import OpenAIStub, Reply

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)  # the first page load opens the runtime: a few seconds

_INHERITED_SETTINGS = ("MEMORY_AGENT_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_")


def hermetic_app(data_dir: Path, **env: str) -> LiveApp:
    """A LiveApp that sees only the settings given here, not the developer's keys."""
    app = LiveApp(data_dir, env)
    for name in [n for n in app.env if n.startswith(_INHERITED_SETTINGS)]:
        del app.env[name]
    app.env.update({"MEMORY_AGENT_DATA_DIR": str(data_dir), **env})
    return app


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """One server on the offline demo model for the module; each test uses its own user."""
    with hermetic_app(tmp_path_factory.mktemp("demo") / "data") as app:
        yield app


def messages(page: Page):
    return page.get_by_test_id("stChatMessage")


def send(page: Page, text: str) -> None:
    """Type a message and wait for its turn: the user's bubble and the agent's (or its error)."""
    settled(page)
    before = messages(page).count()
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_enabled()
    box.fill(text)
    box.press("Enter")
    expect(messages(page)).to_have_count(before + 2)
    settled(page)


def open_thread_menu(page: Page) -> None:
    settled(page)
    page.get_by_test_id("stPopover").get_by_role("button").first.click()
    expect(page.get_by_role("button", name="Delete conversation")).to_be_visible()


def test_a_reply_streams_with_its_memory_note_and_survives_a_reload(
    demo_app: LiveApp, page: Page
) -> None:
    page.goto(f"{demo_app.url}/?user=zed")
    send(page, "My name is Zed and I love sailing")
    expect(messages(page).nth(1)).to_contain_text("Nice to meet you, Zed!")
    expect(page.get_by_text("Saved to memory: User loves sailing")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]user=zed&thread=[0-9a-f-]{36}"))

    page.reload()
    expect(messages(page)).to_have_count(2)
    expect(messages(page).nth(0)).to_contain_text("My name is Zed and I love sailing")
    expect(messages(page).nth(1)).to_contain_text("Nice to meet you, Zed!")
    expect(page.get_by_text("Saved to memory: User's name is Zed")).to_be_visible()


def test_a_new_chat_answers_from_what_an_earlier_chat_saved(demo_app: LiveApp, page: Page) -> None:
    page.goto(f"{demo_app.url}/?user=zed2")
    send(page, "My name is Zed and I love sailing")
    expect(page.get_by_text("Saved to memory: User loves sailing")).to_have_count(1)

    page.get_by_test_id("stSidebar").get_by_role("button", name="New chat").click()
    settled(page)
    expect(page.get_by_role("heading", name="New chat")).to_be_visible()
    expect(messages(page)).to_have_count(0)
    send(page, "What do you know about me?")
    reply = messages(page).nth(1)
    expect(reply).to_contain_text("Your name is Zed")
    expect(reply).to_contain_text("You love sailing")
    page.get_by_text("Recalled 2 memories for this message").click()
    expect(reply).to_contain_text("User loves sailing")


def test_rename_and_delete_a_conversation(demo_app: LiveApp, page: Page) -> None:
    page.goto(f"{demo_app.url}/?user=ann")
    send(page, "I love sailing")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("button", name="I love sailing")).to_be_visible()

    open_thread_menu(page)
    page.get_by_label("Title").fill("Boat trips")
    page.get_by_role("button", name="Rename").click()
    expect(sidebar.get_by_role("button", name="Boat trips")).to_be_visible()
    expect(page.get_by_role("heading", name="Boat trips")).to_be_visible()

    settled(page)  # the menu stays open after Rename
    page.get_by_role("button", name="Delete conversation").click()
    expect(page.get_by_text("Delete “Boat trips”?")).to_be_visible()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(sidebar.get_by_text("No conversations yet.")).to_be_visible()
    expect(page.get_by_role("heading", name="New chat")).to_be_visible()


def test_typed_html_is_shown_as_text_and_never_runs(demo_app: LiveApp, page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{demo_app.url}/?user=mallory")
    text = '<img src=x onerror="alert(1)"> **not bold**'
    send(page, text)
    expect(messages(page).nth(0)).to_contain_text(text)
    expect(messages(page).nth(1)).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []


def test_a_model_error_shows_the_reason_and_retry_recovers(
    tmp_path: Path, openai_stub: OpenAIStub, page: Page
) -> None:
    openai_stub.replies.append(Reply(status=401))
    openai_stub.default_reply = Reply(text="Back on course.")
    env = {"MEMORY_AGENT_BASE_URL": openai_stub.url, "MEMORY_AGENT_MODEL": "stub-model"}
    with hermetic_app(tmp_path / "data", **env) as app:
        page.goto(f"{app.url}/?user=zed")
        send(page, "I love sailing")
        expect(page.get_by_text("The model server rejected the API key (401)")).to_be_visible()
        expect(messages(page).nth(0)).to_contain_text("I love sailing")

        settled(page)
        page.get_by_role("button", name="Retry").click()
        expect(messages(page).nth(1)).to_contain_text("Back on course.")
        expect(page.get_by_role("button", name="Retry")).to_have_count(0)
        expect(messages(page)).to_have_count(2)
        expect(
            page.get_by_test_id("stChatMessage").filter(has_text="I love sailing")
        ).to_have_count(1)


def test_priya_lisbon_and_forget_as_a_presenter_types_them(demo_app: LiveApp, page: Page) -> None:
    page.goto(f"{demo_app.url}/?user=priya")
    send(page, "I'm Priya, I work at Globex as a nurse and I have two cats")
    expect(messages(page).nth(1)).to_contain_text("Nice to meet you, Priya!")
    for note in ["User's name is Priya", "User works at Globex", "User works as a nurse"]:
        expect(page.get_by_text(f"Saved to memory: {note}")).to_have_count(1)
    expect(page.get_by_text("Saved to memory: User has two cats")).to_have_count(1)
    send(page, "do I have pets?")
    expect(messages(page).nth(3)).to_contain_text("You have two cats.")

    send(page, "I live in Porto")
    send(page, "actually I moved to Lisbon")
    expect(messages(page).nth(7)).to_contain_text("you live in Lisbon (before: you live in Porto)")
    send(page, "where do I live?")
    expect(messages(page).nth(9)).to_contain_text("You live in Lisbon.")

    send(page, "please forget that I live in Lisbon")
    expect(messages(page).nth(11)).to_contain_text("I've forgotten that you live in Lisbon.")
    send(page, "where do I live?")
    expect(messages(page).nth(13)).to_contain_text("I don't know that yet")
    send(page, "What do you know about me?")
    reply = messages(page).nth(15)
    expect(reply).to_contain_text("Here is what I remember about you (4 memories)")
    expect(reply).not_to_contain_text("Lisbon")
