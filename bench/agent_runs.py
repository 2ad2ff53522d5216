"""Build the agent on either backend and drive plain turns through it (no tool calls)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.memory import InMemoryStore

from memory_agent.backends import Persistence
from memory_agent.backends.index import EMBEDDED_FIELDS
from memory_agent.backends.sqlite import open_sqlite
from memory_agent.configuration import Configuration
from memory_agent.conversations.threads import thread_config
from memory_agent.graph import build_graph
from memory_agent.models.embeddings import make_embeddings


@contextmanager
def sqlite_agent(data_dir: Path | None = None) -> Iterator[tuple[CompiledStateGraph, Persistence]]:
    """The product's own wiring: SqliteSaver + SqliteStore in a fresh data directory."""
    with tempfile.TemporaryDirectory() as tmp:
        persistence = open_sqlite(data_dir or Path(tmp), Configuration.from_runnable_config())
        try:
            yield build_graph(persistence.checkpointer, persistence.store), persistence
        finally:
            persistence.close()


def memory_agent_in_memory() -> CompiledStateGraph:
    """The baseline: the same graph on InMemorySaver + InMemoryStore with the same index."""
    settings = Configuration.from_runnable_config()
    store = InMemoryStore(
        index={
            "dims": settings.embedding_dims,
            "embed": make_embeddings(settings),
            "fields": EMBEDDED_FIELDS,
        }
    )
    return build_graph(InMemorySaver(), store)


def turn(graph: CompiledStateGraph, thread: str, number: int, durability: str = "async") -> None:
    """One turn the offline demo model answers without a tool call."""
    graph.invoke(
        {"messages": [HumanMessage(f"Tell me a story, number {number}")]},
        thread_config("bench-user", thread),
        durability=durability,
    )
