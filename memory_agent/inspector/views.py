"""Readable views of a thread's state for the inspector: messages, checkpoints, the graph.

Each view is built from the live ``StateSnapshot`` objects and the compiled graph, never from a
copy, so what the inspector shows is what LangGraph holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.runnables.graph import Graph
from langgraph.types import StateSnapshot


def message_rows(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """One row per message: role, text, tool calls with their arguments, tool results, ids."""
    return [
        {
            "#": number,
            "role": message.type,
            "content": _text(message.content),
            "tool calls": [_call(call) for call in _tool_calls(message)],
            "answers call": message.tool_call_id if isinstance(message, ToolMessage) else "",
            "status": getattr(message, "status", "") if isinstance(message, ToolMessage) else "",
            "id": message.id or "",
        }
        for number, message in enumerate(messages, start=1)
    ]


def checkpoint_rows(
    snapshots: Sequence[StateSnapshot], older: StateSnapshot | None = None
) -> list[dict[str, Any]]:
    """One row per checkpoint, newest first; ``older`` is the one just before the last shown.

    LangGraph's checkpoint metadata no longer names the node that wrote it; that node is the task
    its parent checkpoint had scheduled (``parent.next``), so each row looks one checkpoint back.
    """
    parents = [*snapshots[1:], older]
    return [
        {
            "step": snapshot.metadata.get("step"),
            "source": snapshot.metadata.get("source"),
            "written by": _writer(snapshot, parent),
            "time": snapshot.created_at,
            "messages": len(snapshot.values.get("messages", [])),
            "next": ", ".join(snapshot.next),
            "checkpoint": snapshot.config["configurable"]["checkpoint_id"],
        }
        for snapshot, parent in zip(snapshots, parents, strict=True)
    ]


def graph_dot(graph: Graph, active: Sequence[str] = ()) -> str:
    """The compiled graph in Graphviz DOT; nodes in ``active`` (the state's ``next``) are filled.

    Conditional edges are dashed, as LangGraph draws them.
    """
    lines = [
        "digraph agent {",
        '  rankdir=TB; bgcolor="transparent";',
        '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="sans-serif"];',
    ]
    for node_id in graph.nodes:
        attributes = {"label": node_id}
        if node_id in ("__start__", "__end__"):
            attributes |= {"shape": "oval", "fillcolor": "#eeeeee"}
        if node_id in active:
            attributes |= {"fillcolor": "#ffd54f", "penwidth": "2", "label": f"{node_id}\n(next)"}
        lines.append(f"  {_quote(node_id)} [{_attributes(attributes)}];")
    for edge in graph.edges:
        style = ' [style="dashed"]' if edge.conditional else ""
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)}{style};")
    lines.append("}")
    return "\n".join(lines)


def _writer(snapshot: StateSnapshot, parent: StateSnapshot | None) -> str:
    source = snapshot.metadata.get("source")
    if source == "input":
        return "(user input)"
    if source in ("update", "fork"):
        return "(update_state: fork)"
    return ", ".join(parent.next) if parent else "(older than this page)"


def _tool_calls(message: BaseMessage) -> list[dict[str, Any]]:
    if not isinstance(message, AIMessage):
        return []
    return [*message.tool_calls, *message.invalid_tool_calls]


def _call(call: dict[str, Any]) -> dict[str, Any]:
    """A tool call as the model made it; invalid ones carry their unparsed argument text."""
    return {"name": call.get("name"), "args": call.get("args"), "id": call.get("id")}


def _text(content: Any) -> str:
    """Message content is text or a list of content blocks; blocks are shown as JSON."""
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _quote(text: str) -> str:
    return json.dumps(text)


def _attributes(attributes: dict[str, str]) -> str:
    return ", ".join(f"{name}={_quote(value)}" for name, value in attributes.items())
