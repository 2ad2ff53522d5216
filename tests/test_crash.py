"""kill -9 in the middle of turns: the data directory stays whole and the conversation goes on."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from memory_agent.conversations import chat, threads
from memory_agent.runtime import open_runtime
from tests.live_app import cli_command
from tests.reliability_checks import half_written_memories, integrity_ok, unanswered_tool_calls

KILLS = 10
USER = "crash-user"
THREAD = "crash-thread"
SIGNATURE = "offline demo model_"


def _chat_then_kill(data_dir: Path, seed: int) -> int:
    """Run the interactive CLI chat on a stream of messages; kill -9 it at a random moment.

    Returns how many turns the CLI reported as finished (it prompts again only after a turn's
    last checkpoint is written) before it died.
    """
    rng = random.Random(seed)
    lines = "".join(
        f"I love topic{seed}x{n}\n" if n % 2 == 0 else f"hello {seed}-{n}\n" for n in range(400)
    )
    process = subprocess.Popen(
        [
            *cli_command(data_dir, "chat", "--user", USER, "--thread", THREAD),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdin and process.stdout
    os.set_blocking(process.stdout.fileno(), False)
    process.stdin.write(lines.encode())
    process.stdin.flush()
    # Wait until it is chatting, then let it run a varied while before the kill.
    output = b""
    deadline = time.monotonic() + 60
    while b"you> " not in output and time.monotonic() < deadline:
        output += process.stdout.read() or b""
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.6))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    output += process.stdout.read() or b""
    return max(0, output.decode(errors="replace").count("you> ") - 1)


def test_kill_9_mid_turn_loses_nothing_that_finished(data_dir: Path) -> None:
    finished_total = 0
    for seed in range(KILLS):
        finished_total += _chat_then_kill(data_dir, seed)
        assert integrity_ok(data_dir), f"integrity check failed after kill {seed}"
    runtime = open_runtime(data_dir)
    try:
        messages = threads.messages(runtime, USER, THREAD)
        replies = [m for m in messages if m.type == "ai" and SIGNATURE in str(m.content)]
        # Every turn the CLI reported as finished is stored (the store may hold more: a turn can
        # be saved just before the kill, with the next prompt not yet printed).
        assert len(replies) >= finished_total > 0
        assert half_written_memories(runtime, data_dir, USER) == []
        assert unanswered_tool_calls(runtime, USER, THREAD) == []
        # The conversation goes on: a pending turn is retried, then a new one works.
        if chat.has_pending_turn(runtime, USER, THREAD):
            list(chat.resume(runtime, USER, THREAD))
        events = list(chat.send(runtime, USER, THREAD, "What do you know about me?"))
        assert "remember about you" in "".join(e for e in events if isinstance(e, str))
    finally:
        runtime.close()
