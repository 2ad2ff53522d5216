"""Running one chat turn: stream the reply's text and the memory writes as they happen.

The same generator serves the chat page (``st.write_stream``) and the command line. A turn that
failed half-way stays pending in the checkpoint; ``resume`` re-runs it without re-sending the
user's message, so a retry never duplicates it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage

from memory_agent import threads
from memory_agent.runtime import Runtime

MAX_MESSAGE_LENGTH = 8_000


@dataclass(frozen=True)
class MemoryNote:
    """A memory the agent saved or updated during the turn."""

    action: str
    key: str
    content: str

    def __str__(self) -> str:
        verb = "Updated memory" if self.action == "updated" else "Saved to memory"
        return f"{verb}: {self.content}"


def validate_message(text: Any) -> str:
    """A message is non-empty text within ``MAX_MESSAGE_LENGTH`` characters."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("The message is empty.")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValueError(
            f"The message is {len(text):,} characters; the limit is {MAX_MESSAGE_LENGTH:,}."
        )
    if "\x00" in text:
        raise ValueError("The message contains a NUL character.")
    return text


def send(
    runtime: Runtime, user_id: str, thread_id: str, text: str, **settings: Any
) -> Iterator[str | MemoryNote]:
    """Add the user's message to the thread and stream the agent's turn."""
    validate_message(text)
    thread = threads.open_thread(runtime, user_id, thread_id)
    threads.record_activity(runtime, thread, text)
    yield from _stream(runtime, user_id, thread_id, {"messages": [HumanMessage(text)]}, settings)


def resume(
    runtime: Runtime, user_id: str, thread_id: str, **settings: Any
) -> Iterator[str | MemoryNote]:
    """Re-run a turn that failed, from its last checkpoint (the user's message is already there)."""
    if not has_pending_turn(runtime, user_id, thread_id):
        raise ValueError("There is no unfinished turn to retry in this conversation.")
    yield from _stream(runtime, user_id, thread_id, None, settings)


def has_pending_turn(runtime: Runtime, user_id: str, thread_id: str) -> bool:
    """True when the thread's last turn stopped before the agent finished (e.g. a model error)."""
    return bool(threads.get_state(runtime, user_id, thread_id).next)


def _stream(
    runtime: Runtime, user_id: str, thread_id: str, graph_input: Any, settings: dict[str, Any]
) -> Iterator[str | MemoryNote]:
    config = threads.thread_config(user_id, thread_id, **settings)
    for mode, payload in runtime.graph.stream(
        graph_input, config, stream_mode=["messages", "updates"]
    ):
        if mode == "messages":
            chunk, metadata = payload
            if (
                isinstance(chunk, AIMessageChunk)
                and metadata.get("langgraph_node") == "call_model"
                and isinstance(chunk.content, str)
                and chunk.content
            ):
                yield chunk.content
        else:
            for message in (payload.get("store_memory") or {}).get("messages", []):
                note = memory_note(message)
                if note:
                    yield note


def memory_note(message: Any) -> MemoryNote | None:
    """The memory write a tool result reports, if it reports one (errors report none)."""
    if not isinstance(message, ToolMessage) or not isinstance(message.artifact, dict):
        return None
    artifact = message.artifact
    return MemoryNote(artifact["action"], artifact["key"], artifact["content"])
