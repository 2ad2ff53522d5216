"""The chat page: talk to the memory agent and watch what it saves and recalls.

Reads top to bottom: open the runtime, work out whose conversation this is from the URL
(``?user=…&thread=…``, so a reload, a bookmark or a second tab opens the same one), draw the
sidebar, replay the stored conversation, then answer new input. Bubbles, memory notes and errors
are all read back from storage, so what the page shows is what is stored.

Only the recent turns (the state's window) are drawn, from one load of the state per run, so a
200-turn thread opens like a 10-turn one; "Show earlier messages" pages back through the
transcript. After a turn the page reruns to draw it as stored (a redraw of the window only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import streamlit as st
from streamlit.runtime import Runtime as StreamlitRuntime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from memory_agent.backends.faults import StorageError
from memory_agent.configuration import Configuration, validate_user_id
from memory_agent.conversations import chat, threads
from memory_agent.conversations.chat import MemoryNote, ThreadView, Turn
from memory_agent.models.chat import describe_model
from memory_agent.models.errors import describe_model_error
from memory_agent.runtime import Runtime
from ui import (
    INSPECTOR_PAGE,
    MEMORY_PARAM,
    TAB_PARAM,
    THREAD_PARAM,
    USER_PARAM,
    Visitor,
    escape_inline,
    flash,
    inspector_available,
    page_link_args,
    page_user,
    reply_markdown,
    runtime_or_stop,
    show_flash,
    show_where,
    stream_reply,
)

log = logging.getLogger(__name__)

# Session state keys: the few things this browser session keeps between reruns.
DRAFT = "draft_thread"  # id for the not-yet-saved "New chat"
RETRY = "retry_thread"  # the thread whose pending turn the user asked to retry
CONFIRM_DELETE = "confirm_delete"  # the thread waiting for delete confirmation
USER_FIELD = "user_field"  # the sidebar's user id input
USER_ERROR = "user_error"  # why the typed user id was not accepted
THREADS_SHOWN = "threads_shown"  # how many conversations the sidebar lists
THREAD_SEARCH = "thread_search"  # the sidebar's conversation search
EARLIER = "earlier_messages"  # thread id -> how many messages before the window are shown
SIDEBAR_PAGE = 50
EARLIER_PAGE = 40  # messages "Show earlier messages" adds each time (about the window's size)
SETTING_KEYS = {
    "model": "setting_model",
    "temperature": "setting_temperature",
    "system_prompt": "setting_system_prompt",
}

THREAD_LIST = "thread_list"
# A list of titles reads best left-aligned and on one line; Streamlit centres button labels.
# Static CSS only: no user content ever goes through unsafe HTML.
THREAD_LIST_CSS = f"""<style>
.st-key-{THREAD_LIST} button {{ padding: 0.25rem 0.75rem; }}
.st-key-{THREAD_LIST} button > div {{ justify-content: flex-start; width: 100%; min-width: 0; }}
.st-key-{THREAD_LIST} button [data-testid="stMarkdownContainer"] {{ min-width: 0; }}
.st-key-{THREAD_LIST} button p {{
  text-align: left; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}}
</style>"""


# ---- the runtime and whose conversation this is -------------------------------------------------


def requested_user(visitor: Visitor, default: str) -> tuple[str, str | None]:
    """Whose chat this is, and why it cannot be opened if it cannot.

    With login on it is always the visitor's own; without, the URL's user (or the default).
    """
    if visitor.identity is not None:
        return visitor.user_id or default, None
    user_id = st.query_params.get(USER_PARAM) or default
    try:
        return validate_user_id(user_id), None
    except ValueError as error:
        return user_id, str(error)


def current_thread(runtime: Runtime, user_id: str) -> tuple[str, threads.Thread | None]:
    """The thread in the URL if this user has it; otherwise this session's unsaved new chat."""
    requested = st.query_params.get(THREAD_PARAM)
    if requested:
        try:
            return requested, threads.get_thread(runtime, user_id, requested)
        except (threads.ThreadNotFound, ValueError):
            flash(f"{user_id} has no conversation {requested}; this is a new chat.", "warning")
            del st.query_params[THREAD_PARAM]
    return st.session_state.setdefault(DRAFT, threads.new_thread_id()), None


# ---- callbacks: they run before the next rerun, so the page redraws in the new state -----------


def start_new_chat() -> None:
    """Open a draft conversation; it is saved with its first message."""
    st.query_params.pop(THREAD_PARAM, None)
    st.session_state[DRAFT] = threads.new_thread_id()
    st.session_state.pop(CONFIRM_DELETE, None)


def open_chat(thread_id: str) -> None:
    """Switch to a conversation from the sidebar."""
    st.query_params[THREAD_PARAM] = thread_id
    st.session_state.pop(CONFIRM_DELETE, None)


def switch_user() -> None:
    """Switch to the typed user id if it is valid; a new chat, since threads are per user."""
    typed = st.session_state[USER_FIELD].strip()
    try:
        validate_user_id(typed)
    except ValueError as error:
        st.session_state[USER_ERROR] = f"Not switched: {escape_inline(str(error))}"
        return
    st.session_state.pop(USER_ERROR, None)
    st.query_params[USER_PARAM] = typed
    start_new_chat()


def rename_chat(runtime: Runtime, user_id: str, thread_id: str) -> None:
    """Rename a conversation to the title typed in its menu."""
    try:
        renamed = threads.rename_thread(
            runtime, user_id, thread_id, st.session_state["rename_title"]
        )
    except (ValueError, threads.ThreadNotFound) as error:
        flash(f"Not renamed: {error}", "error")
        return
    flash(f"Renamed to “{renamed.title}”", "success")


def ask_to_delete(thread_id: str) -> None:
    """Ask for confirmation before deleting a conversation."""
    st.session_state[CONFIRM_DELETE] = thread_id


def cancel_delete() -> None:
    """Keep the conversation the user was about to delete."""
    st.session_state.pop(CONFIRM_DELETE, None)


def delete_chat(runtime: Runtime, user_id: str, thread: threads.Thread) -> None:
    """Delete a conversation for good and open a new chat."""
    try:
        threads.delete_thread(runtime, user_id, thread.thread_id)
    except threads.ThreadNotFound as error:
        flash(f"Not deleted: {error}", "error")
        return
    start_new_chat()
    flash(f"Deleted “{thread.title or 'New chat'}”", "success")


def request_retry(thread_id: str) -> None:
    """Remember that the user asked to retry this conversation's pending turn."""
    st.session_state[RETRY] = thread_id


def show_more_threads() -> None:
    """List another page of conversations in the sidebar."""
    st.session_state[THREADS_SHOWN] = st.session_state.get(THREADS_SHOWN, 0) + SIDEBAR_PAGE


def show_earlier(thread_id: str) -> None:
    """Show another page of the messages before the recent turns."""
    shown = st.session_state.setdefault(EARLIER, {})
    shown[thread_id] = shown.get(thread_id, 0) + EARLIER_PAGE


def reset_settings(defaults: Configuration) -> None:
    """Put the session's model settings back to the server's defaults."""
    for name, key in SETTING_KEYS.items():
        st.session_state[key] = getattr(defaults, name)


# ---- sidebar ------------------------------------------------------------------------------------


def sidebar_user(user_id: str) -> None:
    """The user id field: switching users opens their conversations."""
    st.session_state.setdefault(USER_FIELD, user_id)
    st.text_input(
        "User id",
        key=USER_FIELD,
        on_change=switch_user,
        help="Whose conversations and memories you see. Letters, digits and _ - @ +.",
    )
    if st.session_state.get(USER_ERROR):
        st.error(st.session_state[USER_ERROR], icon=":material/person_alert:")


def sidebar_threads(runtime: Runtime, user_id: str, thread_id: str) -> None:
    """New chat, then the user's conversations, newest first."""
    st.button(
        "New chat", icon=":material/add:", on_click=start_new_chat, type="primary", width="stretch"
    )
    shown = st.session_state.setdefault(THREADS_SHOWN, SIDEBAR_PAGE)
    total = threads.count_threads(runtime, user_id)
    if total > SIDEBAR_PAGE:
        st.text_input("Search conversations", key=THREAD_SEARCH, placeholder="Words in a title")
    search = st.session_state.get(THREAD_SEARCH)
    saved = threads.list_threads(runtime, user_id, shown, search=search, keep=thread_id)
    if not saved:
        st.caption("No conversations yet." if not search else "No conversation matches.")
    conversations = st.container(key=THREAD_LIST, gap="small")
    for thread in saved:
        conversations.button(
            escape_inline(thread.title or "New chat"),
            key=f"open-{thread.thread_id}",
            on_click=open_chat,
            args=(thread.thread_id,),
            type="secondary" if thread.thread_id == thread_id else "tertiary",
            width="stretch",
            help=f"Last active {thread.updated_at[:16].replace('T', ' ')} UTC",
        )
    if threads.count_threads(runtime, user_id, search=search) > shown:
        st.button("Show more", on_click=show_more_threads, type="tertiary")


def sidebar_model(
    defaults: Configuration, editable: bool
) -> tuple[Configuration | None, dict[str, Any]]:
    """Which model answers, and this session's overrides (``None`` config while invalid).

    With login on only admins may change them: the model runs on the operator's key, and the
    system prompt decides what it does with every memory.
    """
    if not editable:
        st.markdown("**Model**")
        st.text(describe_model(defaults))
        st.caption("Only an admin can change the model settings.")
        return defaults, {}
    for name, key in SETTING_KEYS.items():
        st.session_state.setdefault(key, getattr(defaults, name))
    overrides = {
        name: st.session_state[key]
        for name, key in SETTING_KEYS.items()
        if st.session_state[key] != getattr(defaults, name)
    }
    st.markdown("**Model**")
    try:
        settings: Configuration | None = Configuration.from_runnable_config(
            {"configurable": overrides}
        )
    except ValueError as error:
        settings = None
        st.error(f"Settings not usable: {escape_inline(str(error))}", icon=":material/error:")
    else:
        st.text(describe_model(settings))  # plain text: a base URL must not become a link
    if settings is not None and settings.is_offline:
        st.caption(
            "To use a real model, set `OPENAI_API_KEY`, or `MEMORY_AGENT_BASE_URL` for an "
            "OpenAI-compatible server (Ollama, vLLM, llama.cpp), and restart."
        )
    with st.expander("Model settings", icon=":material/tune:"):
        st.text_input("Model name", key=SETTING_KEYS["model"], help="`offline-demo` is built in.")
        st.slider("Temperature", 0.0, 2.0, step=0.1, key=SETTING_KEYS["temperature"])
        st.text_area(
            "System prompt",
            key=SETTING_KEYS["system_prompt"],
            height=180,
            help="`{user_info}` becomes the recalled memories, `{time}` the current time.",
        )
        st.caption("For this browser session only.")
        st.button("Reset to defaults", on_click=reset_settings, args=(defaults,))
    return settings, overrides


def inspector_link(user_id: str, thread_id: str | None = None) -> None:
    """Link to the inspector for this user (and thread), when the inspector page is installed."""
    if not inspector_available():
        return
    st.page_link(
        **page_link_args(INSPECTOR_PAGE, "Open in the memory inspector", user_id, thread_id)
    )


# ---- the conversation ---------------------------------------------------------------------------


def show_header(runtime: Runtime, user_id: str, thread: threads.Thread | None) -> None:
    """The conversation's title with its menu (rename, delete, inspect)."""
    row = st.container(horizontal=True, vertical_alignment="center")
    row.subheader(escape_inline(thread.title if thread else "New chat"), anchor=False)
    if thread is None:
        return
    with row.popover("", icon=":material/more_horiz:", help="Rename or delete this chat"):
        with st.form("rename", border=False):
            st.text_input("Title", value=thread.title, key="rename_title", max_chars=80)
            st.form_submit_button(
                "Rename",
                on_click=rename_chat,
                args=(runtime, user_id, thread.thread_id),
                icon=":material/edit:",
            )
        st.download_button(
            "Download conversation",
            # Built only when clicked: a long conversation's JSON is not made on every run.
            data=lambda: threads.transcript_as_json(runtime, user_id, thread.thread_id),
            file_name=f"conversation-{thread.thread_id}.json",
            mime="application/json",
            icon=":material/download:",
            on_click="ignore",
            help="Every message of this conversation, as JSON",
        )
        if st.session_state.get(CONFIRM_DELETE) == thread.thread_id:
            confirm_delete(runtime, user_id, thread)
        else:
            st.button(
                "Delete conversation",
                icon=":material/delete:",
                on_click=ask_to_delete,
                args=(thread.thread_id,),
            )


def confirm_delete(runtime: Runtime, user_id: str, thread: threads.Thread) -> None:
    """The delete confirmation, grouped with the conversation it deletes."""
    st.warning(
        f"Delete “{escape_inline(thread.title)}”? Its messages are removed for good; "
        "memories saved in it stay.",
        icon=":material/delete:",
    )
    buttons = st.container(horizontal=True)
    buttons.button(
        "Delete", type="primary", on_click=delete_chat, args=(runtime, user_id, thread), key="del"
    )
    buttons.button("Cancel", on_click=cancel_delete)


def show_intro() -> None:
    """What a new user can say, on an empty conversation."""
    st.markdown("I remember what you tell me about yourself, across conversations.")
    st.caption(
        "Try “My name is Zed and I love sailing”, then start a new chat and ask "
        "“What do you know about me?”."
    )


def show_earlier_turns(runtime: Runtime, user_id: str, thread_id: str, shown: ThreadView) -> None:
    """The messages before the recent turns, as many pages as were asked for, and a way to more."""
    if not shown.earlier:
        return
    count = st.session_state.get(EARLIER, {}).get(thread_id, 0)
    earlier, more = (
        chat.earlier_turns(runtime, user_id, thread_id, shown.snapshot, count)
        if count
        else ([], True)
    )
    if more:
        st.button(
            "Show earlier messages",
            icon=":material/history:",
            type="tertiary",
            on_click=show_earlier,
            args=(thread_id,),
        )
    for turn in earlier:
        show_turn(turn, user_id, thread_id)


def show_turn(turn: Turn, user_id: str, thread_id: str) -> None:
    """One stored bubble: a user message as typed, or a reply with its notes."""
    with st.chat_message(turn.role):
        if turn.role == "user":
            st.text(turn.text)  # as typed: no Markdown, no HTML
            return
        if turn.text:
            st.markdown(reply_markdown(turn.text))  # Markdown, but no image is fetched
        show_notes(turn.notes, user_id, thread_id)
        show_recall(turn.recall)


def show_notes(notes: tuple[MemoryNote, ...], user_id: str, thread_id: str) -> None:
    """One compact line per memory the turn wrote, then the way to inspect them."""
    if not notes:
        return
    box = st.container(gap=None)
    for note in notes:
        row = box.container(horizontal=True, vertical_alignment="center", gap="small")
        show_note(note, row)
        if inspector_available():  # opens this memory, with the turn that wrote it
            link = page_link_args(INSPECTOR_PAGE, "Open this memory", user_id, thread_id)
            link["query_params"] |= {TAB_PARAM: "Memories", MEMORY_PARAM: note.key}
            row.page_link(**link)
    with box:
        inspector_link(user_id, thread_id)


def show_note(note: MemoryNote, container: Any) -> None:
    """One memory the turn saved, updated or forgot, as plain text."""
    icon = ":material/edit_note:" if note.action == "updated" else ":material/bookmark_added:"
    container.caption(f"{icon} {escape_inline(str(note))}")


def show_recall(recall: Any) -> None:
    """What the agent remembered when it read the message, with each memory's score."""
    if not recall:
        return
    found = recall.memories
    if not found:
        st.caption(":material/psychology: No memories recalled: none were saved yet.")
        return
    label = f"{recall.summary} for this message"
    with st.expander(label, icon=":material/psychology:"):
        for memory in found:
            score = "n/a" if memory["score"] is None else f"{memory['score']:.2f}"
            st.markdown(f"`{score}` {escape_inline(memory['content'])}")
        st.caption("Score: how close each memory is in meaning to the message (cosine, 0 to 1).")


def session_gone() -> Callable[[], bool]:
    """True once this tab is closed or the server is stopping: the turn's model call then ends.

    Streamlit stops a script only at its next element update, which a stalled model never
    reaches; the turn asks this instead while it waits.
    """
    context = get_script_run_ctx()
    if context is None or not StreamlitRuntime.exists():
        return lambda: False
    server, session_id = StreamlitRuntime.instance(), context.session_id
    return lambda: not server.is_active_session(session_id)


def stream_turn(events: Iterator[str | MemoryNote]) -> str | None:
    """Stream a turn into a bubble; returns why it failed (the turn then stays pending)."""
    with st.chat_message("assistant"):
        thinking = st.empty()
        thinking.caption("Thinking…")
        text_box, notes_box = st.container(), st.container(gap=None)
        try:
            stream_reply(text_box, _text_tokens(events, thinking, notes_box))
        except (chat.ConversationBusy, StorageError) as error:
            return str(error)  # the message was not sent, or not saved: the sentence says so
        except Exception as error:  # any failure is shown as one line; the log keeps the rest
            log.warning("A chat turn failed", exc_info=True)
            return describe_model_error(error)
        finally:
            thinking.empty()
    return None


def _text_tokens(events: Iterator[str | MemoryNote], thinking: Any, notes: Any) -> Iterator[str]:
    """The reply's text for ``st.write_stream``; memory notes go to their own box as they come."""
    for event in events:
        thinking.empty()
        if isinstance(event, MemoryNote):
            show_note(event, notes)
        else:
            yield event


def finish_turn(runtime: Runtime, user_id: str, thread_id: str, failure: str | None) -> None:
    """Draw the page again from the stored turn: its notes, recall and, on failure, Retry.

    A failure whose turn is pending is shown by that turn (with Retry); one with nothing
    pending (the message was not sent) is a one-line flash. Redrawing costs the window, not the
    thread. Replacing the streamed bubble in place without a rerun was tried and removed: the
    browser lost track of the replaced block (Streamlit's "Bad delta path index") and went blank.
    """
    if failure:
        try:
            pending = chat.view(runtime, user_id, thread_id).pending
        except threads.ThreadNotFound:
            pending = None
        if pending is None:
            flash(failure, "error")
    st.rerun()


def send_message(
    runtime: Runtime,
    user_id: str,
    thread_id: str,
    text: str,
    overrides: dict[str, Any],
    shown: ThreadView | None,
) -> None:
    """Store the user's message and stream the agent's turn into the page.

    ``shown`` is the thread as just drawn (``None`` for a new chat): its state is handed to
    ``chat.send``, so the state is not loaded again before the graph runs.
    """
    try:
        chat.validate_message(text)
    except ValueError as error:
        if text.strip():  # empty input is simply ignored
            show_rejected(text, str(error))
        return
    st.query_params[THREAD_PARAM] = thread_id
    show_turn(Turn("user", text), user_id, thread_id)
    events = chat.send(
        runtime,
        user_id,
        thread_id,
        text,
        cancelled=session_gone(),
        snapshot=shown.snapshot if shown else None,
        **overrides,
    )
    finish_turn(runtime, user_id, thread_id, stream_turn(events))


def show_rejected(text: str, reason: str) -> None:
    """Say why the message was not sent, and keep it so nothing typed is lost."""
    st.error(f"Not sent: {escape_inline(reason)}", icon=":material/block:")
    with st.expander("Your message (copy it from here)"):
        st.code(text, language=None, wrap_lines=True)


def show_pending(
    runtime: Runtime, user_id: str, thread_id: str, reason: str, overrides: dict[str, Any]
) -> None:
    """The unfinished turn: its reason and a Retry that re-runs it without a second message."""
    if st.session_state.pop(RETRY, None) == thread_id:
        events = chat.resume(runtime, user_id, thread_id, cancelled=session_gone(), **overrides)
        # The pending notice is drawn above the retried turn: the page is drawn again.
        finish_turn(runtime, user_id, thread_id, stream_turn(events))
    with st.chat_message("assistant"):
        st.error(escape_inline(reason), icon=":material/error:")
        st.button(
            "Retry",
            icon=":material/refresh:",
            type="primary",
            on_click=request_retry,
            args=(thread_id,),
        )
        st.caption("Your message is kept; Retry answers it without sending it twice.")


st.set_page_config(page_title="Memory Agent", page_icon="🧠", layout="centered")

# ---- the page -----------------------------------------------------------------------------------

visitor = page_user()
runtime = runtime_or_stop()
show_where(runtime)
user_id, user_problem = requested_user(visitor, runtime.settings.user_id)
with st.sidebar:
    st.markdown("### :material/neurology: Memory Agent")
    if visitor.identity is None:  # with login, the chat is always the visitor's own
        sidebar_user(user_id)
if user_problem:
    st.error(
        f"The user id in this link cannot be used: {escape_inline(user_problem)}",
        icon=":material/error:",
    )
    st.stop()
if visitor.identity is None:
    st.query_params[USER_PARAM] = user_id
thread_id, thread = current_thread(runtime, user_id)
with st.sidebar:
    st.html(THREAD_LIST_CSS)
    thread_list = st.container()  # filled last, so it lists a turn sent in this run first
    st.divider()
    settings, overrides = sidebar_model(runtime.settings, visitor.may_change_model)
    inspector_link(user_id, thread_id if thread else None)

# Read first (it is pinned to the bottom anyway) so a first message replaces the intro in place.
prompt = st.chat_input(
    "Message Memory Agent" if settings else "Fix the model settings to send a message",
    submit_mode="disable",
    disabled=settings is None,
)
show_flash()
show_header(runtime, user_id, thread)
if thread is None and not (prompt and prompt.strip()):
    show_intro()
shown = None
if thread is not None:
    shown = chat.view(runtime, user_id, thread_id)
    show_earlier_turns(runtime, user_id, thread_id, shown)
    for turn in shown.turns:
        show_turn(turn, user_id, thread_id)
    if shown.pending:
        show_pending(runtime, user_id, thread_id, shown.pending, overrides)
if prompt is not None:
    send_message(runtime, user_id, thread_id, prompt, overrides, shown)
with thread_list:
    sidebar_threads(runtime, user_id, thread_id)
