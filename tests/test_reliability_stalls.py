"""A model that never stops streaming: every call ends, the message is kept, the thread works.

Before these bounds, a token every 0.2 s (or an SSE ping every 0.5 s) at
``MEMORY_AGENT_REQUEST_TIMEOUT=5`` ran until killed, the model connection stayed open after the
browser closed, and SIGTERM left the server at "Stopping…" for 30 s or more. The model here is
``DripModel``: a local server whose reply never ends.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from memory_agent.conversations import chat, threads
from memory_agent.deadlines import ModelCallTimeout
from memory_agent.models import errors
from memory_agent.runtime import open_runtime
from tests.openai_stub import OpenAIStub
from tests.reliability_checks import DripModel, wait_for
from tests.test_chat_browser import hermetic_app, messages, settled

USER = "drip-user"


def _use_model(monkeypatch: pytest.MonkeyPatch, url: str, idle: str, deadline: str) -> None:
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", url)
    monkeypatch.setenv("MEMORY_AGENT_MODEL", "drip")
    monkeypatch.setenv("MEMORY_AGENT_REQUEST_TIMEOUT", idle)
    monkeypatch.setenv("MEMORY_AGENT_MODEL_CALL_DEADLINE", deadline)


@pytest.mark.parametrize(
    ("mode", "ends_within", "sentence"),
    [("tokens", (3.0, 6.0), errors.DEADLINE), ("pings", (1.0, 4.0), errors.TIMEOUT)],
    ids=["a-token-every-0.2s-hits-the-deadline", "pings-only-hit-the-idle-timeout"],
)
def test_an_endless_reply_ends_with_one_sentence_and_the_message_is_kept(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_stub: OpenAIStub,
    mode: str,
    ends_within: tuple[float, float],
    sentence: str,
) -> None:
    with DripModel(mode, every=0.2 if mode == "tokens" else 0.3) as drip:
        _use_model(monkeypatch, drip.url, idle="1", deadline="3")
        runtime = open_runtime(tmp_path / "data")
        try:
            started = time.monotonic()
            with pytest.raises(ModelCallTimeout) as raised:
                list(chat.send(runtime, USER, "t1", "hello?"))
            took = time.monotonic() - started
            print(f"\n{mode}: the call ended after {took:.1f} s")
            assert ends_within[0] <= took <= ends_within[1]
            assert errors.describe_model_error(raised.value) == sentence
            assert chat.pending_error(runtime, USER, "t1") == sentence  # after a reload too
            wait_for(lambda: drip.open == 0, 2, "the model connection closing")
            assert [m.text for m in threads.messages(runtime, USER, "t1")] == ["hello?"]

            _use_model(monkeypatch, openai_stub.url, idle="5", deadline="30")  # model healthy
            list(chat.resume(runtime, USER, "t1"))
            stored = threads.messages(runtime, USER, "t1")
            assert [m.type for m in stored] == ["human", "ai"]
            assert stored[-1].text == "Hello from the stub model."
        finally:
            runtime.close()


def test_a_reader_that_leaves_mid_reply_closes_the_model_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with DripModel("tokens") as drip:
        _use_model(monkeypatch, drip.url, idle="30", deadline="300")
        runtime = open_runtime(tmp_path / "data")
        try:
            events = chat.send(runtime, USER, "t1", "tell me a long story")
            assert [next(events) for _ in range(3)] == ["la "] * 3
            started = time.monotonic()
            events.close()  # what a closed tab or a stopped script does to the generator
            closed_in = time.monotonic() - started
            wait_for(lambda: drip.open == 0, 2, "the model connection closing")
            print(f"\nthe reader left: the turn ended in {closed_in:.2f} s")
            assert closed_in < 2
            assert [m.text for m in threads.messages(runtime, USER, "t1")] == [
                "tell me a long story"
            ]
            assert chat.has_pending_turn(runtime, USER, "t1"), "Retry is offered"
        finally:
            runtime.close()


def test_a_cancelled_turn_that_waits_for_a_silent_model_ends_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tab closed while the model has not sent a word yet: no element update ever comes."""
    with DripModel("pings", every=0.3) as drip:
        _use_model(monkeypatch, drip.url, idle="60", deadline="300")
        runtime = open_runtime(tmp_path / "data")
        gone = threading.Event()
        outcome: list[BaseException] = []

        def turn() -> None:
            try:
                list(chat.send(runtime, USER, "t1", "hello?", cancelled=gone.is_set))
            except Exception as error:
                outcome.append(error)

        worker = threading.Thread(target=turn)
        try:
            worker.start()
            wait_for(lambda: drip.open == 1, 10, "the model request starting")
            gone.set()
            took = wait_for(lambda: not worker.is_alive(), 3, "the turn ending")
            wait_for(lambda: drip.open == 0, 2, "the model connection closing")
            print(f"\ncancelled while the model was silent: ended in {took:.2f} s")
            assert len(outcome) == 1
        finally:
            gone.set()
            worker.join(timeout=10)
            runtime.close()


@pytest.mark.browser
def test_the_page_ends_an_endless_reply_with_one_line_and_offers_retry(
    tmp_path: Path, page: Page
) -> None:
    with (
        DripModel("tokens") as drip,
        hermetic_app(
            tmp_path / "data",
            MEMORY_AGENT_BASE_URL=drip.url,
            MEMORY_AGENT_MODEL="drip",
            MEMORY_AGENT_REQUEST_TIMEOUT="2",
            MEMORY_AGENT_MODEL_CALL_DEADLINE="4",
        ) as app,
    ):
        page.goto(f"{app.url}/?user={USER}")
        settled(page)
        page.get_by_test_id("stChatInputTextArea").fill("hello?")
        page.get_by_test_id("stChatInputTextArea").press("Enter")
        expect(page.get_by_text(errors.DEADLINE)).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Retry")).to_be_visible()
        expect(messages(page).first).to_contain_text("hello?")
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_enabled()
        wait_for(lambda: drip.open == 0, 5, "the model connection closing")  # closes as it ends


@pytest.mark.browser
@pytest.mark.parametrize("how", ["the-tab-closes", "the-server-gets-sigterm"])
@pytest.mark.parametrize("mode", ["tokens", "pings"])
def test_leaving_mid_reply_closes_the_model_request_and_the_server_stops_fast(
    tmp_path: Path, browser, how: str, mode: str
) -> None:
    """With pings only the page never updates, so only the session check can end the call."""
    with (
        DripModel(mode, every=0.2 if mode == "tokens" else 0.3) as drip,
        hermetic_app(
            tmp_path / "data", MEMORY_AGENT_BASE_URL=drip.url, MEMORY_AGENT_MODEL="drip"
        ) as app,
    ):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{app.url}/?user={USER}")
        settled(page)
        page.get_by_test_id("stChatInputTextArea").fill("tell me a long story")
        page.get_by_test_id("stChatInputTextArea").press("Enter")
        wait_for(lambda: drip.open == 1, 30, "the model request starting")
        if mode == "tokens":
            expect(page.get_by_text("la la la")).to_be_visible(timeout=20_000)
        else:
            expect(page.get_by_text("Thinking…")).to_be_visible(timeout=20_000)
        if how == "the-tab-closes":
            context.close()
            took = wait_for(lambda: drip.open == 0, 10, "the model connection closing")
            print(f"\n{mode}, tab closed: the model request closed after {took:.2f} s")
            assert app.process.poll() is None
        else:
            app.process.send_signal(signal.SIGTERM)
            took = wait_for(lambda: app.process.poll() is not None, 10, "the server exiting")
            print(f"\n{mode}, SIGTERM: the server exited after {took:.2f} s")
            # The process is gone, so its socket is closed; the stub notices at its next write.
            wait_for(lambda: drip.open == 0, 2, "the stub seeing the connection closed")
            context.close()
        assert took < 5
