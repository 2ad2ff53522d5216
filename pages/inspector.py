"""Memory inspector: a user's conversation state, its checkpoints, and their memories, as stored.

A thin view over ``memory_agent``: every read and write is one core call, and every view reads
the live graph and store. It opens on the ``user`` and ``thread`` URL query params the chat sets.
"""

from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import streamlit as st
from langgraph.types import StateSnapshot

from memory_agent import memories
from memory_agent.backends.faults import StorageError
from memory_agent.configuration import validate_user_id
from memory_agent.conversations import threads
from memory_agent.inspector import memory_table, views
from memory_agent.recall import last_recall
from memory_agent.runtime import Runtime
from ui import (
    CHAT_PAGE,
    TAB_PARAM,
    THREAD_PARAM,
    USER_PARAM,
    code_span,
    escape_inline,
    flash,
    page_link_args,
    page_user,
    runtime_or_stop,
    show_flash,
    show_where,
)

REFRESH_SECONDS = 2
HISTORY_PAGE_SIZE = 10
IMPORT_PREVIEW = "import_preview"  # (file hash, name, mode, user) and what the file would do
TABLE_ORDER = ["content", "context", "source", "updated", "created", "source thread", "key"]
UNDONE = {"create": "restored", "update": "reverted", "delete": "removed"}
AVATARS = {"human": "user", "ai": "assistant", "tool": ":material/build:"}


def choose_user() -> str:
    """The user from the URL, or another one typed in; stops the page on an invalid id."""
    with st.sidebar:
        user = st.text_input("User", value=st.query_params.get(USER_PARAM, ""), key="inspect_user")
    user = user.strip()
    if not user:
        st.info("Type a user id in the sidebar to inspect their memories and conversations.")
        st.stop()
    try:
        return validate_user_id(user)
    except ValueError as error:
        st.error(f"That is not a valid user id: {escape_inline(str(error))}.")
        st.stop()


def choose_thread(runtime: Runtime, user: str) -> str | None:
    """The thread from the URL if this user owns it, else their most recent one (or none)."""
    listed = threads.list_threads(runtime, user, keep=st.query_params.get(THREAD_PARAM))
    titles = {t.thread_id: t.title or "Untitled" for t in listed}
    wanted = st.query_params.get(THREAD_PARAM)
    with st.sidebar:
        if wanted and wanted not in titles and st.query_params.get(USER_PARAM) == user:
            # The id comes from a link anyone can write: shown as text, never as Markdown.
            st.warning(
                f"{escape_inline(user)} has no conversation {escape_inline(wanted)}; "
                "showing their latest one."
            )
        if not titles:
            return None
        ids = list(titles)
        return st.selectbox(
            "Conversation",
            ids,
            index=ids.index(wanted) if wanted in titles else 0,
            format_func=lambda thread_id: f"{titles[thread_id]} · {thread_id[:8]}",
            key=f"inspect_thread_{user}",
        )


def sync_url(user: str, thread: str | None) -> None:
    """Keep the URL on what is shown, so a reload or a link back to the chat opens the same."""
    st.query_params[USER_PARAM] = user
    if thread:
        st.query_params[THREAD_PARAM] = thread
    elif THREAD_PARAM in st.query_params:
        del st.query_params[THREAD_PARAM]


def reset_editor(user: str) -> None:
    """Start the memory table afresh (new widget key): after a write, or to discard edits."""
    version = st.session_state.get(f"editor_version_{user}", 0)
    st.session_state.pop(f"memory_editor_{user}_{version}_base", None)
    st.session_state[f"editor_version_{user}"] = version + 1


def chat_link(user: str, thread: str | None, label: str) -> None:
    """A link back to the chat with the same user and conversation."""
    st.page_link(**page_link_args(CHAT_PAGE, label, user, thread))


# ---- state ---------------------------------------------------------------------------------


def state_tab(runtime: Runtime, user: str, thread: str) -> None:
    """The live state of the conversation, optionally refreshed every few seconds."""
    follow = st.toggle(
        f"Auto-refresh every {REFRESH_SECONDS} s",
        key="inspect_follow",
        help="Follow a conversation going on in another tab.",
    )
    live = st.fragment(run_every=REFRESH_SECONDS if follow else None)(live_state)
    live(runtime, user, thread)


def live_state(runtime: Runtime, user: str, thread: str) -> None:
    """The conversation's current ``get_state``, read once per refresh."""
    snapshot = threads.get_state(runtime, user, thread)
    show_snapshot(snapshot, thread, key="live")
    st.subheader("What the model saw")
    show_recall(snapshot)
    st.subheader("Graph")
    st.caption("Dashed edges are conditional; the highlighted node runs next.")
    st.graphviz_chart(views.graph_dot(runtime.graph.get_graph(), snapshot.next))


def show_snapshot(snapshot: StateSnapshot, thread: str, *, key: str) -> None:
    """Every field of a snapshot: readable views first, then the raw JSON to read or download."""
    state = threads.snapshot_as_dict(snapshot)
    step, pending = snapshot.metadata.get("step"), ", ".join(snapshot.next) or "nothing (idle)"
    st.markdown(
        f"**Step** {step} · **source** {escape_inline(snapshot.metadata.get('source'))} · "
        f"**next** {pending} · **created** {snapshot.created_at}"
    )
    show_messages(snapshot.values.get("messages", []), key)
    with st.expander("config · metadata · parent config · tasks · interrupts"):
        for field in ("config", "metadata", "parent_config", "tasks", "interrupts"):
            st.markdown(f"`{field}`")
            st.json(state[field], expanded=2)
    with st.expander("Raw state (JSON)"):
        st.json(state, expanded=False)
    checkpoint = snapshot.config["configurable"].get("checkpoint_id", "none")
    st.download_button(
        "Download state as JSON",
        threads.snapshot_as_json(snapshot),
        file_name=f"state-{thread}-{checkpoint}.json",
        mime="application/json",
        key=f"download_state_{key}",
    )


def show_messages(messages: list, key: str) -> None:
    """The conversation as stored: each message's role, text, tool calls and results, and id."""
    rows = views.message_rows(messages)
    st.markdown(f"**Messages** ({len(rows)})")
    if not rows:
        return
    with st.container(height=420, key=f"messages_{key}"):
        for row in rows:
            with st.chat_message(row["role"], avatar=AVATARS.get(row["role"])):
                about = f"#{row['#']} · {row['role']} · id {code_span(row['id'])}"
                if row["answers call"]:
                    about += f" · result of {code_span(row['answers call'])} · "
                    about += escape_inline(row["status"])
                st.caption(about)
                if row["content"]:
                    st.text(row["content"])
                for call in row["tool calls"]:
                    st.caption(f"tool call {code_span(call['id'])}")
                    st.json({call["name"]: call["args"]})


def show_recall(snapshot: StateSnapshot) -> None:
    """What the model saw on its last call: the memories and the exact prompt."""
    recall = last_recall(snapshot.values.get("messages", []))
    if recall is None:
        st.caption("The model has not been called in this conversation yet.")
        return
    st.markdown(f"Recall query: **{escape_inline(recall.query)}** · at {recall.time}")
    st.caption(recall.summary)
    recalled = pd.DataFrame(recall.memories, columns=["score", "content", "context", "key"])
    st.dataframe(recalled, hide_index=True)
    st.markdown("System prompt, exactly as sent:")
    st.code(recall.system_prompt, language=None)


# ---- history -------------------------------------------------------------------------------


def history_tab(runtime: Runtime, user: str, thread: str) -> None:
    """Checkpoints newest first, a page at a time; open one, and fork the thread from it."""
    cursors: list[str] = st.session_state.setdefault(f"history_cursors_{thread}", [])
    page = threads.get_history(
        runtime, user, thread, limit=HISTORY_PAGE_SIZE + 1, before=cursors[-1] if cursors else None
    )
    shown, older = page[:HISTORY_PAGE_SIZE], page[HISTORY_PAGE_SIZE:]
    rows = views.checkpoint_rows(shown, older[0] if older else None)
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("← Newer", disabled=not cursors, key="history_newer"):
            cursors.pop()
            st.rerun()
        st.caption(f"page {len(cursors) + 1}")
        if st.button("Older →", disabled=not older, key="history_older"):
            cursors.append(rows[-1]["checkpoint"])
            st.rerun()
    if not rows:
        return
    st.subheader("Open a checkpoint")
    labels = {
        r["checkpoint"]: f"step {r['step']} · {r['written by']} · {r['messages']} messages"
        for r in rows
    }
    # Keyed by the newest checkpoint shown, so a new one (after a turn or a fork) opens first.
    chosen = st.selectbox(
        "Checkpoint",
        list(labels),
        format_func=labels.get,
        key=f"open_checkpoint_{rows[0]['checkpoint']}",
    )
    snapshot = threads.get_checkpoint(runtime, user, thread, chosen)
    show_snapshot(snapshot, thread, key="checkpoint")
    if snapshot.next:
        st.caption(
            f"This checkpoint is in the middle of a turn: after a fork, the chat's retry runs "
            f"{', '.join(snapshot.next)} from here."
        )
    if st.button("Fork from this checkpoint", key="fork", type="primary"):
        try:
            threads.fork(runtime, user, thread, chosen)
        except threads.ThreadNotFound as error:
            st.error(f"Nothing was forked. {escape_inline(str(error))}")
            return
        cursors.clear()
        flash(
            f"Forked at step {snapshot.metadata.get('step')}: the conversation now continues "
            "from there (its later checkpoints stay in the history).",
            link=page_link_args(CHAT_PAGE, "Continue this conversation in the chat", user, thread),
        )
        st.rerun()


# ---- memories ------------------------------------------------------------------------------


def memories_tab(runtime: Runtime, user: str) -> None:
    """The user's memories: table, recall preview, history, export and import."""
    stored = memories.list_memories(runtime.store, user)  # read once, shown three ways
    memory_editor(runtime, user, stored)
    recall_preview(runtime, user)
    change_history(runtime, user, len(stored))
    export_and_import(runtime, user, stored)


def memory_editor(runtime: Runtime, user: str, stored: list[memories.Memory]) -> None:
    """Edit the table, then save all or nothing.

    The shown frame is frozen while edits are pending, so the editor's row positions always
    refer to the rows they were made on.
    """
    st.subheader("Memories")
    st.caption("Edit content and context, add or delete rows, then save: all rows or none.")
    version = st.session_state.setdefault(f"editor_version_{user}", 0)
    editor_key = f"memory_editor_{user}_{version}"
    pending = memory_table.has_edits(st.session_state.get(editor_key))
    query = st.text_input(
        "Filter",
        key=f"memory_filter_{user}",
        placeholder="text in key, content, context, thread or source",
        disabled=pending,
        help="Save or discard your edits to change the filter." if pending else None,
    )
    if not pending or f"{editor_key}_base" not in st.session_state:
        frame = memory_table.memories_frame(stored)
        st.session_state[f"{editor_key}_base"] = memory_table.filter_frame(frame, query)
    shown: pd.DataFrame = st.session_state[f"{editor_key}_base"]
    with st.container(key="memory_table"):
        st.data_editor(
            shown,
            key=editor_key,
            num_rows="dynamic",
            hide_index=True,
            disabled=memory_table.READ_ONLY,
            column_order=TABLE_ORDER,
            column_config={
                "content": st.column_config.TextColumn(required=True, width="large"),
                "context": st.column_config.TextColumn(width="medium"),
                "key": st.column_config.TextColumn(width="small"),
            },
        )
    with st.container(horizontal=True):
        save = st.button("Save changes", type="primary", disabled=not pending, key="save_memories")
        if st.button("Discard changes", disabled=not pending, key="discard_memories"):
            reset_editor(user)
            st.rerun()
    if save:
        save_edits(runtime, user, shown, st.session_state[editor_key])


def save_edits(runtime: Runtime, user: str, shown: pd.DataFrame, edits: dict) -> None:
    """Apply the table's edits all at once, or none with the refused row named."""
    try:
        changes = memory_table.changes_from_editor(shown, edits)
        writes = memories.apply_changes(runtime.store, user, changes, source="inspector")
    except memories.MemoryValidationError as error:
        st.error(f"Nothing was saved. {escape_inline(str(error))}")
        return
    reset_editor(user)
    flash(f"Saved {len(writes)} change(s); recall uses the new text at once.")
    st.rerun()


def recall_preview(runtime: Runtime, user: str) -> None:
    """Search the memories exactly as the agent's recall does, with scores."""
    st.subheader("Recall preview")
    query = st.text_input("Query", key="recall_query", placeholder="What do you know about me?")
    if not query.strip():
        st.caption("Type a message to see which memories the agent would recall for it now.")
        return
    found = memories.search_memories(
        runtime.store, user, query, limit=runtime.settings.recall_limit
    )
    st.dataframe(
        pd.DataFrame(
            [
                {"rank": n, "score": m.score, "content": m.content, "key": m.key}
                for n, m in enumerate(found, start=1)
            ],
            columns=["rank", "score", "content", "key"],
        ),
        hide_index=True,
    )
    if runtime.settings.embedding == "hash":
        st.caption(
            "The offline hash embedding is lexical: memories sharing words with the query score "
            "high; synonyms do not."
        )


def change_history(runtime: Runtime, user: str, stored_count: int) -> None:
    """Every memory change, newest first, with undo."""
    st.subheader("Change history")
    events = memories.history(runtime.store, user)
    if not events:
        st.caption("No memory has been written for this user yet.")
        return
    counts = memory_table.count_over_time(events, stored_count)
    chart = (
        alt.Chart(counts)
        .mark_line(interpolate="step-after", point=True)
        .encode(
            x=alt.X("time:T", title=None, axis=alt.Axis(format="%H:%M:%S", labelOverlap=True)),
            y=alt.Y("memories:Q", title="memories"),
        )
        .properties(height=160, title="Memories over time")
    )
    st.altair_chart(chart)
    st.dataframe(memory_table.history_frame(events), hide_index=True)
    labels = {
        e.id: f"{e.at[:19]} · {e.action} by {e.source} · "
        f"{(e.after or e.before or {}).get('content', '')[:60]}"
        for e in events
    }
    # Keyed by the newest change, so a new change becomes the default choice.
    chosen = st.selectbox(
        "Change to undo", list(labels), format_func=labels.get, key=f"undo_pick_{events[0].id}"
    )
    if st.button("Undo this change", key="undo"):
        try:
            write = memories.undo(runtime.store, user, chosen)
        except memories.MemoryValidationError as error:
            st.error(f"Nothing was changed. {escape_inline(str(error))}")
            return
        reset_editor(user)
        flash(f"Undone: memory {write.key} {UNDONE[write.action]}.")
        st.rerun()


def export_and_import(runtime: Runtime, user: str, stored: list[memories.Memory]) -> None:
    """Download the memories as CSV or JSON, or import a file after a preview."""
    st.subheader("Export and import")
    with st.container(horizontal=True):
        st.download_button(
            "Export CSV", memories.export_csv(stored), f"memories-{user}.csv", "text/csv"
        )
        st.download_button(
            "Export JSON",
            memories.export_json(stored, user),
            f"memories-{user}.json",
            "application/json",
        )
    uploads = st.session_state.setdefault("import_version", 0)
    upload = st.file_uploader(
        "Import memories (CSV or JSON, as exported)",
        type=["csv", "json"],
        key=f"import_{uploads}",
        max_upload_size=memories.MAX_IMPORT_BYTES // 2**20,
    )
    if upload is None:
        return
    mode = st.radio(
        "Mode",
        ["merge", "replace"],
        horizontal=True,
        key="import_mode",
        captions=["add and update by key", "also delete memories not in the file"],
    )
    rows, planned, problem = import_preview(runtime, user, upload.getvalue(), upload.name, mode)
    if problem:
        st.error(f"This file cannot be imported; nothing was changed. {escape_inline(problem)}")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    actions = [w.action for w in planned]
    st.info(
        f"{len(rows)} rows are valid: {actions.count('create')} to create, "
        f"{actions.count('update')} to update, {actions.count('delete')} to delete."
    )
    if st.button("Import", type="primary", disabled=not planned, key="import_apply"):
        try:  # planned again under the write lock: another writer may have come first
            writes = memories.import_memories(runtime.store, user, rows, mode)
        except (memories.MemoryValidationError, StorageError) as error:
            st.error(f"Nothing was imported. {escape_inline(str(error))}")
            return
        st.session_state.pop(IMPORT_PREVIEW, None)
        st.session_state["import_version"] = uploads + 1
        reset_editor(user)
        flash(f"Imported {len(writes)} change(s) from {upload.name}.")  # flash shows it as typed
        st.rerun()


def import_preview(
    runtime: Runtime, user: str, data: bytes, name: str, mode: str
) -> tuple[list, list, str | None]:
    """The file's rows, its planned writes and why it is refused; once per file, not per rerun."""
    key = (hashlib.sha256(data).hexdigest(), name, mode, user)
    cached = st.session_state.get(IMPORT_PREVIEW)
    if cached is None or cached[0] != key:
        try:
            rows = memories.parse_import(data, name)
            changes = memories.import_changes(runtime.store, user, rows, mode)
            planned = memories.check_changes(runtime.store, user, changes, source="import")
            cached = (key, rows, planned, None)
        except memories.MemoryValidationError as error:
            cached = (key, [], [], str(error))
        st.session_state[IMPORT_PREVIEW] = cached
    return cached[1], cached[2], cached[3]


# ---- page ----------------------------------------------------------------------------------

st.set_page_config(page_title="Memory inspector", page_icon="🔎", layout="wide")
visitor = page_user(others=True)  # login: the visitor's own memories, any user's for admins
runtime = runtime_or_stop()
show_where(runtime)
st.title("Memory inspector")
user = choose_user() if visitor.may_choose_user else visitor.user_id
thread = choose_thread(runtime, user)
sync_url(user, thread)
with st.sidebar:
    chat_link(user, thread, "Back to the chat")

st.caption(f"User **{escape_inline(user)}** · conversation {code_span(thread or 'none yet')}")
show_flash()
# Bound to the URL (?tab=Memories): the open tab survives reruns and links, and only it runs.
state, history, memory = st.tabs(
    ["State", "History", "Memories"], key=TAB_PARAM, bind="query-params"
)
for tab, show in ((state, state_tab), (history, history_tab)):
    if tab.open:
        with tab:
            if thread:
                show(runtime, user, thread)
            else:
                st.info(f"{escape_inline(user)} has no conversations yet.")
if memory.open:
    with memory:
        memories_tab(runtime, user)
