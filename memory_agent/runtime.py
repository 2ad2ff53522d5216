"""Wires persistence, settings and the graph once per process, behind one object for UI and CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from memory_agent.configuration import Configuration
from memory_agent.graph import build_graph
from memory_agent.persistence import open_persistence


@dataclass
class Runtime:
    """The compiled graph with its checkpointer and store, and the process's default settings."""

    graph: CompiledStateGraph
    checkpointer: BaseCheckpointSaver
    store: BaseStore
    settings: Configuration
    location: str
    close: Callable[[], None]


def open_runtime(data_dir: str | Path | None = None, database_url: str | None = None) -> Runtime:
    """Open PostgreSQL (``database_url`` or ``MEMORY_AGENT_DATABASE_URL``) if given, else the
    SQLite data directory (``data_dir``, ``MEMORY_AGENT_DATA_DIR`` or ``./data``)."""
    settings = Configuration.from_runnable_config()
    persistence = open_persistence(settings, data_dir, database_url)
    graph = build_graph(persistence.checkpointer, persistence.store)
    return Runtime(
        graph=graph,
        checkpointer=persistence.checkpointer,
        store=persistence.store,
        settings=settings,
        location=persistence.location,
        close=persistence.close,
    )
