"""kill -9 the real Streamlit server mid-turn, with a browser chatting: nothing finished is lost.

Each round restarts ``streamlit run app.py`` on the same data directory, reopens the thread's URL
in Chromium, finishes any turn the last kill cut short with the page's Retry button, sends a new
message, and kills the server at a chosen moment of that turn. The model is the local stub, so
each moment can be aimed at: while the model is thinking, after a memory was saved, in the middle
of a streamed reply, right after Enter, and between turns. What each kill left behind is printed.
(The few milliseconds between a tool call and its result cannot be aimed at from outside; the
ten random kills of ``test_crash.py`` sample it.)
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from memory_agent.conversations import chat
from memory_agent.models import errors
from memory_agent.runtime import open_runtime
from tests.live_app import LiveApp
from tests.openai_stub import OpenAIStub, Reply
from tests.reliability_checks import half_written_memories, integrity_ok, unanswered_tool_calls
from tests.test_chat_browser import hermetic_app, messages, settled

pytestmark = pytest.mark.browser
USER = "crash-user"
SLOW = 30.0
"""A model delay no round waits out: the server is killed while the stub is still sleeping."""


@dataclass(frozen=True)
class Moment:
    """Where in a turn the kill lands: the stub's script, and what to wait for before killing."""

    message: str
    replies: list[Reply]
    requests: int = 0
    """Kill once the stub has received this many chat requests for the turn…"""
    streamed: bool = False
    """…or once it has started streaming the reply's text…"""
    finished: bool = False
    """…or once the page shows the turn finished (a kill between turns)."""


def _memory_call(fact: str) -> Reply:
    return Reply(tool_calls=[("upsert_memory", f'{{"content": "{fact}", "context": "chat"}}')])


MOMENTS = {
    "model-thinking": Moment("hello while thinking", [Reply(delay=SLOW)], requests=1),
    "after-memory-saved": Moment(
        "I love sailing", [_memory_call("User loves sailing"), Reply(delay=SLOW)], requests=2
    ),
    "mid-stream": Moment(
        "tell me a long story",
        [Reply(text="Once upon a time " * 40, chunk_delay=0.05)],
        streamed=True,
    ),
    "right-after-enter": Moment("hello right after enter", []),
    "between-turns": Moment("hello between turns", [], finished=True),
}


def _start(data_dir: Path, stub: OpenAIStub) -> LiveApp:
    return hermetic_app(
        data_dir, MEMORY_AGENT_BASE_URL=stub.url, MEMORY_AGENT_MODEL="stub-model"
    ).__enter__()


def _kill(app: LiveApp) -> None:
    assert app.process is not None
    os.kill(app.process.pid, signal.SIGKILL)
    app.process.wait()


def _type(page: Page, text: str) -> None:
    settled(page)
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_enabled()
    box.fill(text)
    box.press("Enter")


def _stored_turns(data_dir: Path, thread: str) -> list[chat.Turn]:
    runtime = open_runtime(data_dir)
    try:
        assert half_written_memories(runtime, data_dir, USER) == []
        assert unanswered_tool_calls(runtime, USER, thread) == []
        return chat.history(runtime, USER, thread)
    finally:
        runtime.close()


def _send_and_wait_for(moment: Moment, stub: OpenAIStub, page: Page, shown: int) -> None:
    """Send the moment's message, then return when the turn has reached the moment."""
    requests, tokens = len(stub.chat_requests()), len(stub.first_token_sent)
    _type(page, moment.message)
    if moment.finished:
        expect(messages(page)).to_have_count(shown + 2)
        settled(page)
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if moment.streamed and len(stub.first_token_sent) > tokens:
            return
        if not moment.streamed and len(stub.chat_requests()) >= requests + moment.requests:
            return
        time.sleep(0.005)
    raise AssertionError(f"the turn never reached the moment to kill: {moment}")


def test_kill_9_of_the_streamlit_server_mid_turn(
    data_dir: Path, openai_stub: OpenAIStub, page: Page
) -> None:
    rng = random.Random(7)
    openai_stub.default_reply = Reply(text="Recovered answer.")
    app = _start(data_dir, openai_stub)
    page.goto(f"{app.url}/?user={USER}")
    _type(page, "My name is Zed")
    expect(messages(page).nth(1)).to_contain_text("Recovered answer.")
    thread = re.search(r"thread=([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]
    finished = [("My name is Zed", "Recovered answer.")]  # every turn the page showed done
    outcomes: dict[str, str] = {}
    started = time.perf_counter()
    try:
        for name, moment in MOMENTS.items():
            openai_stub.replies.clear()
            openai_stub.replies.extend(moment.replies)
            _send_and_wait_for(moment, openai_stub, page, 2 * len(finished))
            time.sleep(rng.uniform(0.0, 0.05))  # vary the instant within the moment
            _kill(app)

            # What held: both files whole, each finished turn stored as shown, none half-written.
            assert integrity_ok(data_dir), name
            stored = _pairs(_stored_turns(data_dir, thread))
            assert stored[: len(finished)] == finished, name
            assert len(stored) - len(finished) <= 1, name  # at most the cut turn, once

            # The conversation goes on: restart, reopen the thread's URL, retry the cut turn.
            openai_stub.replies.clear()
            app = _start(data_dir, openai_stub)
            page.goto(f"{app.url}/?user={USER}&thread={thread}")
            settled(page)
            pending = _pending(data_dir, thread)
            if pending:
                expect(page.get_by_text(errors.UNFINISHED)).to_be_visible()
                page.get_by_role("button", name="Retry").click()
                expect(page.get_by_role("button", name="Retry")).to_have_count(0)
                settled(page)
            stored = _pairs(_stored_turns(data_dir, thread))
            if len(stored) == len(finished):
                outcomes[name] = "message not stored yet"  # killed before its first checkpoint
            else:
                assert stored[-1] == (moment.message, "Recovered answer."), name
                outcomes[name] = "retried" if pending else "had finished"
            finished = stored
            expect(messages(page)).to_have_count(2 * len(finished))

        # After the last restart a new turn works, and every earlier turn is still there.
        _type(page, "hello again")
        expect(messages(page)).to_have_count(2 * len(finished) + 2)
        settled(page)
    finally:
        app.__exit__(None, None, None)
    assert _pairs(_stored_turns(data_dir, thread)) == [
        *finished,
        ("hello again", "Recovered answer."),
    ]
    print(
        f"\n{len(MOMENTS)} kills of the Streamlit server in {time.perf_counter() - started:.0f} s"
    )
    for name, outcome in outcomes.items():
        print(f"  {name}: {outcome}")


def _pairs(turns: list[chat.Turn]) -> list[tuple[str, str]]:
    """(message, reply) per stored turn; a reply not written yet reads as ``""``."""
    pairs: list[tuple[str, str]] = []
    for turn in turns:
        if turn.role == "user":
            pairs.append((turn.text, ""))
        else:
            pairs[-1] = (pairs[-1][0], turn.text)
    return pairs


def _pending(data_dir: Path, thread: str) -> bool:
    runtime = open_runtime(data_dir)
    try:
        return chat.has_pending_turn(runtime, USER, thread)
    finally:
        runtime.close()
