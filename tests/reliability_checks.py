"""Checks that a data directory is whole (after crashes and concurrent runs), and a model that
never stops streaming."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from memory_agent import memories
from memory_agent.backends.faults import _module_for
from memory_agent.backends.sqlite import CONVERSATIONS_FILE, MEMORIES_FILE
from memory_agent.conversations import threads
from memory_agent.runtime import Runtime


def integrity_ok(data_dir: Path) -> bool:
    """``PRAGMA integrity_check`` is ``ok`` for both SQLite files."""
    for name in (CONVERSATIONS_FILE, MEMORIES_FILE):
        # The backend's own SQLite library: another one closing the file drops its locks.
        with closing(_module_for(name).connect(data_dir / name)) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                return False
    return True


def half_written_memories(runtime: Runtime, data_dir: Path, user: str) -> list[str]:
    """Keys of memories missing their vector or their history event (both are written with them)."""
    stored = memories.list_memories(runtime.store, user)
    created = {e.memory_key for e in memories.history(runtime.store, user)}
    with closing(_module_for(MEMORIES_FILE).connect(data_dir / MEMORIES_FILE)) as conn:
        indexed = {
            row[0]
            for row in conn.execute(
                "SELECT key FROM store_vectors WHERE prefix = ?", (f"memories.{user}",)
            )
        }
    return [m.key for m in stored if m.key not in indexed or m.key not in created]


def unanswered_tool_calls(runtime: Runtime, user: str, thread: str) -> list[str]:
    """Tool calls with no tool result before the next message: a real model rejects that history.

    Only the very last message may have them (a turn that stopped before ``store_memory``).
    """
    messages = threads.messages(runtime, user, thread)
    problems = []
    for index, message in enumerate(messages):
        calls = getattr(message, "tool_calls", None) or []
        if not calls or index == len(messages) - 1:
            continue
        answered = set()
        for later in messages[index + 1 :]:
            if later.type != "tool":
                break
            answered.add(later.tool_call_id)
        problems += [
            f"{call['id']} at message {index} of {len(messages)}: "
            + " | ".join(f"{m.type}:{str(m.content)[:40]}" for m in messages[index - 1 : index + 3])
            for call in calls
            if call["id"] not in answered
        ]
    return problems


class DripModel:
    """An OpenAI-compatible chat server whose streamed reply never ends.

    ``mode="tokens"`` sends a word every ``every`` seconds; ``mode="pings"`` sends only SSE
    comments (``: ping``), as llama.cpp does while it thinks. ``open`` counts the replies still
    being written; a reply ends only when the client closes its connection.
    """

    def __init__(self, mode: str = "tokens", every: float = 0.2) -> None:
        self.mode, self.every = mode, every
        self.open = 0
        self.requests = 0
        self._lock = threading.Lock()
        drip = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with drip._lock:
                    drip.requests += 1
                    drip.open += 1
                try:
                    self._drip()
                except OSError:  # the client closed the connection: the reply is over
                    pass
                finally:
                    with drip._lock:
                        drip.open -= 1
                    self.close_connection = True

            def _drip(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "drip", "object": "chat.completion.chunk", "model": "drip"}
                role = {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
                self.wfile.write(f"data: {json.dumps(role)}\n\n".encode())
                while True:
                    if drip.mode == "tokens":
                        delta = {"index": 0, "delta": {"content": "la "}, "finish_reason": None}
                        line = f"data: {json.dumps({**base, 'choices': [delta]})}\n\n"
                    else:
                        line = ": ping\n\n"
                    self.wfile.write(line.encode())
                    self.wfile.flush()
                    time.sleep(drip.every)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> DripModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took, or fail naming ``what``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - started
