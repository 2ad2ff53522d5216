"""The memory agent: recall memories, call the model with the memory tools, carry out its calls.

START → call_model ─(tool calls?)→ store_memory → call_model … → END

Settings come from the run's context (``Configuration`` is the graph's ``context_schema``); the
store is the one the graph was compiled with, or the LangGraph Server's. Every turn is bounded:
at most ``max_model_calls`` model calls and ``max_tool_calls`` memory changes, and each model
call by an idle timeout, a total deadline and its turn being abandoned (``deadlines``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolRuntime
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from memory_agent import memories, tools
from memory_agent.configuration import Configuration
from memory_agent.conversations import transcript
from memory_agent.deadlines import watching
from memory_agent.models.chat import make_chat_model
from memory_agent.recall import RECALL_KEY, recall
from memory_agent.state import State, recent_turns

MAX_KEPT_ARGUMENTS = 4 * memories.MAX_CONTENT_LENGTH
"""Tool-call arguments longer than this are refused and not kept in the thread: a 3 MB call
would otherwise be re-sent to the model with every later request."""


def call_model(
    state: State, config: RunnableConfig, runtime: Runtime[Configuration]
) -> dict[str, list]:
    """Recall the user's relevant memories, then call the model with the memory tools bound.

    The recent turns are recorded in the thread's transcript first: every message is in the
    window at some model call (``state.recent_turns``), so the transcript misses none.
    """
    settings = Configuration.for_run(runtime.context, config)
    messages = state["messages"]
    thread_id = (config.get("configurable") or {}).get("thread_id")
    if runtime.store is not None and thread_id:
        transcript.record(runtime.store, thread_id, recent_turns(messages))
    calls = _model_calls_this_turn(messages)
    if calls >= settings.max_model_calls:
        return {"messages": [_limit_notice(settings)]}
    record = recall(runtime.store, settings, messages)
    model = make_chat_model(settings)
    if calls < settings.max_model_calls - 1:  # the last call allowed must answer in words
        model = model.bind_tools(tools.TOOL_SCHEMAS)
    with watching(thread_id, settings.request_timeout, settings.model_call_deadline):
        response = model.invoke([SystemMessage(record.system_prompt), *messages])
    response = _with_own_ids(response, messages)
    response.response_metadata = {**response.response_metadata, RECALL_KEY: record.as_metadata()}
    if calls >= settings.max_model_calls - 1 and (
        response.tool_calls or response.invalid_tool_calls
    ):
        # The last call was offered no tools; a model that calls them anyway is not obeyed.
        kept = {k: v for k, v in response.additional_kwargs.items() if k != "tool_calls"}
        response = response.model_copy(
            update={"tool_calls": [], "invalid_tool_calls": [], "additional_kwargs": kept}
        )
        return {"messages": [response, _limit_notice(settings)]}
    return {"messages": [response]}


def store_memory(
    state: State, config: RunnableConfig, runtime: Runtime[Configuration]
) -> dict[str, list]:
    """Carry out every tool call of the last message and answer each one, errors included."""
    settings = Configuration.for_run(runtime.context, config)
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    budget = settings.max_tool_calls - _tool_results_this_turn(state["messages"])
    results: list[ToolMessage] = []
    for call in last.tool_calls:
        if budget <= 0:
            results.append(
                _error(
                    call,
                    f"this turn already made {settings.max_tool_calls} "
                    "memory changes, the limit; tell the user what was not saved.",
                )
            )
            continue
        budget -= 1
        results.append(_run_tool_call(call, state, config, runtime))
    for bad in last.invalid_tool_calls:
        results.append(
            _error(
                bad,
                f"the arguments of {bad.get('name')} were not valid JSON; "
                "call the tool again with a JSON object.",
            )
        )
    return {"messages": results}


def route_message(state: Mapping[str, Any]) -> Literal["store_memory", "__end__"]:
    """Go on to ``store_memory`` when the model asked for tools; otherwise the turn is over.

    Typed as a plain mapping: LangGraph would add a ``State`` annotation as a schema, which
    clashes with ``WholeState``'s channel in ``build_graph(state_schema=WholeState)``.
    """
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls):
        return "store_memory"
    return END


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    state_schema: type = State,
) -> CompiledStateGraph:
    """The compiled agent; persistence is passed in, so nothing connects at import time.

    ``state_schema`` is ``State`` but for reading threads written before the window
    (``state.WholeState``, see ``threads.record_transcripts_written_before``) and bench's
    "before" row.
    """
    builder = StateGraph(state_schema, context_schema=Configuration)
    builder.add_node(call_model, input_schema=state_schema)
    builder.add_node(store_memory, input_schema=state_schema)
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", route_message, ["store_memory", END])
    builder.add_edge("store_memory", "call_model")
    return builder.compile(checkpointer=checkpointer, store=store, name="MemoryAgent")


# ---- helpers -------------------------------------------------------------------------------


def _run_tool_call(
    call: dict[str, Any], state: State, config: RunnableConfig, runtime: Runtime[Configuration]
) -> ToolMessage:
    tool = tools.TOOLS.get(call["name"])
    if tool is None:
        names = " and ".join(tools.TOOLS)
        return _error(call, f"there is no tool named {call['name']!r}; the tools are {names}.")
    args = call.get("args") or {}
    problem = _argument_problem(tool.name, args)
    if problem:
        return _error(call, problem)
    tool_runtime = ToolRuntime(
        state=state,
        context=runtime.context,
        config=config,
        stream_writer=runtime.stream_writer,
        tool_call_id=call["id"],
        store=runtime.store,
    )
    known = set(tool.tool_call_schema.model_json_schema().get("properties", {}))
    try:  # arguments the tool does not take (some models add them) are left out
        content, artifact = tool.func(
            **{k: v for k, v in args.items() if k in known}, runtime=tool_runtime
        )
    except memories.MemoryValidationError as error:
        return _error(call, str(error))
    return ToolMessage(content=content, tool_call_id=call["id"], name=tool.name, artifact=artifact)


def _argument_problem(name: str, args: dict[str, Any]) -> str | None:
    """Why the arguments cannot be used, in words the model can act on; ``None`` if they can."""
    if "_refused" in args:
        return str(args["_refused"])
    schema = tools.TOOLS[name].tool_call_schema.model_json_schema()
    for required in schema.get("required", []):
        if required not in args:
            hint = " a short fact about the user" if required == "content" else ""
            return f"{required} is required:{hint}".rstrip(":")
    if any(value is not None and not isinstance(value, str) for value in args.values()):
        return "every argument must be a string"
    return None


def _error(call: dict[str, Any], reason: str) -> ToolMessage:
    return ToolMessage(
        content=f"Error: {reason}",
        tool_call_id=call.get("id") or "",
        name=call.get("name") or "",
        status="error",
    )


def _with_own_ids(response: AIMessage, history: Sequence[AnyMessage]) -> AIMessage:
    """Give the reply an id of our own, and each tool call an id no other call of the window has.

    Servers' ids cannot be trusted to be unique: vLLM's Kimi parser sends
    ``functions.upsert_memory:0`` in every request, llama.cpp leaves ids out, others reuse
    ``call_0``, Ollama's replies are ``chatcmpl-<0..999>``. A repeated message id would make
    ``add_messages`` replace an earlier reply, or the transcript (keyed by message id) overwrite
    a message that left the window long ago, so the reply's id is always new. A repeated or
    missing call id would pair tool results with the wrong call; calls pair within a turn, so
    the window is enough there (a memory's key does not rely on these ids alone:
    ``tools.new_memory_key``). Oversized arguments are replaced by a short placeholder, so they
    are refused once and never re-sent.
    """
    seen_calls = {c.get("id") for m in history for c in getattr(m, "tool_calls", [])}

    def fresh(call: dict[str, Any]) -> dict[str, Any]:
        call = dict(call)
        if not call.get("id") or call["id"] in seen_calls:
            call["id"] = _new_id("call")
        seen_calls.add(call["id"])
        size = len(call["args"] if isinstance(call.get("args"), str) else json.dumps(call["args"]))
        if size > MAX_KEPT_ARGUMENTS:
            refused = (
                f"the arguments were {size:,} characters; the limit is {MAX_KEPT_ARGUMENTS:,}. "
                "They were not kept: call the tool again with a short memory."
            )
            is_invalid = "error" in call  # an invalid call's arguments are raw text
            call["args"] = (
                f"({size:,} characters, not kept)" if is_invalid else {"_refused": refused}
            )
        return call

    update: dict[str, Any] = {
        "id": _new_id("ai"),
        "tool_calls": [fresh(c) for c in response.tool_calls],
        "invalid_tool_calls": [fresh(c) for c in response.invalid_tool_calls],
    }
    if response.tool_calls or response.invalid_tool_calls:
        # The provider's own copy would be sent back beside ours, with the old ids.
        update["additional_kwargs"] = {
            k: v for k, v in response.additional_kwargs.items() if k != "tool_calls"
        }
    return response.model_copy(update=update)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _this_turn(messages: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
    """The messages after the user's latest one."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index + 1 :]
    return messages


def _model_calls_this_turn(messages: Sequence[AnyMessage]) -> int:
    return sum(isinstance(m, AIMessage) for m in _this_turn(messages))


def _tool_results_this_turn(messages: Sequence[AnyMessage]) -> int:
    return sum(isinstance(m, ToolMessage) for m in _this_turn(messages))


NOTICE_KEY = "memory_agent_notice"
"""Marks a reply the graph wrote itself (not streamed by a model), so callers still show it."""


def _limit_notice(settings: Configuration) -> AIMessage:
    sentence = (
        f"I stopped here: this reply reached the limit of {settings.max_model_calls} model calls "
        "in one turn. Your message is kept; ask again or rephrase it."
    )
    return AIMessage(sentence, id=_new_id("ai"), response_metadata={NOTICE_KEY: True})
