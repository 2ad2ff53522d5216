"""The memory agent: recall memories, call the model with the memory tool, store what it saves.

START → call_model ─(tool calls?)→ store_memory → call_model … → END
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from memory_agent import memories, tools
from memory_agent.configuration import Configuration
from memory_agent.models.chat import make_chat_model
from memory_agent.prompts import SYSTEM_PROMPT, render_system_prompt
from memory_agent.state import State

RECALL_KEY = "memory_agent_recall"
"""Key in each AI message's ``response_metadata`` for what was recalled into its prompt."""


def recall(store: BaseStore, settings: Configuration, messages: list[AnyMessage]) -> dict[str, Any]:
    """Search the user's memories for the latest messages; the record of what the model saw."""
    query = recall_query(messages)
    found = memories.search_memories(store, settings.user_id, query, limit=settings.recall_limit)
    return {
        "query": query,
        "time": datetime.now(UTC).isoformat(),
        "memories": [
            {"key": m.key, "content": m.content, "context": m.context, "score": m.score}
            for m in found
        ],
        # Kept only when it differs from the default, so the prompt can be rebuilt exactly.
        "system_prompt": None
        if settings.system_prompt == SYSTEM_PROMPT
        else settings.system_prompt,
    }


def recall_query(messages: list[AnyMessage]) -> str:
    """The user's latest message: what this turn is about (the agent's replies add only noise)."""
    latest = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    return str(latest.content) if latest else ""


def system_prompt_for(record: dict[str, Any]) -> str:
    """The system prompt exactly as the model received it, from the turn's recall record."""
    template = record.get("system_prompt") or SYSTEM_PROMPT
    return render_system_prompt(template, record["memories"], record["time"])


def call_model(state: State, config: RunnableConfig, *, store: BaseStore) -> dict[str, list]:
    """Recall the user's relevant memories, then call the model with ``upsert_memory`` bound."""
    settings = Configuration.from_runnable_config(config)
    record = recall(store, settings, state["messages"])
    model = make_chat_model(settings).bind_tools([tools.UPSERT_MEMORY_SCHEMA])
    response = model.invoke([SystemMessage(system_prompt_for(record)), *state["messages"]])
    response.response_metadata = {**response.response_metadata, RECALL_KEY: record}
    return {"messages": [response]}


def store_memory(state: State, config: RunnableConfig, *, store: BaseStore) -> dict[str, list]:
    """Carry out every tool call of the last message and answer each one, errors included."""
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    results: list[ToolMessage] = []
    for call in last.tool_calls:
        results.append(_run_tool_call(call, config, store))
    for bad in last.invalid_tool_calls:
        results.append(
            ToolMessage(
                content=f"Error: the arguments of {bad.get('name')} were not valid JSON; "
                "call the tool again with a JSON object.",
                tool_call_id=bad.get("id") or "",
                name=bad.get("name") or tools.upsert_memory.__name__,
                status="error",
            )
        )
    return {"messages": results}


def _run_tool_call(call: dict[str, Any], config: RunnableConfig, store: BaseStore) -> ToolMessage:
    name = tools.upsert_memory.__name__
    if call["name"] != name:
        return ToolMessage(
            content=f"Error: there is no tool named {call['name']!r}; the only tool is {name}.",
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )
    args = call.get("args") or {}
    try:
        if "content" not in args:
            raise memories.MemoryValidationError("content is required: a short fact about the user")
        if not isinstance(args["content"], str) or not isinstance(args.get("context", ""), str):
            raise memories.MemoryValidationError("content and context must be strings")
        write = tools.upsert_memory(
            content=args["content"],
            context=args.get("context", ""),
            memory_id=args.get("memory_id") or key_for_call(call["id"]),
            config=config,
            store=store,
        )
    except memories.MemoryValidationError as error:
        return ToolMessage(
            content=f"Error: {error}", tool_call_id=call["id"], name=name, status="error"
        )
    return ToolMessage(
        content=write.describe(),
        tool_call_id=call["id"],
        name=name,
        artifact={"action": _PAST[write.action], "key": write.key, "content": write.after.content},
    )


_PAST = {"create": "created", "update": "updated"}


def key_for_call(call_id: str) -> str:
    """A new memory's key, derived from its tool call: a turn re-run after a crash (its tool calls
    repeated) rewrites the same memory instead of adding a second one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"memory-agent:tool-call:{call_id}"))


def route_message(state: State) -> Literal["store_memory", "__end__"]:
    """Go on to ``store_memory`` when the model asked for tools; otherwise the turn is over."""
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls):
        return "store_memory"
    return END


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None, store: BaseStore | None = None
) -> CompiledStateGraph:
    """The compiled agent; persistence is passed in, so nothing connects at import time."""
    builder = StateGraph(State)
    builder.add_node(call_model)
    builder.add_node(store_memory)
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", route_message, ["store_memory", END])
    builder.add_edge("store_memory", "call_model")
    return builder.compile(checkpointer=checkpointer, store=store, name="MemoryAgent")
