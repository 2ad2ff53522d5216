"""Every way the model can fail, on both surfaces: the chat page (AppTest) and the command line.

A failed model call is one clear sentence, the user's message is kept, and retrying answers it
without storing it twice. A malformed tool call is not a failure of the turn: the model is told
what was wrong (a tool error) and answers, and nothing half-formed is saved as a memory.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from memory_agent import memories
from memory_agent.cli import main
from memory_agent.conversations import chat, threads
from memory_agent.models import errors
from memory_agent.runtime import open_runtime
from tests.live_app import free_port
from tests.openai_stub import OpenAIStub, Reply
from tests.wire_emulator import Reply as WireReply
from tests.wire_emulator import WireEmulator

APP = str(Path(__file__).resolve().parent.parent / "app.py")
USER = "zed"
MESSAGE = "I love sailing"
RECOVERED = "Recovered answer."
REQUEST_TIMEOUT = 0.5


@dataclass(frozen=True)
class Fault:
    """Scripted replies (``None``: no server listens at the base URL) and the sentence shown."""

    replies: list[Reply] | None
    sentence: str


# The client retries 429, 5xx, timeouts and refused connections once, so those are scripted twice.
MODEL_FAULTS = {
    "401": Fault([Reply(status=401)], errors.AUTH),
    "429": Fault(
        [Reply(status=429)] * 2, errors.RATE_LIMITED + " The server said: “stub error 429”"
    ),
    "500": Fault(
        [Reply(status=500)] * 2,
        "The model server failed (500): retry in a moment. The server said: “stub error 500”",
    ),
    "timeout": Fault([Reply(delay=REQUEST_TIMEOUT * 3)] * 2, errors.TIMEOUT),
    "refused": Fault(None, errors.UNREACHABLE),
    "stream-cut": Fault(
        [Reply(text="Half of a reply that stops", cut_after_chunks=3)], errors.CUT_OFF
    ),
}
TOOL_FAULTS = {
    "malformed-json": ('{"content": "User loves sailing", ', "not valid JSON"),
    "missing-content": ('{"context": "said while chatting"}', "content is required"),
}


@pytest.fixture
def stub(
    openai_stub: OpenAIStub, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenAIStub]:
    """The model is ChatOpenAI talking to the stub; the page's cached runtime is per test."""
    monkeypatch.setenv("MEMORY_AGENT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", openai_stub.url)
    monkeypatch.setenv("MEMORY_AGENT_MODEL", "stub-model")
    monkeypatch.setenv("MEMORY_AGENT_REQUEST_TIMEOUT", str(REQUEST_TIMEOUT))
    ui.get_runtime.clear()
    yield openai_stub
    ui.get_runtime().close()
    ui.get_runtime.clear()


def script(stub: OpenAIStub, fault: Fault, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next model call fail this way; once it has, the stub answers ``RECOVERED``."""
    stub.default_reply = Reply(text=RECOVERED)
    if fault.replies is None:
        monkeypatch.setenv("MEMORY_AGENT_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    else:
        stub.replies.extend(fault.replies)


def heal(stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model server is back (the refused case pointed elsewhere)."""
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", stub.url)
    assert not stub.replies, "every scripted failure was used up by the failed turn"


def stored(data_dir: Path, thread: str) -> tuple[list[str], list[str]]:
    """The thread's human messages and tool results as stored, and the user's memories."""
    runtime = open_runtime(data_dir)
    try:
        messages = threads.messages(runtime, USER, thread)
        humans = [str(m.content) for m in messages if m.type == "human"]
        tools = [f"{m.status}: {m.content}" for m in messages if m.type == "tool"]
        contents = [m.content for m in memories.list_memories(runtime.store, USER)]
        return humans, tools + contents
    finally:
        runtime.close()


# ---- the chat page ------------------------------------------------------------------------------


def page_send(text: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=20)
    at.query_params["user"] = USER
    return at.run().chat_input[0].set_value(text).run()


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    return [
        (m.name, ([t.value for t in m.text] or [md.value for md in m.markdown[:1]] or [""])[0])
        for m in at.chat_message
    ]


@pytest.mark.parametrize("name", MODEL_FAULTS)
def test_page_shows_one_sentence_keeps_the_message_and_retry_answers_once(
    stub: OpenAIStub, data_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    fault = MODEL_FAULTS[name]
    script(stub, fault, monkeypatch)
    started = time.perf_counter()
    at = page_send(MESSAGE)
    if name == "timeout":
        print(f"\ntimeout {REQUEST_TIMEOUT} s reported after {time.perf_counter() - started:.2f} s")
    assert not at.exception
    assert [e.value for e in at.error] == [fault.sentence]
    assert bubbles(at)[0] == ("user", MESSAGE)
    thread = at.query_params["thread"]

    heal(stub, monkeypatch)
    next(b for b in at.button if b.label == "Retry").click().run()
    assert not at.exception and not at.error
    assert bubbles(at) == [("user", MESSAGE), ("assistant", RECOVERED)]
    assert stored(data_dir, thread)[0] == [MESSAGE]


@pytest.mark.parametrize("name", TOOL_FAULTS)
def test_page_a_malformed_tool_call_is_a_tool_error_and_the_turn_finishes(
    stub: OpenAIStub, data_dir: Path, name: str
) -> None:
    arguments, reason = TOOL_FAULTS[name]
    stub.replies.extend(
        [Reply(tool_calls=[("upsert_memory", arguments)]), Reply(text="I could not save that.")]
    )
    at = page_send(MESSAGE)
    assert not at.exception and not at.error
    assert not any(b.label == "Retry" for b in at.button)
    assert bubbles(at) == [("user", MESSAGE), ("assistant", "I could not save that.")]
    # The model was told, with its own arguments echoed back as it sent them.
    answer = stub.chat_requests()[-1]["body"]["messages"]
    assert answer[-2]["tool_calls"][0]["function"]["arguments"] == arguments
    assert answer[-1]["role"] == "tool" and reason in answer[-1]["content"]
    humans, rest = stored(data_dir, at.query_params["thread"])
    assert humans == [MESSAGE]
    assert len(rest) == 1 and rest[0].startswith("error: ")  # a tool error, no memory


# ---- the command line ---------------------------------------------------------------------------


def cli(data_dir: Path, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, list[str]]:
    code = main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


@pytest.mark.parametrize("name", MODEL_FAULTS)
def test_cli_prints_the_sentence_and_the_retry_command_and_retry_answers_once(
    stub: OpenAIStub,
    data_dir: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    fault = MODEL_FAULTS[name]
    script(stub, fault, monkeypatch)
    code, out, err = cli(data_dir, capsys, "chat", "--user", USER, "--thread", "t1", MESSAGE)
    assert code == 1
    assert out in ("", "Half of \n")  # a reply cut off half-way keeps its line ended
    hint, error = err  # the hint, then the error as the last line (what scripts read)
    assert error == f"error: {fault.sentence}"
    command = hint.split("answer it with: ", 1)[1]
    assert command == f"memory-agent --data-dir {data_dir} chat --user {USER} --retry --thread t1"

    heal(stub, monkeypatch)
    code, out, err = cli(data_dir, capsys, *shlex.split(command)[3:])
    assert (code, out.strip(), err) == (0, RECOVERED, [])
    assert stored(data_dir, "t1")[0] == [MESSAGE]


@pytest.mark.parametrize("name", TOOL_FAULTS)
def test_cli_a_malformed_tool_call_is_a_tool_error_and_the_turn_finishes(
    stub: OpenAIStub, data_dir: Path, capsys: pytest.CaptureFixture, name: str
) -> None:
    arguments, reason = TOOL_FAULTS[name]
    stub.replies.extend(
        [Reply(tool_calls=[("upsert_memory", arguments)]), Reply(text="I could not save that.")]
    )
    code, out, err = cli(data_dir, capsys, "chat", "--user", USER, "--thread", "t1", MESSAGE)
    assert (code, out.strip(), err) == (0, "I could not save that.", [])
    humans, rest = stored(data_dir, "t1")
    assert humans == [MESSAGE]
    assert len(rest) == 1 and rest[0].startswith("error: ") and reason in rest[0]


# ---- each server's own error shapes, live and after a reload ------------------------------------

SAID = " The server said: "
SERVER_FAULTS = {
    "vllm-tool-flags": errors.TOOL_CHOICE
    + SAID
    + '“"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set”',
    "llamacpp-context": errors.CONTEXT_FULL
    + SAID
    + "“the request exceeds the available context size, try increasing it”",
    "ollama-unknown-model": errors.UNKNOWN_MODEL
    + SAID
    + '“model "llama9" not found, try pulling it first”',
    "route-404": errors.WRONG_URL + SAID + "“File Not Found”",
    "500": "The model server failed (500): retry in a moment." + SAID + "“CUDA out of memory”",
    "markup-400": "The model server refused the request (400)." + SAID + "“bad **value**”",
    "html-200": errors.NOT_A_STREAM,
    "malformed-chunk": errors.MALFORMED,
    "stream-error-llamacpp": "The model server stopped the reply with an error: retry."
    + SAID
    + "“slot unavailable: server busy”",
    "stream-error-vllm": "The model server stopped the reply with an error: retry."
    + SAID
    + "“The decoder crashed half-way”",
}
NO_RETRY_HELPS = {
    "vllm-tool-flags",
    "llamacpp-context",
    "ollama-unknown-model",
    "route-404",
    "markup-400",
    "html-200",
}


@pytest.fixture
def emulated(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    """A runtime whose model server speaks vLLM's dialect, scripted fault by fault."""
    with WireEmulator("vllm-hermes") as emulator:
        monkeypatch.setenv("MEMORY_AGENT_BASE_URL", emulator.url)
        monkeypatch.setenv("MEMORY_AGENT_MODEL", "emulated-model")
        runtime = open_runtime(data_dir)
        yield runtime, emulator
        runtime.close()


@pytest.mark.parametrize("fault", SERVER_FAULTS)
def test_a_server_error_keeps_its_words_and_reads_the_same_after_a_reload(
    emulated: tuple, fault: str
) -> None:
    runtime, emulator = emulated
    replies = [WireReply(text="Half", fault=fault)] * (2 if fault == "500" else 1)
    emulator.replies.extend([*replies, WireReply(text=RECOVERED)])
    with pytest.raises(Exception) as failure:
        list(chat.send(runtime, USER, "t1", MESSAGE))
    live = errors.describe_model_error(failure.value)
    assert live == SERVER_FAULTS[fault]
    assert chat.pending_error(runtime, USER, "t1") == live  # what a reload shows
    assert ("retry" in live.lower()) is (fault not in NO_RETRY_HELPS)
    assert "\n" not in live
    # The message is kept, and the turn is answered once the server is fixed.
    assert "".join(map(str, chat.resume(runtime, USER, "t1"))) == RECOVERED
    assert [m.text for m in threads.messages(runtime, USER, "t1") if m.type == "human"] == [MESSAGE]


@pytest.mark.parametrize(
    ("fault", "note"), [("length", errors.TRUNCATED_NOTE), ("content-filter", errors.FILTERED_NOTE)]
)
def test_a_reply_cut_by_the_token_limit_or_a_filter_says_so_where_it_is_stored(
    emulated: tuple, fault: str, note: str
) -> None:
    runtime, emulator = emulated
    emulator.replies.append(WireReply(text="Sailing is a fine", fault=fault))
    streamed = "".join(map(str, chat.send(runtime, USER, "t1", MESSAGE)))
    [reply] = [m for m in threads.messages(runtime, USER, "t1") if m.type == "ai"]
    assert streamed == reply.text
    assert reply.text.endswith(note) and reply.response_metadata["finish_reason"]
    if fault == "length":
        assert reply.text.startswith("Sailing is a fine")
    else:
        assert reply.text.strip() == note  # not an empty bubble
    assert not chat.has_pending_turn(runtime, USER, "t1")


def test_a_key_in_the_server_message_is_not_repeated() -> None:
    said = "Incorrect API key provided: sk-live-1234567890abcdef. Bearer abc.def"
    sentence = errors._with_said("The model server refused the request (400).", said)
    assert "1234567890" not in sentence and "abc.def" not in sentence
    assert sentence.endswith("“Incorrect API key provided: [key] [key]”")
