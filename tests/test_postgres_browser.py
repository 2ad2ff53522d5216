"""Two `streamlit run app.py` servers on one Postgres database, driven in Debian's Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.test_chat_browser import hermetic_app, messages, send, settled

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["postgres"], indirect=True)]


def test_a_conversation_started_on_one_server_continues_on_another(
    data_dir: Path, tmp_path: Path, page: Page
) -> None:
    """Server A hears about Zed; B shows that chat, continues it, and recalls it in a new one."""
    url = {"MEMORY_AGENT_DATABASE_URL": os.environ["MEMORY_AGENT_DATABASE_URL"]}
    with (
        hermetic_app(tmp_path / "a" / "data", **url) as first,
        hermetic_app(tmp_path / "b" / "data", **url) as second,
    ):
        page.goto(f"{first.url}/?user=zed")
        send(page, "My name is Zed and I love sailing")
        expect(page.get_by_text("Saved to memory: User loves sailing")).to_have_count(1)
        expect(page).to_have_url(re.compile(r"thread=[0-9a-f-]{36}"))
        thread = re.search(r"thread=([0-9a-f-]{36})", page.url).group(1)

        page.goto(f"{second.url}/?user=zed")
        settled(page)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("button", name="My name is Zed and I love sailing").click()
        settled(page)
        expect(page).to_have_url(re.compile(f"thread={thread}"))
        expect(messages(page)).to_have_count(2)
        send(page, "I work at Acme")
        expect(messages(page).nth(3)).to_contain_text("Acme")

        sidebar.get_by_role("button", name="New chat").click()
        settled(page)
        expect(page.get_by_role("heading", name="New chat")).to_be_visible()
        expect(messages(page)).to_have_count(0)
        send(page, "What do you know about me?")
        reply = messages(page).nth(1)
        expect(reply).to_contain_text("You love sailing")
        expect(reply).to_contain_text("You work at Acme")

        page.goto(f"{first.url}/?user=zed&thread={thread}")
        expect(messages(page)).to_have_count(4)
        expect(messages(page).nth(2)).to_contain_text("I work at Acme")
