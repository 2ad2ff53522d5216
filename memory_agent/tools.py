"""The tool the model calls to remember things. Its docstring is what the model reads."""

from typing import Annotated

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import InjectedToolArg
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.store.base import BaseStore

from memory_agent import memories
from memory_agent.configuration import Configuration


def upsert_memory(
    content: str,
    context: str,
    memory_id: str | None = None,
    *,
    config: Annotated[RunnableConfig, InjectedToolArg],
    store: Annotated[BaseStore, InjectedToolArg],
) -> memories.MemoryWrite:
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
    settings = Configuration.from_runnable_config(config)
    return memories.upsert_memory(
        store,
        settings.user_id,
        content,
        context,
        key=memory_id or None,
        thread_id=(config.get("configurable") or {}).get("thread_id"),
        source="agent",
    )


UPSERT_MEMORY_SCHEMA = convert_to_openai_tool(upsert_memory)
"""The tool as the model is given it, built once: pydantic takes ~9 ms to build it, per call."""
