"""Readable views of a thread's state for the inspector: messages, checkpoints, the graph.

Each view is built from the live ``StateSnapshot`` objects and the compiled graph, never from a
copy, so what the inspector shows is what LangGraph holds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
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


def state_diff(old: StateSnapshot, new: StateSnapshot) -> dict[str, list[dict[str, Any]]]:
    """What differs from one checkpoint's state to another's: messages added, removed, changed.

    Messages are matched by id (``add_messages`` keys them so); any other value is compared
    whole, and a different ``next`` is listed as a changed value.
    """
    before = {m.id: m for m in old.values.get("messages", [])}
    after = {m.id: m for m in new.values.get("messages", [])}
    rows_after = {row["id"]: row for row in message_rows(list(after.values()))}
    rows_before = {row["id"]: row for row in message_rows(list(before.values()))}
    changed_values = [
        {
            "value": name,
            "before": _plain(old.values.get(name)),
            "after": _plain(new.values.get(name)),
        }
        for name in sorted((old.values.keys() | new.values.keys()) - {"messages"})
        if old.values.get(name) != new.values.get(name)
    ]
    if tuple(old.next) != tuple(new.next):
        changed_values.append({"value": "next", "before": list(old.next), "after": list(new.next)})
    return {
        "added": [rows_after[i or ""] for i in after if i not in before],
        "removed": [rows_before[i or ""] for i in before if i not in after],
        "changed": [
            {
                "id": i,
                "before": rows_before[i or ""]["content"],
                "after": rows_after[i or ""]["content"],
            }
            for i in after
            if i in before and _comparable(before[i]) != _comparable(after[i])
        ],
        "values": changed_values,
    }


def thread_labels(threads: Sequence[Any], now: datetime | None = None) -> dict[str, str]:
    """A distinct label per conversation: its title and when it was last active.

    Three chats titled "what do you know about me?" differ by date; two of the same minute
    also get the start of their id.
    """
    labels = {t.thread_id: f"{t.title or 'Untitled'} · {_when(t.updated_at, now)}" for t in threads}
    repeated = Counter(labels.values())
    return {
        thread_id: f"{label} · {thread_id[:6]}" if repeated[label] > 1 else label
        for thread_id, label in labels.items()
    }


def ago(iso: str, now: datetime | None = None) -> str:
    """How long ago an ISO time was, as people say it ("5 min ago", "3 days ago")."""
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    then = then if then.tzinfo else then.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            plural = "s" if count > 1 and unit != "min" else ""
            return f"{count} {unit}{plural} ago"
    return "just now"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and the word in its number: "1 memory", "2 memories", "0 changes"."""
    return f"{count:,} {word if count == 1 else words or word + 's'}"


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# As GFM: ``_`` emphasises only at word edges (snake_case stays), ``*`` and the rest anywhere.
_EMPHASIS = re.compile(
    r"(\*\*|~~|\*|`+)(?=\S)(.+?)(?<=\S)\1|(?<!\w)(__|_)(?=\S)(.+?)(?<=\S)\3(?!\w)"
)


def markdown_plain(text: str) -> str:
    """A Markdown reply as the text it renders to, for one-line labels.

    Model replies are Markdown (the chat renders them), so a label showing
    ``_— offline demo model_`` shows markup nobody sees in the chat. Only inline markup is
    taken off (emphasis, code spans, links keep their text); what people typed is never passed
    here, so it stays as typed.
    """
    previous = None
    while previous != text:  # nested emphasis, e.g. **_x_**
        previous, text = text, _EMPHASIS.sub(_inner, _LINK.sub(r"\1", text))
    return text


def _inner(match: re.Match[str]) -> str:
    return match.group(2) if match.group(1) else match.group(4)


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


def _when(iso: str, now: datetime | None) -> str:
    """A date people read at a glance: the time today, else the day and time."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    today = (now or datetime.now(UTC)).date()
    return moment.strftime("%H:%M" if moment.date() == today else "%b %d, %H:%M")


def _comparable(message: BaseMessage) -> tuple[Any, Any]:
    return message.content, _tool_calls(message)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


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
