"""One user's conversations: the thread registry, state snapshots, checkpoint history and forks.

Threads are registered in the store under ``("threads",)`` with their owner, so listing a user's
conversations is one query, and every function here checks ownership before it reads a thread.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, RemoveMessage, message_to_dict

from memory_agent.backends.faults import StorageError, damaged_data
from memory_agent.backends.items import every_item
from memory_agent.configuration import validate_user_id
from memory_agent.conversations import transcript
from memory_agent.memories import THREAD_ID_PATTERN, now_iso
from memory_agent.runtime import Runtime

if TYPE_CHECKING:  # LangGraph's graph modules load only once a state is read (runtime.py)
    from langchain_core.runnables import RunnableConfig
    from langgraph.types import StateSnapshot

THREADS_NAMESPACE = ("threads",)
UPGRADE_NAMESPACE = ("upgrades",)
WINDOW_UPGRADE = "transcripts-recorded"
"""Marks a data store whose threads from before the window have had their transcripts recorded."""
MAX_TITLE_LENGTH = 80
_PAGE = 500


class ThreadNotFound(LookupError):
    """No such conversation for this user (also when it belongs to someone else)."""


@dataclass(frozen=True)
class CheckpointRecord:
    """One checkpoint as the history tree needs it, read without rebuilding its whole state.

    ``wrote`` is what the steps run from this checkpoint wrote (so its child gained them);
    ``edited`` says a checkpoint made by ``update_state`` changed the messages it copied.
    """

    checkpoint_id: str
    parent_id: str | None
    step: int | None
    source: str | None
    created_at: str
    wrote: tuple[BaseMessage, ...] = ()
    edited: bool = False


@dataclass(frozen=True)
class Thread:
    """A conversation's record: whose it is, its title and when it was last used."""

    thread_id: str
    user_id: str
    title: str
    created_at: str
    updated_at: str


def new_thread_id() -> str:
    """A fresh thread id (a UUID, as LangGraph Server requires)."""
    return str(uuid.uuid4())


def validate_thread_id(thread_id: Any) -> str:
    # fullmatch: with match, "$" would also accept a trailing newline.
    """Refuse a thread id that is not 1-128 letters, digits or ``_ - . : @``."""
    if not isinstance(thread_id, str) or not THREAD_ID_PATTERN.fullmatch(thread_id):
        raise ValueError(f"thread id {thread_id!r} must be 1-128 letters, digits or _ - . : @")
    return thread_id


def thread_config(user_id: str, thread_id: str, **settings: Any) -> RunnableConfig:
    """The run config for one user's thread; ``settings`` override Configuration fields."""
    return {"configurable": {**settings, "user_id": user_id, "thread_id": thread_id}}


def get_thread(runtime: Runtime, user_id: str, thread_id: str) -> Thread:
    """The thread if this user owns it; otherwise ``ThreadNotFound`` (the same for both cases)."""
    validate_user_id(user_id)
    item = runtime.store.get(THREADS_NAMESPACE, validate_thread_id(thread_id))
    if item is None or item.value.get("user_id") != user_id:
        raise ThreadNotFound(f"No conversation {thread_id!r} for user {user_id!r}.")
    return Thread(thread_id=item.key, **item.value)


def open_thread(runtime: Runtime, user_id: str, thread_id: str | None = None) -> Thread:
    """The user's thread, created (untitled) when it does not exist yet.

    A thread id that has checkpoints but no owner (written by another tool, or left from before
    the registry) is not handed to whoever asks first: it is refused like a foreign thread.
    """
    thread_id = validate_thread_id(thread_id or new_thread_id())
    item = runtime.store.get(THREADS_NAMESPACE, thread_id)
    if item is not None:
        return get_thread(runtime, user_id, thread_id)
    if runtime.checkpointer.get_tuple({"configurable": {"thread_id": thread_id}}) is not None:
        raise ThreadNotFound(f"No conversation {thread_id!r} for user {user_id!r}.")
    now = now_iso()
    thread = Thread(thread_id, validate_user_id(user_id), "", now, now)
    _save(runtime, thread)
    return thread


def list_threads(
    runtime: Runtime,
    user_id: str,
    limit: int | None = None,
    *,
    search: str | None = None,
    keep: str | None = None,
) -> list[Thread]:
    """The user's conversations, most recently active first: the first ``limit`` (or all).

    ``search`` keeps those whose title contains it (any case). ``keep`` names the open
    conversation: it is listed even when it falls outside the page or the search, so a list
    never loses the conversation on screen. The store is read in pages: one search returns at
    most its limit, which is how conversations past the 200th used to go missing.
    """
    everything = _all_threads(runtime, user_id)
    needle = " ".join((search or "").split()).casefold()
    listed = [t for t in everything if needle in t.title.casefold()][:limit]
    kept = [t for t in everything if t.thread_id == keep and t not in listed]
    return listed + kept


def count_threads(runtime: Runtime, user_id: str, *, search: str | None = None) -> int:
    """How many conversations ``list_threads`` would list with no limit (for "Show more")."""
    needle = " ".join((search or "").split()).casefold()
    return sum(needle in t.title.casefold() for t in _all_threads(runtime, user_id))


def _all_threads(runtime: Runtime, user_id: str) -> list[Thread]:
    """Every conversation of the user, newest first, read from the store page by page."""
    items = every_item(runtime.store, THREADS_NAMESPACE, {"user_id": validate_user_id(user_id)})
    return sorted(
        (Thread(thread_id=item.key, **item.value) for item in items),
        key=lambda t: (t.updated_at, t.thread_id),
        reverse=True,
    )


def rename_thread(runtime: Runtime, user_id: str, thread_id: str, title: str) -> Thread:
    """Rename one of the user's conversations; the title is one line, at most 80 characters."""
    title = " ".join(str(title).split())
    if not title:
        raise ValueError("A conversation title must not be empty.")
    if len(title) > MAX_TITLE_LENGTH:
        raise ValueError(
            f"A title is at most {MAX_TITLE_LENGTH} characters; this one has {len(title)}."
        )
    thread = get_thread(runtime, user_id, thread_id)
    renamed = Thread(thread.thread_id, user_id, title, thread.created_at, now_iso())
    _save(runtime, renamed)
    return renamed


def record_activity(runtime: Runtime, thread: Thread, message: str) -> Thread:
    """Mark the thread active now; an untitled thread takes its title from its first message."""
    title = thread.title or title_from(message)
    updated = Thread(thread.thread_id, thread.user_id, title, thread.created_at, now_iso())
    _save(runtime, updated)
    return updated


def delete_thread(runtime: Runtime, user_id: str, thread_id: str) -> None:
    """Delete the conversation, its checkpoints and its transcript (memories made in it stay)."""
    get_thread(runtime, user_id, thread_id)
    runtime.checkpointer.delete_thread(thread_id)
    transcript.delete(runtime.store, thread_id)
    runtime.store.delete(THREADS_NAMESPACE, thread_id)


def title_from(message: str) -> str:
    """A conversation's title from its first message, shortened at a word."""
    text = " ".join(message.split())
    if len(text) <= 48:
        return text or "New chat"
    return text[:47].rsplit(" ", 1)[0] + "…"


def get_state(runtime: Runtime, user_id: str, thread_id: str) -> StateSnapshot:
    """The live ``graph.get_state`` snapshot of the user's thread."""
    get_thread(runtime, user_id, thread_id)
    return _checked(runtime, runtime.graph.get_state(thread_config(user_id, thread_id)))


def messages(
    runtime: Runtime, user_id: str, thread_id: str, snapshot: StateSnapshot | None = None
) -> list[BaseMessage]:
    """The whole conversation: its transcript, then the recent turns the state holds.

    ``snapshot`` is the thread's current state when the caller has it already (one load).
    """
    snapshot = snapshot or get_state(runtime, user_id, thread_id)
    return transcript.whole(runtime.store, thread_id, window(snapshot))


def window(snapshot: StateSnapshot) -> list[BaseMessage]:
    """The recent turns a state holds: what the model is sent (``state.WINDOW_MESSAGES``)."""
    return list(snapshot.values.get("messages", []))


def earlier_messages(
    runtime: Runtime, user_id: str, thread_id: str, snapshot: StateSnapshot, limit: int
) -> list[BaseMessage]:
    """The latest ``limit`` messages before the state's window, oldest first ("show earlier")."""
    get_thread(runtime, user_id, thread_id)
    return transcript.earlier(runtime.store, thread_id, window(snapshot), limit)


def transcript_as_json(runtime: Runtime, user_id: str, thread_id: str) -> str:
    """The whole conversation as JSON (every message as ``message_to_dict``), for export.

    The checkpoint export (``snapshot_as_json``) holds only the recent turns; this is every
    message of the current branch, oldest first.
    """
    thread = get_thread(runtime, user_id, thread_id)
    every = messages(runtime, user_id, thread_id)
    document = {
        "thread_id": thread.thread_id,
        "user_id": thread.user_id,
        "title": thread.title,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
        "messages": [message_to_dict(m) for m in every],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def record_transcripts_written_before(runtime: Runtime) -> int:
    """Record the transcript of every thread written before the window; how many were read.

    Those threads hold their whole conversation in their checkpoints, which the bounded state
    trims away on its next load: in process each is read once with the whole-state reducer
    (``state.WholeState``) and recorded. A LangGraph Server's graph reads them with the window
    already, so there every checkpoint's window is read and recorded
    (``transcript.record_history``). Runs once per store (a marker item says it ran); a second
    process doing it at the same time writes the same items.
    """
    if runtime.store.get(UPGRADE_NAMESPACE, WINDOW_UPGRADE) is not None:
        return 0
    reader = None
    read = 0
    for item in every_item(runtime.store, THREADS_NAMESPACE):
        config: RunnableConfig = {"configurable": {"thread_id": item.key}}
        if runtime.remote:
            windows = [s.values.get("messages", []) for s in _every_checkpoint(runtime, config)]
            read += bool(transcript.record_history(runtime.store, item.key, windows[::-1]))
            continue
        reader = reader or _whole_state_reader(runtime)
        old = reader.get_state(config)
        kept = old.values.get("messages", []) if old.values else []
        if kept:
            transcript.record(runtime.store, item.key, kept)
            read += 1
    runtime.store.put(UPGRADE_NAMESPACE, WINDOW_UPGRADE, {"at": now_iso()}, index=False)
    return read


def _whole_state_reader(runtime: Runtime) -> Any:
    """The graph with the whole-state reducer, built only when a thread needs upgrading."""
    from memory_agent.graph import build_graph
    from memory_agent.state import WholeState

    return build_graph(runtime.checkpointer, None, WholeState)


def _every_checkpoint(runtime: Runtime, config: RunnableConfig) -> list[StateSnapshot]:
    """Every checkpoint of a thread, newest first, read a page at a time."""
    snapshots: list[StateSnapshot] = []
    while True:
        before = snapshots[-1].config if snapshots else None
        page = _all_checked(
            runtime, runtime.graph.get_state_history(config, limit=_PAGE, before=before)
        )
        snapshots += page
        if len(page) < _PAGE:
            return snapshots


def get_history(
    runtime: Runtime, user_id: str, thread_id: str, limit: int = 20, before: str | None = None
) -> list[StateSnapshot]:
    """The thread's checkpoints, newest first; ``before`` (a checkpoint id) pages back."""
    get_thread(runtime, user_id, thread_id)
    config = thread_config(user_id, thread_id)
    before_config = thread_config(user_id, thread_id, checkpoint_id=before) if before else None
    return _all_checked(
        runtime, runtime.graph.get_state_history(config, limit=limit, before=before_config)
    )


def get_checkpoint(
    runtime: Runtime, user_id: str, thread_id: str, checkpoint_id: str
) -> StateSnapshot:
    """The thread's state as it was at one checkpoint; ``ThreadNotFound`` for an unknown id."""
    get_thread(runtime, user_id, thread_id)
    snapshot = _checked(
        runtime,
        runtime.graph.get_state(thread_config(user_id, thread_id, checkpoint_id=checkpoint_id)),
    )
    if snapshot.created_at is None:
        raise ThreadNotFound(f"No checkpoint {checkpoint_id!r} in conversation {thread_id!r}.")
    return snapshot


def fork(runtime: Runtime, user_id: str, thread_id: str, checkpoint_id: str) -> RunnableConfig:
    """Branch the thread at a checkpoint; the chat continues from the returned config."""
    get_checkpoint(runtime, user_id, thread_id, checkpoint_id)
    # The saver's put needs the namespace spelled out; "" is the root graph's.
    config = thread_config(user_id, thread_id, checkpoint_id=checkpoint_id, checkpoint_ns="")
    return runtime.graph.update_state(config, None)


def checkpoint_records(
    runtime: Runtime, user_id: str, thread_id: str, limit: int | None = None
) -> list[CheckpointRecord]:
    """The thread's checkpoints, every branch, newest first (the newest ``limit``, or all).

    In process this reads the saver's checkpoint list and pending writes once (a 100-turn
    thread's 368 checkpoints in ~70 ms); rebuilding each state with ``get_state_history`` took
    ~3.4 s. Only a fork's state is rebuilt, to tell an edited copy from a plain one. A LangGraph
    Server has no such list, so there each checkpoint's state is read.
    """
    get_thread(runtime, user_id, thread_id)
    config = thread_config(user_id, thread_id, checkpoint_ns="")
    if not hasattr(runtime.checkpointer, "list"):
        history = runtime.graph.get_state_history(config, limit=limit)
        return _records_from_history(_all_checked(runtime, history))
    records = []
    # Read the whole list first: the saver holds its lock while the list is being iterated.
    for saved in list(runtime.checkpointer.list(config, limit=limit)):
        parent_id = (saved.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        wrote = [
            message
            for _task, channel, value in saved.pending_writes or []
            if channel == "messages"
            for message in (value if isinstance(value, list) else [value])
            if isinstance(message, BaseMessage)
        ]
        source = saved.metadata.get("source")
        checkpoint_id = saved.config["configurable"]["checkpoint_id"]
        records.append(
            CheckpointRecord(
                checkpoint_id=checkpoint_id,
                parent_id=parent_id,
                step=saved.metadata.get("step"),
                source=source,
                created_at=saved.checkpoint["ts"],
                wrote=tuple(wrote),
                edited=source in ("update", "fork")
                and parent_id is not None
                and _messages_at(runtime, user_id, thread_id, checkpoint_id)
                != _messages_at(runtime, user_id, thread_id, parent_id),
            )
        )
    return records


def fork_with_edit(
    runtime: Runtime,
    user_id: str,
    thread_id: str,
    checkpoint_id: str,
    message_id: str,
    text: str | None,
) -> RunnableConfig:
    """Branch the thread with one message changed to ``text`` (or removed).

    An edited message starts the branch where it was the latest (``edit_point``), not at the
    opened checkpoint: forked later, the replies that answered the original would stay in the
    branch. Only the text changes: the message keeps its id, role and tool calls, so the edited
    state is a valid conversation the graph continues from (after a user's message, the agent
    answers it afresh). A removed message is taken out at the opened checkpoint, the rest kept.
    """
    snapshot = get_checkpoint(runtime, user_id, thread_id, checkpoint_id)
    target = next((m for m in snapshot.values.get("messages", []) if m.id == message_id), None)
    if target is None:
        raise ThreadNotFound(f"No message {message_id!r} at checkpoint {checkpoint_id!r}.")
    if text is None:
        update: BaseMessage = RemoveMessage(id=message_id)
    elif not text.strip():
        raise ValueError("An edited message must not be empty; remove it instead.")
    else:
        update = target.model_copy(update={"content": text})
    if text is not None and snapshot.values["messages"][-1].id != message_id:
        records = checkpoint_records(runtime, user_id, thread_id)
        checkpoint_id = edit_point(records, checkpoint_id, message_id) or checkpoint_id
    config = thread_config(user_id, thread_id, checkpoint_id=checkpoint_id, checkpoint_ns="")
    return runtime.graph.update_state(config, {"messages": [update]})


def edit_point(records: list[CheckpointRecord], checkpoint_id: str, message_id: str) -> str | None:
    """The checkpoint on ``checkpoint_id``'s branch right after the step that wrote the message.

    Walks the parent links back from ``checkpoint_id``: the child of the checkpoint whose steps
    wrote ``message_id`` holds it as its latest message (or, when one step wrote several
    messages, with only that step's other messages after it). ``None`` when no step on the branch
    wrote it (a message that came in through ``update_state``).
    """
    by_id = {r.checkpoint_id: r for r in records}
    child, node = None, by_id.get(checkpoint_id)
    while node is not None:
        if child is not None and any(m.id == message_id for m in node.wrote):
            return child.checkpoint_id
        child, node = node, by_id.get(node.parent_id or "")
    return None


def snapshot_as_dict(snapshot: StateSnapshot) -> dict[str, Any]:
    """Every field of a ``StateSnapshot`` as JSON-ready data, messages included."""
    return {
        "values": {
            key: [_message_dict(m) for m in value] if key == "messages" else value
            for key, value in snapshot.values.items()
        },
        "next": list(snapshot.next),
        "config": snapshot.config,
        "metadata": snapshot.metadata,
        "created_at": snapshot.created_at,
        "parent_config": snapshot.parent_config,
        "tasks": [
            {
                "id": task.id,
                "name": task.name,
                "path": list(task.path),
                "error": None
                if task.error is None
                else f"{type(task.error).__name__}: {task.error}",
                "interrupts": [_plain(i) for i in task.interrupts],
                "result": _plain(task.result),
            }
            for task in snapshot.tasks
        ],
        "interrupts": [_plain(i) for i in snapshot.interrupts],
    }


def snapshot_as_json(snapshot: StateSnapshot) -> str:
    """The full state snapshot as JSON, for download and the command line."""
    return json.dumps(snapshot_as_dict(snapshot), indent=2, ensure_ascii=False, default=str)


def _messages_at(runtime: Runtime, user_id: str, thread_id: str, checkpoint_id: str) -> list:
    """The messages of one checkpoint (read only for forks, which are few)."""
    config = thread_config(user_id, thread_id, checkpoint_id=checkpoint_id)
    return list(_checked(runtime, runtime.graph.get_state(config)).values.get("messages", []))


def _checked(runtime: Runtime, snapshot: StateSnapshot) -> StateSnapshot:
    """The snapshot, refused as damaged data when its messages are not all messages.

    Overwritten bytes can still decode (SQLite keeps no checksums): a message read back as
    ``None`` was drawn as an empty bubble and failed later with an attribute error.
    """
    messages = (snapshot.values or {}).get("messages", [])
    if any(not isinstance(m, BaseMessage) for m in messages):
        raise StorageError(damaged_data(runtime.location, "a checkpoint holds non-messages"))
    return snapshot


def _all_checked(runtime: Runtime, snapshots: Iterable[StateSnapshot]) -> list[StateSnapshot]:
    return [_checked(runtime, snapshot) for snapshot in snapshots]


def _records_from_history(snapshots: list[StateSnapshot]) -> list[CheckpointRecord]:
    """Checkpoint records from full snapshots: what each one's child gained is a diff of ids."""
    by_id = {s.config["configurable"]["checkpoint_id"]: s for s in snapshots}
    children: dict[str, StateSnapshot] = {}
    for snapshot in snapshots:
        parent = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        if parent and snapshot.metadata.get("source") not in ("update", "fork"):
            children[parent] = snapshot
    records = []
    for checkpoint_id, snapshot in by_id.items():
        mine = snapshot.values.get("messages", [])
        parent = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        child = children.get(checkpoint_id)
        known = {m.id for m in mine}
        wrote = [m for m in child.values.get("messages", []) if m.id not in known] if child else []
        before = by_id[parent].values.get("messages", []) if parent in by_id else []
        records.append(
            CheckpointRecord(
                checkpoint_id=checkpoint_id,
                parent_id=parent,
                step=snapshot.metadata.get("step"),
                source=snapshot.metadata.get("source"),
                created_at=snapshot.created_at or "",
                wrote=tuple(wrote),
                edited=snapshot.metadata.get("source") in ("update", "fork") and mine != before,
            )
        )
    return records


def _message_dict(message: BaseMessage) -> dict[str, Any]:
    return message.model_dump(exclude_none=True)


def _plain(value: Any) -> Any:
    """JSON-ready data from LangGraph's dataclasses and messages."""
    if isinstance(value, BaseMessage):
        return _message_dict(value)
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _save(runtime: Runtime, thread: Thread) -> None:
    value = {
        "user_id": thread.user_id,
        "title": thread.title,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
    }
    runtime.store.put(THREADS_NAMESPACE, thread.thread_id, value, index=False)
