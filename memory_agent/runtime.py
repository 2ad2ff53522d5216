"""Wires persistence, settings and the graph once per process, behind one object for UI and CLI.

The graph is built when first used: LangGraph's graph modules bring in LangSmith's tracing
(about 0.8 s of imports), which the chat page need not wait for to draw its first screen.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from memory_agent.backends import open_persistence
from memory_agent.backends.locks import Locks, NoLocks
from memory_agent.configuration import Configuration

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph


@dataclass
class Runtime:
    """The compiled graph with its checkpointer and store, and the process's default settings."""

    build: Callable[[], CompiledStateGraph | Any]
    """Makes ``graph`` on first use."""
    checkpointer: BaseCheckpointSaver | Any
    """A saver, or (remote mode) ``RemoteCheckpoints``: only ``get_tuple``/``delete_thread``."""
    store: BaseStore
    settings: Configuration
    location: str
    close: Callable[[], None]
    remote: bool = False
    """True when the agent runs on a LangGraph Server (``location`` is its URL)."""
    locks: Locks = field(default_factory=NoLocks)
    """Named locks shared with every process on the same data (one turn per conversation)."""

    _graph: CompiledStateGraph | Any = field(default=None, init=False, repr=False)
    _building: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def graph(self) -> CompiledStateGraph | Any:
        """The compiled graph, or (remote mode) a ``RemoteAgent`` with the same methods."""
        if self._graph is None:
            with self._building:  # sessions share the runtime: the graph is built once
                if self._graph is None:
                    self._graph = self.build()
        return self._graph


OPEN_FAULTS: tuple[type[Exception], ...] = (RuntimeError, ValueError, OSError)
"""How ``open_runtime`` fails when the data or the settings are unusable, as the CLI reads them.

Damaged, foreign or locked files, an unreachable database or server and another embedding raise
``RuntimeError`` subclasses whose message says what to do; a bad setting raises ``ValueError``.
These are expected: shown and logged as that one message, without a traceback.
"""


def default_server_url() -> str | None:
    """``MEMORY_AGENT_SERVER_URL``, if set: the agent runs on that server."""
    return os.environ.get("MEMORY_AGENT_SERVER_URL") or None


def open_runtime(
    data_dir: str | Path | None = None,
    database_url: str | None = None,
    server_url: str | None = None,
) -> Runtime:
    """The agent, opened where the settings say.

    On a LangGraph Server (``server_url`` or ``MEMORY_AGENT_SERVER_URL``) if given;
    else in process on PostgreSQL (``database_url`` or ``MEMORY_AGENT_DATABASE_URL``) or the SQLite
    data directory (``data_dir``, ``MEMORY_AGENT_DATA_DIR`` or ``./data``).
    """
    settings = Configuration.from_runnable_config()
    url = server_url or default_server_url()
    if url:
        return open_remote(url.rstrip("/"), settings)
    persistence = open_persistence(settings, data_dir, database_url)

    def build() -> CompiledStateGraph:
        from memory_agent.graph import build_graph

        return build_graph(persistence.checkpointer, persistence.store)

    runtime = Runtime(
        build=build,
        checkpointer=persistence.checkpointer,
        store=persistence.store,
        settings=settings,
        location=persistence.location,
        close=persistence.close,
        locks=persistence.locks,
    )
    from memory_agent.conversations import threads  # threads imports this module

    threads.record_transcripts_written_before(runtime)  # once per store: one read after that
    return runtime


def open_remote(url: str, settings: Configuration) -> Runtime:
    """The deployed agent: its server owns the checkpoints and the store (and their index)."""
    from memory_agent.backends import remote  # langgraph-sdk is needed only in this mode

    graph, store, checkpoints = remote.connect(url)
    runtime = Runtime(
        build=lambda: graph,
        checkpointer=checkpoints,
        store=store,
        settings=settings,
        location=url,
        close=lambda: None,
        remote=True,
    )
    from memory_agent.conversations import threads  # threads imports this module

    threads.record_transcripts_written_before(runtime)  # once per server: one read after that
    return runtime
