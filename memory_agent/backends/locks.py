"""Named locks that hold across threads, processes and app servers: one turn, one writer at a time.

A conversation's turns must run one after another, or two senders read the same history, both are
answered, and one answer is lost when the later checkpoint wins. A user's memory edits must check
what they overwrite and write in one step, or a stale edit goes through silently. Both take a
named lock here: a file lock in the SQLite data directory (released by the kernel when a process
dies, so a crash never leaves a conversation locked), or a PostgreSQL advisory lock, which every
app server sharing the database sees (released when its connection ends).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

POLL_S = 0.02
"""How often a waiting holder retries; short, so a freed lock is taken at once."""


class LockBusy(RuntimeError):
    """The lock stayed taken for the whole wait (or the waiter was cancelled)."""


class Locks(Protocol):
    """Named locks shared by everything that uses one backend."""

    def hold(
        self, name: str, wait_s: float, cancelled: Callable[[], bool] | None = None
    ) -> Any:  # a context manager
        """Hold the lock ``name``, waiting up to ``wait_s`` seconds; ``LockBusy`` if not had."""
        ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit number for ``name`` (advisory locks are keyed on numbers)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _wait(
    try_once: Callable[[], bool], wait_s: float, cancelled: Callable[[], bool] | None
) -> None:
    deadline = time.monotonic() + wait_s
    while not try_once():
        if time.monotonic() >= deadline or (cancelled is not None and cancelled()):
            raise LockBusy(f"still held after {wait_s:g} s")
        time.sleep(POLL_S)


class FileLocks:
    """``flock`` locks in ``directory``: each holder opens its own file, so threads exclude too."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextmanager
    def hold(
        self, name: str, wait_s: float, cancelled: Callable[[], bool] | None = None
    ) -> Iterator[None]:
        """Hold the lock ``name``, waiting up to ``wait_s`` seconds; ``LockBusy`` if not had."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{lock_key(name) & 0xFFFFFFFFFFFFFFFF:016x}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:

            def try_once() -> bool:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                return True

            _wait(try_once, wait_s, cancelled)
            yield
        finally:
            os.close(fd)  # closing the file releases its lock


class AdvisoryLocks:
    """PostgreSQL session advisory locks, each held on a connection of its own while held."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @contextmanager
    def hold(
        self, name: str, wait_s: float, cancelled: Callable[[], bool] | None = None
    ) -> Iterator[None]:
        """Hold the lock ``name``, waiting up to ``wait_s`` seconds; ``LockBusy`` if not had."""
        key = lock_key(name)
        with self.pool.connection(timeout=max(wait_s, 1.0)) as conn:

            def try_once() -> bool:
                row = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,)).fetchone()
                return bool(row["ok"])

            _wait(try_once, wait_s, cancelled)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


class NoLocks:
    """For a LangGraph Server: it runs one run per thread itself and owns its store."""

    @contextmanager
    def hold(
        self, name: str, wait_s: float, cancelled: Callable[[], bool] | None = None
    ) -> Iterator[None]:
        """Nothing to hold."""
        yield
