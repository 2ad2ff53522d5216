"""A thread's checkpoints as a tree: one branch per fork, each checkpoint named by what it added.

LangGraph keeps every branch of a thread in one checkpoint list, linked by parent ids; shown as
one list, a forked thread reads as steps 15, 17, 16, 15, 14, 39… This groups the list into
branches (the current one first, holding the path from the newest checkpoint to the root) and
labels each checkpoint with the user message, model reply or tool result it came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from memory_agent.conversations.threads import CheckpointRecord
from memory_agent.inspector.views import markdown_plain, plural
from memory_agent.message_text import message_text

LABEL_LENGTH = 90


@dataclass(frozen=True)
class Branch:
    """A run of checkpoints, newest first; ``forked_from`` is where it left another branch."""

    number: int
    checkpoints: list[CheckpointRecord]
    forked_from: CheckpointRecord | None
    current: bool
    older: bool = False
    """The branch goes further back than the checkpoints read (``checkpoint_records`` limit)."""


def branches(records: Sequence[CheckpointRecord]) -> list[Branch]:
    """The tree's branches: the current one (newest checkpoint back to the root) first.

    Each other branch runs from a leaf back to the checkpoint it forked from, newest leaf first.
    """
    by_id = {r.checkpoint_id: r for r in records}
    has_child = {r.parent_id for r in records}
    leaves = sorted(
        (r for r in records if r.checkpoint_id not in has_child),
        key=lambda r: r.checkpoint_id,  # checkpoint ids sort by time
        reverse=True,
    )
    placed: set[str] = set()
    found: list[Branch] = []
    for leaf in leaves:
        chain: list[CheckpointRecord] = []
        node: CheckpointRecord | None = leaf
        while node is not None and node.checkpoint_id not in placed:
            chain.append(node)
            placed.add(node.checkpoint_id)
            node = by_id.get(node.parent_id or "")
        older = node is None and chain[-1].parent_id is not None
        found.append(Branch(len(found) + 1, chain, node, current=not found, older=older))
    return found


def labels(records: Sequence[CheckpointRecord]) -> dict[str, str]:
    """One line per checkpoint naming the message it came from.

    A checkpoint gains what its parent's steps wrote; a fork (``update_state``) is a copy, not
    its parent's continuation, and an input checkpoint holds the user's message it was given.
    """
    by_id = {r.checkpoint_id: r for r in records}
    return {r.checkpoint_id: _label(r, by_id.get(r.parent_id or "")) for r in records}


def _label(record: CheckpointRecord, parent: CheckpointRecord | None) -> str:
    if record.source == "input":
        said = next((message_text(m) for m in record.wrote if isinstance(m, HumanMessage)), "")
        return _short(f"user sends: {said}")
    if record.source in ("update", "fork"):
        what = "edited copy" if record.edited else "copy"
        step = parent.step if parent else record.step - 1  # a fork is one step after its source
        return f"branch starts: {what} of step {step}"
    added = parent.wrote if parent else ()
    if not added:
        return "(no new message)"
    return _short(" · ".join(describe(m) for m in added))


def describe(message: BaseMessage) -> str:
    """A message in a few words: who said it and what, or which tool it called and with what."""
    if isinstance(message, HumanMessage):
        return f"user: {message_text(message)}"
    if isinstance(message, ToolMessage):
        artifact = message.artifact if isinstance(message.artifact, dict) else {}
        shown = artifact.get("content")
        done = f"{artifact.get('action')}: {shown}" if shown else message_text(message)
        return f"tool {message.name or ''}: {done}".replace("  ", " ")
    if isinstance(message, AIMessage) and message.tool_calls:
        calls = ", ".join(_call(c) for c in message.tool_calls)
        return f"model calls {calls}"
    if isinstance(message, AIMessage):
        return f"model: {markdown_plain(message_text(message))}"
    return f"{message.type}: {message_text(message)}"


def rows(branch: Branch, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The branch as table rows, newest first: step, what it added, time, source, id."""
    return [
        {
            "step": r.step,
            "what": names.get(r.checkpoint_id, ""),
            "time": _time(r.created_at),
            "source": r.source,
            "checkpoint": r.checkpoint_id,
        }
        for r in branch.checkpoints
    ]


def title(branch: Branch, names: Mapping[str, str]) -> str:
    """A branch's heading: current or not, where it forked, how many checkpoints, when last."""
    fork = branch.forked_from
    if fork:
        where = f"branches off at step {fork.step} ({names.get(fork.checkpoint_id, '')})"
    else:
        where = "older checkpoints not loaded" if branch.older else "from the start"
    marker = "current branch" if branch.current else f"branch {branch.number}"
    latest = _time(branch.checkpoints[0].created_at)
    return f"{marker} · {where} · {plural(len(branch.checkpoints), 'checkpoint')} · latest {latest}"


def _time(iso: str) -> str:
    return iso[:19].replace("T", " ")


def _call(call: Mapping[str, Any]) -> str:
    args = call.get("args") or {}
    shown = args.get("content") or args.get("memory_id") if isinstance(args, dict) else args
    return f"{call.get('name')}({shown!s})" if shown else f"{call.get('name')}()"


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= LABEL_LENGTH else flat[: LABEL_LENGTH - 1] + "…"
