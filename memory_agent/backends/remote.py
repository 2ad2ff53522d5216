"""The agent deployed on a LangGraph Server, behind the same Runtime as the in-process one.

With ``MEMORY_AGENT_SERVER_URL`` set, ``open_runtime`` returns a Runtime whose graph is a
``RemoteGraph``, whose store is ``RemoteStore`` and whose checkpointer is ``RemoteCheckpoints``:
the chat, threads and memory modules keep calling ``graph.stream``/``get_state``,
``store.batch`` and ``checkpointer.delete_thread`` and never know where the agent runs.

Two differences are hidden here: the server sends messages as JSON dicts (turned back into
LangChain messages so ``isinstance`` checks hold), and ``RemoteGraph.stream`` with several modes
yields ``StreamPart`` objects (turned into the ``(mode, payload)`` pairs a local graph yields).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from langchain_core.messages import messages_from_dict
from langchain_core.runnables import RunnableConfig
from langgraph.pregel.remote import RemoteGraph
from langgraph.types import StateSnapshot
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import AuthenticationError, NotFoundError

from memory_agent.backends.remote_store import RemoteStore
from memory_agent.deploy.auth import TOKEN_ENV, client_headers

GRAPH_ID = "memory_agent"
"""The graph's name in ``langgraph.json``: the assistant a remote client runs."""
CONNECT_TIMEOUT_S = 5


class ServerUnreachable(RuntimeError):
    """The LangGraph Server URL does not answer, or does not serve this agent; says which."""


def to_message(value: Any) -> Any:
    """A LangChain message from the server's JSON form; anything else is returned as is."""
    if isinstance(value, dict) and isinstance(value.get("type"), str) and "content" in value:
        return messages_from_dict([{"type": value["type"], "data": value}])[0]
    return value


def _with_messages(values: Any) -> Any:
    if isinstance(values, dict) and isinstance(values.get("messages"), list):
        return {**values, "messages": [to_message(m) for m in values["messages"]]}
    return values


def _snapshot(snapshot: StateSnapshot) -> StateSnapshot:
    return snapshot._replace(values=_with_messages(snapshot.values))


def _empty(config: RunnableConfig) -> StateSnapshot:
    """What a local graph returns for a thread or checkpoint that does not exist."""
    return StateSnapshot({}, (), config, None, None, None, (), ())


class RemoteAgent(RemoteGraph):
    """``RemoteGraph`` whose stream and state look like the compiled graph's."""

    def stream(  # type: ignore[override]
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """Stream as the compiled graph does: ``(mode, payload)`` pairs with messages."""
        for part in super().stream(input, config, **kwargs):
            if not hasattr(part, "event"):
                yield part
                continue
            mode, payload = part.event, part.data
            if mode == "messages":
                message, metadata = payload
                yield mode, (to_message(message), metadata)
            elif mode == "updates" and isinstance(payload, dict):
                yield mode, {node: _with_messages(update) for node, update in payload.items()}
            else:
                yield mode, payload

    def get_state(self, config: RunnableConfig, **kwargs: Any) -> StateSnapshot:  # type: ignore[override]
        """The thread's state; empty (like a local graph's) for a thread never run on the server.

        The server's answer for a given checkpoint lacks the parent's ``checkpoint_ns``, which
        ``RemoteGraph`` requires; the root graph's namespace ("") is filled in.
        """
        client = self._validate_sync_client()
        configurable = config["configurable"]
        try:
            state = client.threads.get_state(
                thread_id=configurable["thread_id"],
                checkpoint=self._get_checkpoint(config),
                **kwargs,
            )
        except NotFoundError:
            return _empty(config)
        if not state.get("checkpoint") or state.get("metadata") is None:
            return _empty(config)  # an unknown checkpoint id
        for name in ("checkpoint", "parent_checkpoint"):
            if state.get(name):
                state[name].setdefault("thread_id", configurable["thread_id"])
                state[name].setdefault("checkpoint_ns", "")
        return _snapshot(self._create_state_snapshot(state))

    def get_state_history(  # type: ignore[override]
        self, config: RunnableConfig, **kwargs: Any
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints, newest first; none for a thread never run."""
        try:
            snapshots = list(super().get_state_history(config, **kwargs))
        except NotFoundError:
            return
        for snapshot in snapshots:
            yield _snapshot(snapshot)


class RemoteCheckpoints:
    """The two checkpointer calls threads.py makes, answered by the server's thread API."""

    def __init__(self, client: SyncLangGraphClient) -> None:
        self.client = client

    def get_tuple(self, config: RunnableConfig) -> Any:
        """Something (not ``None``) when the thread exists on the server with a checkpoint.

        threads.open_thread asks this before it registers a new thread, so a thread id the server
        cannot take is refused here, before anything is written.
        """
        thread_id = config["configurable"]["thread_id"]
        try:
            uuid.UUID(thread_id)
        except ValueError:
            raise ValueError(
                f"thread id {thread_id!r} must be a UUID on a LangGraph Server"
            ) from None
        try:
            state = self.client.threads.get_state(thread_id)
        except NotFoundError:
            return None
        return state if state.get("checkpoint", {}).get("checkpoint_id") else None

    def delete_thread(self, thread_id: str) -> None:
        """Delete the thread on the server, if it was ever run there."""
        with contextlib.suppress(NotFoundError):  # never run on the server: nothing to delete
            self.client.threads.delete(thread_id)


def connect(url: str) -> tuple[RemoteAgent, RemoteStore, RemoteCheckpoints]:
    """Check that ``url`` serves this agent, then the graph, store and checkpoints behind it."""
    try:
        # A plain request first: the SDK retries a refused connection for several seconds.
        httpx.get(f"{url}/ok", timeout=CONNECT_TIMEOUT_S).raise_for_status()
        probe = get_sync_client(url=url, timeout=CONNECT_TIMEOUT_S, headers=client_headers())
        assistants = probe.assistants.search(graph_id=GRAPH_ID, limit=1)
    except AuthenticationError:
        raise ServerUnreachable(
            f"The LangGraph Server at {url} refuses this app: set the same {TOKEN_ENV} "
            "for the server and the app."
        ) from None
    except Exception as error:
        raise ServerUnreachable(
            f"The LangGraph Server at {url} does not answer ({type(error).__name__}); "
            "start it with `langgraph dev` or fix MEMORY_AGENT_SERVER_URL."
        ) from None
    if not assistants:
        raise ServerUnreachable(f"The LangGraph Server at {url} does not serve {GRAPH_ID!r}.")
    client = get_sync_client(url=url, timeout=None, headers=client_headers())
    graph = RemoteAgent(GRAPH_ID, sync_client=client)
    return graph, RemoteStore(client), RemoteCheckpoints(client)
