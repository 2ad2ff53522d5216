"""One turn at a time per conversation: five senders at once, threads and processes, both backends.

Before the turn lock, 5 senders 0.7 s apart were each answered but the conversation kept 3 of the
5 messages, and with 2-3 senders the model was sent a history other than the one stored. Here the
model takes 0.4 s per reply, so every sender arrives while another turn runs.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from memory_agent.conversations import chat, threads
from memory_agent.runtime import open_runtime
from tests.live_app import cli_command
from tests.openai_stub import OpenAIStub, Reply

pytestmark = pytest.mark.both_backends

USER = "zed"
THREAD = "shared-thread"


def _model_env(stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", stub.url)
    monkeypatch.setenv("MEMORY_AGENT_MODEL", "stub-model")
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _as_sent(message) -> tuple[str, str]:
    role = {"human": "user", "ai": "assistant"}[message.type]
    return role, message.text


def test_five_senders_to_one_conversation_are_all_stored_in_order_as_the_model_saw_them(
    data_dir: Path, openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _model_env(openai_stub, monkeypatch)
    openai_stub.default_reply = Reply(text="Noted.", delay=0.4)
    runtime = open_runtime(data_dir)
    threads.open_thread(runtime, USER, THREAD)
    errors: list[BaseException] = []

    def in_thread(text: str) -> None:
        try:
            list(chat.send(runtime, USER, THREAD, text))
        except Exception as error:  # counted below, never hidden
            errors.append(error)

    texts = [f"message {n} from {'a process' if n % 2 else 'a thread'}" for n in range(5)]
    workers: list[threading.Thread] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for text in texts:
            if "process" in text:
                command = cli_command(data_dir, "chat", "--user", USER, "--thread", THREAD, text)
                processes.append(
                    subprocess.Popen(
                        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                    )
                )
            else:
                workers.append(threading.Thread(target=in_thread, args=(text,)))
                workers[-1].start()
            time.sleep(0.15)
        for worker in workers:
            worker.join(timeout=120)
        outcomes = [process.communicate(timeout=120) for process in processes]
        assert errors == []
        assert [p.returncode for p in processes] == [0, 0], [err for _, err in outcomes]

        stored = threads.messages(runtime, USER, THREAD)
        humans = [m.text for m in stored if m.type == "human"]
        assert sorted(humans) == sorted(texts), "every sender's message is stored once"
        assert [m.type for m in stored] == ["human", "ai"] * 5, "each answered before the next"
        assert not chat.has_pending_turn(runtime, USER, THREAD)

        requests = [r["body"]["messages"] for r in openai_stub.chat_requests()]
        assert len(requests) == 5
        for sent in requests:
            conversation = [(m["role"], m["content"]) for m in sent if m["role"] != "system"]
            upto = len(conversation)
            assert conversation == [_as_sent(m) for m in stored[:upto]], (
                "the model was sent exactly the stored history before its message"
            )
        print(f"\n5 senders (3 threads, 2 processes): {len(humans)} of 5 turns stored, in order")
    finally:
        runtime.close()


def test_a_sender_that_cannot_wait_is_told_the_conversation_is_busy_and_nothing_is_lost(
    data_dir: Path, openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _model_env(openai_stub, monkeypatch)
    monkeypatch.setattr(chat, "TURN_WAIT_S", 0.3)
    openai_stub.default_reply = Reply(text="Slowly.", delay=2.0)
    runtime = open_runtime(data_dir)
    first = threading.Thread(target=lambda: list(chat.send(runtime, USER, THREAD, "first")))
    try:
        first.start()
        time.sleep(0.5)
        started = time.perf_counter()
        with pytest.raises(chat.ConversationBusy, match="was not sent"):
            list(chat.send(runtime, USER, THREAD, "second"))
        assert time.perf_counter() - started < 1.5, "told at once, not after the other turn"
        first.join(timeout=60)
        stored = threads.messages(runtime, USER, THREAD)
        assert [(m.type, m.text) for m in stored] == [("human", "first"), ("ai", "Slowly.")]
        list(chat.send(runtime, USER, THREAD, "second"))  # once free, the same message goes in
        assert [m.text for m in threads.messages(runtime, USER, THREAD)][-2:] == [
            "second",
            "Slowly.",
        ]
    finally:
        first.join(timeout=60)
        runtime.close()
