"""The chat page on a long conversation: recent turns, earlier ones on demand, one draw a turn."""

from __future__ import annotations

import json
from pathlib import Path

from memory_agent.conversations import chat, threads
from memory_agent.runtime import open_runtime
from memory_agent.state import WINDOW_MESSAGES
from tests.test_chat_page import (
    app_data_dir,  # noqa: F401 (autouse: the page's data dir)
    bubbles,
    captions,
    no_traceback,
    open_page,
    say,
    thread_titles,
)

TURNS = 60


def _long_thread(data_dir: Path, thread: str = "long") -> None:
    runtime = open_runtime(data_dir)
    try:
        for number in range(TURNS):
            list(chat.send(runtime, "zed", thread, f"hello number {number}"))
    finally:
        runtime.close()


def _said(at) -> list[str]:
    return [text for role, text in bubbles(at) if role == "user"]


def test_a_long_thread_opens_on_its_recent_turns_and_pages_back_to_the_first(
    data_dir: Path,
) -> None:
    _long_thread(data_dir)
    at = open_page(user="zed", thread="long")
    no_traceback(at)
    recent = _said(at)
    assert len(bubbles(at)) <= WINDOW_MESSAGES
    assert recent[-1] == f"hello number {TURNS - 1}" and "hello number 0" not in recent

    pages = 0
    while any(b.label == "Show earlier messages" for b in at.main.button):
        at = _click_earlier(at)
        no_traceback(at)
        pages += 1
        assert pages < TURNS
    assert _said(at) == [f"hello number {n}" for n in range(TURNS)]
    assert pages >= 2  # in pages, not all at once


def _click_earlier(at):
    [button] = [b for b in at.main.button if b.label == "Show earlier messages"]
    return button.click().run()


def test_a_turn_in_a_long_thread_is_drawn_as_stored_and_listed_first(data_dir: Path) -> None:
    _long_thread(data_dir)
    runtime = open_runtime(data_dir)
    try:
        list(chat.send(runtime, "zed", "other", "a newer conversation"))
    finally:
        runtime.close()
    at = say(open_page(user="zed", thread="long"), "My name is Zed and I love sailing")
    no_traceback(at)
    (_, user_text), (_, reply) = bubbles(at)[-2:]
    assert user_text == "My name is Zed and I love sailing" and "Zed" in reply
    assert "Saved to memory: User loves sailing" in captions(at)
    last = " ".join(c.value for c in at.chat_message[-1].caption)
    assert "No memories recalled" in last  # the stored turn, with its recall line
    assert thread_titles(at)[0] == "hello number 0"  # this conversation moved to the top


def test_the_whole_conversation_is_offered_as_a_download(data_dir: Path) -> None:
    _long_thread(data_dir)
    runtime = open_runtime(data_dir)
    try:
        document = json.loads(threads.transcript_as_json(runtime, "zed", "long"))
    finally:
        runtime.close()
    at = open_page(user="zed", thread="long")
    no_traceback(at)
    assert at.get("download_button")  # built only when clicked: not readable here
    humans = [m["data"]["content"] for m in document["messages"] if m["type"] == "human"]
    assert humans == [f"hello number {n}" for n in range(TURNS)]
