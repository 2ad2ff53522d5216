"""Every model call ends: an idle timeout between reply chunks, a total deadline, and cancellation.

An HTTP read timeout alone never fires on a server that drips a token every 0.2 s or sends an SSE
ping every 0.5 s: each byte restarts it. So the model's HTTP client reads through
``WatchedTransport``: each socket read waits in short slices, and between slices the call in
progress is checked — no
reply data (``data:`` lines; pings do not count) for ``idle_s``, more than ``deadline_s`` in all,
or its turn abandoned (the browser tab closed, the server stopping). Any of them closes the
request; ``call_model`` then raises ``ModelCallTimeout`` (the turn stays pending, Retry works) or
``ModelCallCancelled``.

The call in progress is found per thread: ``watching`` sets it for the node that makes the call,
and the HTTP reads happen in that same thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpcore2
import httpx2

SLICE_S = 0.25
"""Longest a socket read waits before the call is checked again: how fast a cancel takes effect."""


class ModelCallTimeout(TimeoutError):
    """The model stalled (no reply data for the idle timeout) or overran the call's deadline."""


class ModelStalledTimeout(ModelCallTimeout):
    """No reply data for the idle timeout; the client may send the request once more."""


class ModelCallCancelled(RuntimeError):
    """Whoever waited for the turn is gone (tab closed, server stopping): the request was closed."""


@dataclass
class CallWatch:
    """One model call's clocks, and how to tell that its turn was abandoned."""

    idle_s: float
    deadline_s: float
    cancelled: Callable[[], bool]
    started: float = field(default_factory=time.monotonic)
    last_data: float = field(default_factory=time.monotonic)
    reason: BaseException | None = None
    """Why the call was ended, once it was."""

    def check(self) -> None:
        """Raise (as a read timeout the HTTP client understands) once the call must end."""
        if self.reason is None:
            now = time.monotonic()
            if self.cancelled():
                self.reason = ModelCallCancelled("the turn was abandoned")
            elif now - self.started > self.deadline_s:
                self.reason = ModelCallTimeout(
                    f"the model's reply took longer than {self.deadline_s:g} s"
                )
            elif now - self.last_data > self.idle_s:
                self.reason = ModelStalledTimeout(
                    f"the model sent nothing of its reply for {self.idle_s:g} s"
                )
        if self.reason is not None:
            raise httpcore2.ReadTimeout(str(self.reason))

    def restart(self) -> None:
        """A request (or the client's one retry) is sent: a stall of the last one is forgiven."""
        if isinstance(self.reason, ModelStalledTimeout):
            self.reason = None
        self.last_data = time.monotonic()

    def saw(self, data: bytes) -> None:
        """Reply data restarts the idle clock; SSE comments (pings) and blank lines do not."""
        if b"data:" in data:
            self.last_data = time.monotonic()


_CALL: ContextVar[CallWatch | None] = ContextVar("memory_agent_model_call", default=None)
_ABANDONED: dict[str, list[Callable[[], bool]]] = {}
_ABANDONED_LOCK = threading.Lock()


@contextmanager
def turn_signals(thread_id: str, cancelled: Callable[[], bool]) -> Iterator[None]:
    """While a turn of ``thread_id`` streams, its model calls end as soon as ``cancelled()``."""
    with _ABANDONED_LOCK:
        _ABANDONED.setdefault(thread_id, []).append(cancelled)
    try:
        yield
    finally:
        with _ABANDONED_LOCK:
            _ABANDONED[thread_id].remove(cancelled)
            if not _ABANDONED[thread_id]:
                del _ABANDONED[thread_id]


def _turn_abandoned(thread_id: str | None) -> bool:
    with _ABANDONED_LOCK:
        signals = list(_ABANDONED.get(thread_id or "", ()))
    return any(signal() for signal in signals)


@contextmanager
def watching(thread_id: str | None, idle_s: float, deadline_s: float) -> Iterator[CallWatch]:
    """Bound the model call made inside; its errors become ``ModelCallTimeout``/``Cancelled``."""
    watch = CallWatch(idle_s, deadline_s, lambda: _turn_abandoned(thread_id))
    token = _CALL.set(watch)
    try:
        yield watch
    except Exception:
        # The HTTP client wraps the read timeout we raised (APITimeoutError, ReadTimeout, …);
        # what ended the call is ours to name.
        if watch.reason is not None:
            raise watch.reason from None
        raise
    finally:
        _CALL.reset(token)


class _WatchedStream(httpcore2.NetworkStream):
    """A socket whose reads wait in slices, checking the call in progress between them."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        watch = _CALL.get()
        if watch is None:
            return self.inner.read(max_bytes, timeout)
        give_up = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            watch.check()
            wait = min(SLICE_S, max(give_up - time.monotonic(), 0.0))
            try:
                data = self.inner.read(max_bytes, wait)
            except httpcore2.ReadTimeout:
                if time.monotonic() >= give_up:
                    raise
                continue
            watch.saw(data)
            return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        watch = _CALL.get()
        if watch is not None:
            watch.restart()
            watch.check()
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore2.NetworkStream:
        return _WatchedStream(self.inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _WatchedBackend(httpcore2.NetworkBackend):
    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore2.NetworkStream:
        return _WatchedStream(self.inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore2.NetworkStream:
        return _WatchedStream(self.inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class WatchedTransport(httpx2.HTTPTransport):
    """``httpx2.HTTPTransport`` whose connections read through ``_WatchedStream``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool._network_backend = _WatchedBackend(self._pool._network_backend)


def watched_http_client(timeout: float) -> httpx2.Client:
    """The HTTP client a chat model talks through, so ``watching`` can bound its calls."""
    return httpx2.Client(transport=WatchedTransport(), timeout=timeout, follow_redirects=True)
