"""Running one chat turn: stream the reply's text and the memory writes as they happen.

The same generator serves the chat page (``st.write_stream``) and the command line. A turn that
failed half-way stays pending in the checkpoint; ``resume`` re-runs it without re-sending the
user's message, so a retry never duplicates it.

Turns of one conversation run one at a time, whichever tab, process or app server sends them: a
turn holds the conversation's lock from reading its history to storing its reply, so the model is
sent exactly the history that is stored and no reply overwrites another. A second sender waits for
its turn (up to ``TURN_WAIT_S``), then is told the conversation is busy; its message is not sent.
A turn whose reader goes away (the generator is closed, or ``cancelled()`` turns true) closes its
model request at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)

from memory_agent.backends.faults import storage_faults
from memory_agent.backends.locks import LockBusy
from memory_agent.configuration import Configuration
from memory_agent.conversations import threads, transcript
from memory_agent.message_text import content_text, message_text
from memory_agent.models.errors import describe_recorded_error
from memory_agent.recall import Recall
from memory_agent.runtime import Runtime

if TYPE_CHECKING:  # LangGraph's graph modules load only once a state is read (runtime.py)
    from langgraph.types import StateSnapshot

MAX_MESSAGE_LENGTH = 8_000
TURN_WAIT_S = 30.0
"""How long a message waits for the conversation's previous turn before it is refused as busy."""


class ConversationBusy(RuntimeError):
    """Another turn of the conversation is still running; this message was not sent."""


@dataclass(frozen=True)
class MemoryNote:
    """A memory the agent saved or updated during the turn."""

    action: str
    key: str
    content: str

    def __str__(self) -> str:
        verb = {"updated": "Updated memory", "deleted": "Forgot"}.get(
            self.action, "Saved to memory"
        )
        return f"{verb}: {self.content}"


@dataclass(frozen=True)
class Turn:
    """One chat bubble as stored: a user's message, or everything the agent did in reply to it.

    An agent turn spans several stored messages (a model call that asks for tools, the tool
    results, the final model call); the page shows them as one bubble with its memory notes.
    """

    role: Literal["user", "assistant"]
    text: str
    notes: tuple[MemoryNote, ...] = ()
    recall: Recall | None = None
    """The recall record of the turn's first model call: the memories recalled for the user's
    message, before anything the turn itself saved (which explains an update)."""


@dataclass(frozen=True)
class ThreadView:
    """What the chat page draws for a thread, from one load of its state.

    ``turns`` are the recent turns (the state's window), so drawing a thread costs the same at
    turn 200 as at turn 10; ``earlier`` says the transcript holds older ones (``earlier_turns``).
    """

    snapshot: StateSnapshot
    turns: list[Turn]
    pending: str | None
    earlier: bool


def view(runtime: Runtime, user_id: str, thread_id: str) -> ThreadView:
    """What the chat page draws for the thread, from one load of its state."""
    snapshot = threads.get_state(runtime, user_id, thread_id)
    window = threads.window(snapshot)
    return ThreadView(
        snapshot=snapshot,
        turns=turns(window),
        pending=pending_error(runtime, user_id, thread_id, snapshot),
        earlier=transcript.has_earlier(runtime.store, thread_id, window),
    )


def earlier_turns(
    runtime: Runtime, user_id: str, thread_id: str, snapshot: StateSnapshot, messages: int
) -> tuple[list[Turn], bool]:
    """About ``messages`` messages before the window, as bubbles; and whether more came before.

    A page that would start inside an agent's turn starts at its user message instead (later),
    so no bubble is drawn without the message it answers.
    """
    found = threads.earlier_messages(runtime, user_id, thread_id, snapshot, messages + 1)
    more = len(found) > messages
    page = found[-messages:] if more else found
    if more:
        start = next((i for i, m in enumerate(page) if isinstance(m, HumanMessage)), len(page))
        page = page[start:]
    return turns(page), more


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
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8, kept by Python as lone surrogates
        raise ValueError("The message is not valid UTF-8 text; retype it.") from None
    return text


def send(
    runtime: Runtime,
    user_id: str,
    thread_id: str,
    text: str,
    *,
    cancelled: Callable[[], bool] | None = None,
    snapshot: StateSnapshot | None = None,
    **settings: Any,
) -> Iterator[str | MemoryNote]:
    """Add the user's message to the thread and stream the agent's turn, one turn at a time.

    ``snapshot`` is the thread's state as the caller last loaded it (the chat page has just
    drawn it), so the state is not loaded again before the graph loads it for the turn.
    """
    validate_message(text)
    with storage_faults(runtime.location), _turn_of(runtime, thread_id, cancelled):
        thread = threads.open_thread(runtime, user_id, thread_id)
        if snapshot is None:
            snapshot = threads.get_state(runtime, user_id, thread_id)
        if any(task.name == "store_memory" for task in snapshot.tasks):
            # The last turn stopped between the model's tool calls and their results (a crash).
            # A model rejects a history with unanswered tool calls, so carry them out first.
            # Stopping before the next model call (not after store_memory) also keeps tool
            # results that were saved as pending writes when the kill came before the next
            # checkpoint.
            yield from _stream(
                runtime, user_id, thread_id, None, settings, cancelled, stop_before="call_model"
            )
        message = {"messages": [HumanMessage(text)]}
        # A new thread is titled at once (a crash must not leave it blank); an ongoing one is
        # marked active once the first words are out: the write is off the path to the first
        # token (and still made if the turn fails before any).
        recorded = not thread.title
        if recorded:
            threads.record_activity(runtime, thread, text)
        try:
            for event in _stream(runtime, user_id, thread_id, message, settings, cancelled):
                yield event
                if not recorded:
                    recorded = True
                    threads.record_activity(runtime, thread, text)
        finally:
            if not recorded:
                threads.record_activity(runtime, thread, text)


def resume(
    runtime: Runtime,
    user_id: str,
    thread_id: str,
    *,
    cancelled: Callable[[], bool] | None = None,
    **settings: Any,
) -> Iterator[str | MemoryNote]:
    """Re-run a turn that failed, from its last checkpoint (the user's message is already there)."""
    with storage_faults(runtime.location), _turn_of(runtime, thread_id, cancelled):
        if not has_pending_turn(runtime, user_id, thread_id):
            raise ValueError("There is no unfinished turn to retry in this conversation.")
        yield from _stream(runtime, user_id, thread_id, None, settings, cancelled)


@contextmanager
def _turn_of(
    runtime: Runtime, thread_id: str, cancelled: Callable[[], bool] | None
) -> Iterator[None]:
    """Hold the conversation's turn lock, waiting up to ``TURN_WAIT_S`` for the turn before."""
    held = ExitStack()
    try:
        held.enter_context(runtime.locks.hold(f"turn:{thread_id}", TURN_WAIT_S, cancelled))
    except LockBusy:
        raise ConversationBusy(
            f"This conversation is still answering another message (waited {TURN_WAIT_S:g} s); "
            "yours was not sent: send it again when that reply has finished."
        ) from None
    with held:
        yield


def has_pending_turn(runtime: Runtime, user_id: str, thread_id: str) -> bool:
    """True when the thread's last turn stopped before the agent finished (e.g. a model error)."""
    snapshot = threads.get_state(runtime, user_id, thread_id)
    return bool(snapshot.next or snapshot.tasks)


def history(runtime: Runtime, user_id: str, thread_id: str) -> list[Turn]:
    """The whole conversation as chat bubbles: the transcript, then the recent turns."""
    return turns(threads.messages(runtime, user_id, thread_id))


def pending_error(
    runtime: Runtime, user_id: str, thread_id: str, snapshot: StateSnapshot | None = None
) -> str | None:
    """Why the thread's last turn did not finish, in one line; ``None`` when it finished.

    ``snapshot``: the thread's state if the caller has loaded it already.
    """
    snapshot = snapshot or threads.get_state(runtime, user_id, thread_id)
    if not (snapshot.next or snapshot.tasks):
        return None
    recorded = next((str(task.error) for task in snapshot.tasks if task.error), None)
    return describe_recorded_error(recorded)


def turns(messages: Sequence[BaseMessage]) -> list[Turn]:
    """Group stored messages into bubbles: each human message, then the agent's reply to it."""
    result: list[Turn] = []
    reply: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            if reply:
                result.append(_agent_turn(reply))
                reply = []
            result.append(Turn("user", message_text(message)))
        else:
            reply.append(message)
    if reply:
        result.append(_agent_turn(reply))
    return result


def _agent_turn(messages: list[BaseMessage]) -> Turn:
    replies = [m for m in messages if isinstance(m, AIMessage)]
    texts = [text for text in map(message_text, replies) if text.strip()]
    notes = tuple(note for note in map(memory_note, messages) if note)
    recalls = [r for r in map(Recall.of, replies) if r is not None]
    return Turn("assistant", "\n\n".join(texts), notes, recalls[0] if recalls else None)


def _stream(
    runtime: Runtime,
    user_id: str,
    thread_id: str,
    graph_input: Any,
    settings: dict[str, Any],
    cancelled: Callable[[], bool] | None,
    stop_before: str | None = None,
) -> Iterator[str | MemoryNote]:
    # Settings travel as the run's context alone: a LangGraph Server refuses a run that has both
    # context and configurable values, so the config names only the thread.
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
    context = Configuration.with_run_values(None, **{**settings, "user_id": user_id})
    left = threading.Event()  # the reader closed this generator (a closed tab, a stop)
    from memory_agent.deadlines import turn_signals  # its HTTP modules load with a turn

    with turn_signals(thread_id, lambda: left.is_set() or bool(cancelled and cancelled())):
        stream = runtime.graph.stream(
            graph_input,
            config,
            context=context.run_context(),
            stream_mode=["messages", "updates"],
            interrupt_before=[stop_before] if stop_before else None,
        )
        try:
            yield from _events(stream)
        except GeneratorExit:
            left.set()  # before closing the graph's stream, which waits for the model call
            raise
        finally:
            stream.close()


def _events(stream: Iterator[Any]) -> Iterator[str | MemoryNote]:
    for mode, payload in stream:
        if mode == "messages":
            chunk, metadata = payload
            if isinstance(chunk, AIMessageChunk) and metadata.get("langgraph_node") == "call_model":
                text = content_text(chunk.content)  # a string, or text blocks
                if text:
                    yield text
        else:
            for message in (payload.get("call_model") or {}).get("messages", []):
                if _is_notice(message):  # the graph's own words, never streamed by a model
                    yield message_text(message)
            for message in (payload.get("store_memory") or {}).get("messages", []):
                note = memory_note(message)
                if note:
                    yield note


def _is_notice(message: Any) -> bool:
    """Whether a reply is the graph's own notice (a LangGraph Server sends messages as dicts)."""
    from memory_agent.graph import NOTICE_KEY  # loaded by the turn already (runtime.py)

    metadata = (
        message.get("response_metadata") if isinstance(message, dict) else message.response_metadata
    )
    return bool((metadata or {}).get(NOTICE_KEY))


def memory_note(message: Any) -> MemoryNote | None:
    """The memory write a tool result reports, if it reports one (errors report none)."""
    if not isinstance(message, ToolMessage) or not isinstance(message.artifact, dict):
        return None
    artifact = message.artifact
    return MemoryNote(artifact["action"], artifact["key"], artifact["content"])
