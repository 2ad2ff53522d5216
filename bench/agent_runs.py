"""Build the agent on either backend and drive plain turns through it (no tool calls).

Three shapes of the same agent: the product's graph (the recent turns in the state, the rest in
``conversations.transcript``), the "before" shape (``state.WholeState``: the whole conversation
in the state, as the product was until issue 18), and the floor, which runs the same node on a
plain Python list with no checkpoint at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from memory_agent import graph as agent
from memory_agent.backends import Persistence
from memory_agent.backends.index import EMBEDDED_FIELDS
from memory_agent.backends.sqlite import open_sqlite
from memory_agent.configuration import Configuration
from memory_agent.conversations.threads import thread_config
from memory_agent.models.embeddings import make_embeddings
from memory_agent.state import WholeState, recent_turns

USER = "bench-user"


@contextmanager
def sqlite_agent(data_dir: Path | None = None) -> Iterator[tuple[CompiledStateGraph, Persistence]]:
    """The product's own wiring: SqliteSaver + SqliteStore in a fresh data directory."""
    with tempfile.TemporaryDirectory() as tmp:
        persistence = open_sqlite(data_dir or Path(tmp), Configuration.from_runnable_config())
        try:
            yield agent.build_graph(persistence.checkpointer, persistence.store), persistence
        finally:
            persistence.close()


def in_memory_store() -> InMemoryStore:
    """An in-process store with the app's index (what the floor recalls from)."""
    settings = Configuration.from_runnable_config()
    return InMemoryStore(
        index={
            "dims": settings.embedding_dims,
            "embed": make_embeddings(settings),
            "fields": EMBEDDED_FIELDS,
        }
    )


def memory_agent_in_memory() -> CompiledStateGraph:
    """The same graph on InMemorySaver + InMemoryStore (which still serialise every checkpoint)."""
    return agent.build_graph(InMemorySaver(), in_memory_store())


def build_whole_state_graph(
    checkpointer: BaseCheckpointSaver | None, store: BaseStore | None
) -> CompiledStateGraph:
    """The product's graph with the whole conversation in the state: the "before" row."""
    return agent.build_graph(checkpointer, store, state_schema=WholeState)


class NoCheckpointConversation:
    """The floor for a turn: the same ``call_model`` over a list held in memory, nothing saved.

    What a turn must cost whatever the persistence: the recall, the model, the message fold.
    ``bounded`` keeps the same recent turns as ``state.State``, so its floor is comparable.
    """

    def __init__(self, bounded: bool = False) -> None:
        self.messages: list[AnyMessage] = []
        self.bounded = bounded
        self.store = in_memory_store()
        self.runtime = Runtime(context=Configuration.from_runnable_config(), store=self.store)

    def turn(self, number: int) -> None:
        """One turn of ``turn``'s message; the reply is added to the list."""
        self.messages = add_messages(self.messages, [HumanMessage(_story(number))])
        config = thread_config(USER, "floor")
        update = agent.call_model({"messages": self.messages}, config, self.runtime)
        self.messages = add_messages(self.messages, update["messages"])
        if self.bounded:
            self.messages = recent_turns(self.messages)


def turn(graph: CompiledStateGraph, thread: str, number: int, durability: Any = "async") -> None:
    """One turn the offline demo model answers without a tool call."""
    graph.invoke(
        {"messages": [HumanMessage(_story(number))]},
        thread_config(USER, thread),
        durability=durability,
    )


def _story(number: int) -> str:
    return f"Tell me a story, number {number}"
