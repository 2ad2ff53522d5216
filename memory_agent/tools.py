"""The tools the model calls to remember and forget. Their docstrings are what the model reads.

Each tool takes LangGraph's ``ToolRuntime`` (the run's context, store and tool-call id, injected,
never shown to the model) and writes through ``memory_agent.memories``, so every change is
validated and recorded in the change history like an edit in the inspector.
"""

from __future__ import annotations

import uuid

from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.prebuilt import ToolRuntime

from memory_agent import memories
from memory_agent.configuration import Configuration


@tool(response_format="content_and_artifact")
def upsert_memory(
    content: str,
    context: str = "",
    memory_id: str | None = None,
    *,
    runtime: ToolRuntime[Configuration],
) -> tuple[str, dict[str, str]]:
    """Upsert a memory in the database.

    If a memory conflicts with an existing one, then just UPDATE the existing one by passing in
    memory_id - don't create two memories that are the same. If the user corrects a memory, then
    update it.

    Args:
        content: The main content of the memory, a short fact about the user.
            For example: "User expressed interest in learning about French."
        context: Additional context for the memory. For example:
            "This was mentioned while discussing career options in Europe."
        memory_id: ONLY PROVIDE IF UPDATING AN EXISTING MEMORY. The id of the memory to overwrite.
    """
    settings = Configuration.for_run(runtime.context, runtime.config)
    write = memories.upsert_memory(
        runtime.store,
        settings.user_id,
        content,
        context,
        key=memory_id or new_memory_key(runtime),
        thread_id=_thread_id(runtime),
        checkpoint_id=_checkpoint_id(runtime),
        source="agent",
    )
    return write.describe(), _artifact(write)


@tool(response_format="content_and_artifact")
def forget_memory(memory_id: str, *, runtime: ToolRuntime[Configuration]) -> tuple[str, dict]:
    """Delete a memory the user asked you to forget.

    Only call this when the user explicitly asks you to forget or delete something about them.

    Args:
        memory_id: The id of the memory to delete, as shown in the memories list.
    """
    settings = Configuration.for_run(runtime.context, runtime.config)
    write = memories.delete_memory(
        runtime.store,
        settings.user_id,
        memory_id,
        source="agent",
        thread_id=_thread_id(runtime),
        checkpoint_id=_checkpoint_id(runtime),
    )
    return write.describe(), _artifact(write)


TOOLS = {t.name: t for t in (upsert_memory, forget_memory)}
"""The memory tools by name, as ``store_memory`` dispatches them."""

TOOL_SCHEMAS = [convert_to_openai_tool(t) for t in TOOLS.values()]
"""The tools as the model is given them, built once: pydantic takes ~9 ms to build one, per call."""


def new_memory_key(runtime: ToolRuntime) -> str:
    """A new memory's key: unique per write, whatever ids the model server sends.

    Yet it is the same when a crashed turn's tool calls are carried out again, so a re-run
    rewrites one memory instead of adding a second.

    It is derived from the thread, the checkpoint the step ran from (unique in the thread, and
    the same when a crashed step runs again), the AI message holding the call and the call's
    id. The ids alone would not do: ``call_model`` makes them unique only within the window,
    and a server sending constant ids (Ollama's ``chatcmpl-<n>``) would make a turn at message
    500 overwrite a memory saved at message 10.
    """
    messages = (runtime.state or {}).get("messages") or []
    message_id = next(
        (
            m.id
            for m in reversed(messages)
            if any(c.get("id") == runtime.tool_call_id for c in getattr(m, "tool_calls", []))
        ),
        "",
    )
    checkpoint = _checkpoint_id(runtime) or ""
    name = f"memory-agent:{_thread_id(runtime)}:{checkpoint}:{message_id}:{runtime.tool_call_id}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _thread_id(runtime: ToolRuntime) -> str | None:
    return ((runtime.config or {}).get("configurable") or {}).get("thread_id")


def _checkpoint_id(runtime: ToolRuntime) -> str | None:
    """The checkpoint this turn's step ran from, so the inspector can open it (provenance)."""
    configurable = (runtime.config or {}).get("configurable") or {}
    return (configurable.get("checkpoint_map") or {}).get("") or configurable.get("checkpoint_id")


_PAST = {"create": "created", "update": "updated", "delete": "deleted"}


def _artifact(write: memories.MemoryWrite) -> dict[str, str]:
    """What the chat shows under the reply ("Saved to memory: …"), kept beside the tool result.

    ``before`` is the content an update replaced, so a reply can say what changed.
    """
    shown = write.after or write.before
    artifact = {
        "action": _PAST[write.action],
        "key": write.key,
        "content": shown.content if shown else "",
    }
    if write.action == "update" and write.before:
        artifact["before"] = write.before.content
    return artifact
