"""Memory inspector: a user's conversation state, its checkpoints, and their memories, as stored.

A thin view over ``memory_agent``: every read and write is one core call, and every view reads
the live graph and store. It opens on the ``user`` and ``thread`` URL query params the chat sets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st
from langgraph.types import StateSnapshot

from memory_agent import memories
from memory_agent.backends.faults import StorageError
from memory_agent.configuration import validate_user_id
from memory_agent.conversations import chat, threads
from memory_agent.inspector import (
    history_tree,
    memories_as_of,
    memory_table,
    provenance,
    reads,
    views,
)
from memory_agent.inspector.model_calls import ModelCall, model_calls, turns
from memory_agent.inspector.views import plural
from memory_agent.models.errors import describe_model_error
from memory_agent.runtime import Runtime
from memory_agent.state import WINDOW_MESSAGES
from ui import (
    CHAT_PAGE,
    CHECKPOINT_PARAM,
    INSPECTOR_PAGE,
    MEMORY_PARAM,
    TAB_PARAM,
    TABLE_PARAM,
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
IMPORT_PREVIEW = "import_preview"  # (file hash, name, mode, user) and what the file would do
KEEP_MEMORIES = "continue with today's memories"
RESTORE_MEMORIES = "restore the memories as they were then"
TABLE_ORDER = ["content", "context", "source", "updated", "created", "source thread", "key"]
UNDONE = {"create": "restored", "update": "put back", "delete": "removed"}
AVATARS = {"human": "user", "ai": "assistant", "tool": ":material/build:"}
MESSAGES_SHOWN = 20  # newest messages drawn at first; "Show earlier" draws more
CHECKPOINTS_READ = 200  # newest checkpoints the History tree reads; "Load older" reads 4× more
PICKED_CHECKPOINT = "history_picked"  # (thread, checkpoint) last picked in the History tab
BRANCH_ROWS = 50  # rows per branch table; "Show all" lists the rest
MEMORIES_SHOWN = 10  # memories in the plain list; "Show more" adds as many
TABLE_ROWS = 100  # rows per page of the editable grid
CHANGES_SHOWN = 50  # newest history events in the table
UNDO_CHOICES = 200  # newest history events the undo picker offers
ROWS_SHOWN = 200  # rows of the memories-as-of tables
CHART_POINTS = 400  # the memory-count chart keeps this many points at most


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
    titles = views.thread_labels(listed)
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
            format_func=titles.get,
            key=f"inspect_thread_{user}",
        )


def sync_url(user: str, thread: str | None) -> None:
    """Keep the URL on what is shown, so a reload or a link back to the chat opens the same."""
    st.query_params[USER_PARAM] = user
    if thread:
        st.query_params[THREAD_PARAM] = thread
    elif THREAD_PARAM in st.query_params:
        del st.query_params[THREAD_PARAM]


def editor_key(user: str) -> str:
    """The memory table's widget key; its ``_base``, ``_found`` and ``_left`` entries sit beside."""
    return f"memory_editor_{user}_{st.session_state.get(f'editor_version_{user}', 0)}"


def reset_editor(user: str) -> None:
    """Start the memory table afresh (new widget key): after a write, or to discard edits."""
    key = editor_key(user)
    for part in ("_base", "_found", "_left"):
        st.session_state.pop(f"{key}{part}", None)
    st.session_state[f"editor_version_{user}"] = (
        st.session_state.get(f"editor_version_{user}", 0) + 1
    )


TABLE_BUSY = "Save or discard the table's edits first: this change would drop them."


def table_edits_pending(user: str) -> bool:
    """Whether the table holds unsaved edits (drawn, or left when another tab was opened).

    Every other memory write starts the table afresh (its rows change), so while edits wait
    the other writes are held back rather than dropping them.
    """
    key = editor_key(user)
    return memory_table.has_edits(st.session_state.get(key)) or bool(
        st.session_state.get(f"{key}_left")
    )


def chat_link(user: str, thread: str | None, label: str) -> None:
    """A link back to the chat with the same user and conversation."""
    st.page_link(**page_link_args(CHAT_PAGE, label, user, thread))


def checkpoint_link(user: str, thread: str, checkpoint: str, label: str) -> None:
    """A link that opens a conversation at one checkpoint in the History tab."""
    link = page_link_args(INSPECTOR_PAGE, label, user, thread)
    link["query_params"] |= {TAB_PARAM: "History", CHECKPOINT_PARAM: checkpoint}
    st.page_link(**link | {"icon": ":material/history:"})


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
    whole = len(threads.messages(runtime, user, thread))
    st.caption(
        f"The state holds the recent turns the model is sent (up to {WINDOW_MESSAGES} messages, "
        f"`memory_agent.state.WINDOW_MESSAGES`); the whole conversation has "
        f"{plural(whole, 'message')}."
    )
    show_snapshot(snapshot, thread, key="live")
    st.subheader("Graph")
    # Off at first: drawing it loads Graphviz in the browser, a third of the tab's open time.
    if st.toggle("Show the agent's graph", key="show_graph"):
        st.caption("Dashed edges are conditional; the highlighted node runs next.")
        st.graphviz_chart(views.graph_dot(runtime.graph.get_graph(), snapshot.next))


def show_snapshot(snapshot: StateSnapshot, thread: str, *, key: str) -> None:
    """Every field of a snapshot: readable views first, then the raw JSON to read or download.

    The messages' JSON is built only when asked for (shown, or downloaded): for a long state it
    cost more than the rest of the tab.
    """
    step, pending = snapshot.metadata.get("step"), ", ".join(snapshot.next) or "nothing (idle)"
    st.markdown(
        f"**Step** {step} · **source** {escape_inline(snapshot.metadata.get('source'))} · "
        f"**next** {pending} · **created** {snapshot.created_at}"
    )
    show_messages(snapshot.values.get("messages", []), key)
    with st.expander("config · metadata · parent config · tasks · interrupts"):
        fields = threads.snapshot_as_dict(snapshot._replace(values={}))
        for field in ("config", "metadata", "parent_config", "tasks", "interrupts"):
            st.markdown(f"`{field}`")
            st.json(fields[field], expanded=2)
    with st.expander("Raw state (JSON)"):
        if st.toggle("Show the whole state as JSON", key=f"raw_state_{key}"):
            st.json(threads.snapshot_as_dict(snapshot), expanded=False)
    checkpoint = snapshot.config["configurable"].get("checkpoint_id", "none")
    st.download_button(
        "Download state as JSON",
        lambda: threads.snapshot_as_json(snapshot),  # built when clicked, not on every render
        file_name=f"state-{thread}-{checkpoint}.json",
        mime="application/json",
        key=f"download_state_{key}",
    )


def show_messages(messages: list, key: str) -> None:
    """The conversation as stored, newest last: the latest ``MESSAGES_SHOWN``, then more on ask."""
    st.markdown(f"**Messages** ({len(messages)})")
    if not messages:
        return
    wanted = f"messages_shown_{key}"
    count = st.session_state.get(wanted, MESSAGES_SHOWN)
    first = max(0, len(messages) - count)
    # A fixed height (scrolling inside) only when there is enough to scroll: no empty box.
    with st.container(height=420 if len(messages) > 4 else "content", key=f"messages_{key}"):
        if first and st.button(f"Show earlier messages ({first:,} more)", key=f"earlier_{key}"):
            st.session_state[wanted] = count + MESSAGES_SHOWN * 4
            st.rerun()
        rows = views.message_rows(messages[first:])
        for row in rows:
            row["#"] += first
        show_message_rows(rows)


def show_message_rows(rows: list[dict]) -> None:
    """Messages as chat bubbles: role, id, text (inert), tool calls with their arguments."""
    for row in rows:
        with st.chat_message(row["role"], avatar=AVATARS.get(row["role"])):
            about = f"#{row['#']} · {row['role']} · id {code_span(row['id'])}"
            if row["answers call"]:
                status = escape_inline(row["status"])
                about += f" · result of {code_span(row['answers call'])} · {status}"
            st.caption(about)
            if row["content"]:
                st.text(row["content"])
            for call in row["tool calls"]:
                st.caption(f"tool call {code_span(call['id'] or '')}")
                st.json({call["name"]: call["args"]})


# ---- model calls ---------------------------------------------------------------------------


def model_calls_tab(runtime: Runtime, user: str, thread: str) -> None:
    """Every model call of one turn: the prompt and messages sent, recall, reply, tools, tokens."""
    messages = threads.messages(runtime, user, thread)
    started = turns(messages)
    if not started:
        st.caption("The model has not been called in this conversation yet.")
        return
    numbers = [t.number for t in reversed(started)]
    # Keyed by the turn count, so a new turn opens first.
    number = st.selectbox(
        "Turn",
        numbers,
        format_func=lambda n: f"turn {n}: {started[n - 1].text[:80]}",
        key=f"model_calls_turn_{thread}_{len(started)}",
    )
    calls = model_calls(messages, started[number - 1])
    if not calls:
        st.caption("This turn has no model reply yet (it may have failed; retry it in the chat).")
    for call in calls:
        show_model_call(call, len(calls))


def show_model_call(call: ModelCall, total: int) -> None:
    """One call: what it did, the memories recalled, the exact prompt, the messages, its tools."""
    with st.container(border=True, key=f"model_call_{call.number}"):
        st.markdown(f"**Call {call.number} of {total}** · {escape_inline(call.summary)}")
        usage = call.usage
        st.caption(
            f"{usage.get('input_tokens', '?')} tokens in · {usage.get('output_tokens', '?')} out"
            if usage
            else "token usage: not reported by the model server"
        )
        if not call.shows_memories:
            st.warning(
                "This system prompt has no {user_info} slot: the memories below were recalled "
                "but the model never saw them.",
                icon=":material/warning:",
            )
        st.markdown(f"Recalled for **{escape_inline(call.recall.query)}** at {call.recall.time}")
        st.dataframe(
            pd.DataFrame(call.recall.memories, columns=["score", "content", "context", "key"]),
            hide_index=True,
        )
        st.markdown("System prompt, exactly as sent:")
        st.code(call.system_prompt, language=None, wrap_lines=True)
        with st.expander(f"Messages sent after the system prompt ({len(call.sent)})"):
            show_message_rows(call.sent[-20:])
            if len(call.sent) > 20:
                st.caption(f"The {len(call.sent) - 20} earlier messages are in the State tab.")
        st.markdown("Reply:")
        if call.reply:
            st.text(call.reply)
        else:
            st.caption("No text: this call answered with tool calls only (below).")
        if call.tools:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "tool": t.name,
                            "arguments": json.dumps(t.args, ensure_ascii=False),
                            "result": t.result,
                            "status": t.status,
                            "call id": t.call_id,
                        }
                        for t in call.tools
                    ]
                ),
                hide_index=True,
            )


# ---- history -------------------------------------------------------------------------------


def history_tab(runtime: Runtime, user: str, thread: str) -> None:
    """Every checkpoint as a tree of branches; open one, see its memories, compare, fork.

    The newest ``CHECKPOINTS_READ`` checkpoints are read, once; "Load older checkpoints" reads
    more. A link to an older checkpoint reads them all, so it always opens.
    """
    wanted = st.query_params.get(CHECKPOINT_PARAM)
    limit_key = f"history_limit_{thread}"
    limit = st.session_state.get(limit_key, CHECKPOINTS_READ)
    records = threads.checkpoint_records(runtime, user, thread, limit=limit)
    if wanted and len(records) == limit and wanted not in {r.checkpoint_id for r in records}:
        records = threads.checkpoint_records(runtime, user, thread)
    names = history_tree.labels(records)
    branches = history_tree.branches(records)
    marked = wanted if wanted in {r.checkpoint_id for r in records} else None
    # A link opens its checkpoint above the tree, in view; a pick here leaves the page in place.
    linked = marked is not None and st.session_state.get(PICKED_CHECKPOINT) != (thread, marked)
    opened_first = st.container()  # a linked checkpoint opens here, in view, above the tree
    find = st.text_input(
        "Find a message", key=f"history_find_{thread}", placeholder="text of a message or result"
    ).strip()
    matched = 0
    for branch in branches:
        rows = history_tree.rows(branch, names)
        if find:
            rows = [r for r in rows if find.lower() in r["what"].lower()]
            matched += len(rows)
        opened = branch.current or any(r["checkpoint"] == wanted for r in rows)
        # The title quotes messages: escaped, as an expander label renders Markdown.
        title = escape_inline(history_tree.title(branch, names))
        with st.expander(title, expanded=opened or bool(find)):
            key = f"branch_rows_{thread}_{branch.checkpoints[0].checkpoint_id}"
            branch_table(rows, key, marked)
    if find and not matched:
        older = " (older ones: Load older checkpoints below)" if len(records) == limit else ""
        st.caption(f"No checkpoint of these {len(records):,} matches that text{older}.")
    if len(records) == limit:
        st.caption(
            f"The newest {plural(limit, 'checkpoint')} are shown (and searched); older ones are "
            "not read yet."
        )
        if st.button("Load older checkpoints", key="history_older"):
            st.session_state[limit_key] = limit * 4
            st.rerun()
    by_id = {r.checkpoint_id: r for r in records}
    branch_of = {r.checkpoint_id: b for b in branches for r in b.checkpoints}
    ids = [r.checkpoint_id for b in branches for r in b.checkpoints]

    def label(checkpoint: str) -> str:
        return checkpoint_label(by_id[checkpoint], branch_of[checkpoint], names)

    with opened_first if linked else st.container():
        open_checkpoint(runtime, user, thread, ids, label, wanted if linked else None)


def open_checkpoint(
    runtime: Runtime,
    user: str,
    thread: str,
    ids: list[str],
    label: Callable[[str], str],
    wanted: str | None,
) -> None:
    """One checkpoint whole: its state, its memories then, a comparison, fork and edit."""
    st.subheader("Open a checkpoint")
    if wanted:
        st.caption("▶ marks this checkpoint in its branch below.")
    key = f"open_checkpoint_{ids[0]}_{wanted}"

    def follow() -> None:  # the URL names the open checkpoint: a reload or a link keeps it
        st.query_params[CHECKPOINT_PARAM] = st.session_state[key]
        st.session_state[PICKED_CHECKPOINT] = (thread, st.session_state[key])

    chosen = st.selectbox(
        "Checkpoint",
        ids,
        index=ids.index(wanted) if wanted else 0,
        format_func=label,
        # Keyed by the newest checkpoint and the linked one: a new turn, fork or link opens first.
        key=key,
        on_change=follow,
    )
    snapshot = threads.get_checkpoint(runtime, user, thread, chosen)
    show_snapshot(snapshot, thread, key="checkpoint")
    then = checkpoint_memories(runtime, user, snapshot)
    compare_checkpoints(runtime, user, thread, ids, label, snapshot)
    fork_controls(runtime, user, thread, snapshot, then)
    edit_and_fork(runtime, user, thread, snapshot)


def branch_table(rows: list[dict], key: str, wanted: str | None) -> None:
    """One branch's checkpoints, the newest ``BRANCH_ROWS`` unless all are asked for.

    A linked checkpoint is marked ▶ and shown with the rows around it, wherever it is.
    """
    everything = st.session_state.get(key, False)
    at = next((n for n, r in enumerate(rows) if r["checkpoint"] == wanted), None)
    if at is not None:
        rows = [*rows[:at], {**rows[at], "what": f"▶ {rows[at]['what']}"}, *rows[at + 1 :]]
    shown = rows if everything else rows[: max(BRANCH_ROWS, (at or 0) + 6)]
    st.dataframe(
        pd.DataFrame(shown, columns=["step", "what", "time", "source", "checkpoint"]),
        hide_index=True,
        column_config={"what": st.column_config.TextColumn(width="large")},
    )
    if len(shown) < len(rows) and st.button(
        f"Show all {plural(len(rows), 'checkpoint')} of this branch", key=f"{key}_all"
    ):
        st.session_state[key] = True
        st.rerun()


def checkpoint_label(
    record: threads.CheckpointRecord, branch: history_tree.Branch, names: dict
) -> str:
    """A checkpoint as the pickers name it: branch, step, what it added, time."""
    where = "current branch" if branch.current else f"branch {branch.number}"
    what = names[record.checkpoint_id][:70]
    return f"{where} · step {record.step} · {what} · {record.created_at[11:19]}"


def checkpoint_memories(
    runtime: Runtime, user: str, snapshot: StateSnapshot
) -> list[memories.Memory]:
    """The user's memories as they were at this checkpoint, and what changed since."""
    st.subheader("Memories as of this checkpoint")
    now = memories.list_memories(runtime.store, user)
    later = memories.history(runtime.store, user, since=snapshot.created_at)
    then = memories_as_of.memories_as_of(now, later, snapshot.created_at)
    st.caption(
        f"Rebuilt from the change history: {plural(len(then), 'memory', 'memories')} at "
        f"{snapshot.created_at[:19].replace('T', ' ')} (today: {len(now):,})."
    )
    st.dataframe(
        pd.DataFrame(
            [{"content": m.content, "context": m.context, "key": m.key} for m in then[:ROWS_SHOWN]],
            columns=["content", "context", "key"],
        ),
        hide_index=True,
        key="memories_then",
    )
    more_rows(len(then))
    changed = memories_as_of.differences(then, now)
    if changed:
        st.markdown(f"**Changed since** ({len(changed):,})")
        st.dataframe(
            pd.DataFrame(
                [vars(d) for d in changed[:ROWS_SHOWN]], columns=["change", "then", "now", "key"]
            ),
            hide_index=True,
            key="memories_changed_since",
        )
        more_rows(len(changed))
    else:
        st.caption("No memory has changed since.")
    return then


def more_rows(total: int) -> None:
    """Say that a table shows only its first ``ROWS_SHOWN`` rows (10k rows took seconds to draw)."""
    if total > ROWS_SHOWN:
        st.caption(f"The first {ROWS_SHOWN} of {total:,} rows; the Memories tab has them all.")


def compare_checkpoints(
    runtime: Runtime,
    user: str,
    thread: str,
    ids: list[str],
    label: Callable[[str], str],
    opened: StateSnapshot,
) -> None:
    """The difference between the opened checkpoint and another one (read when asked for)."""
    with st.expander("Compare with another checkpoint"):
        other = st.selectbox(
            "Compare with",
            ids,
            index=min(1, len(ids) - 1),
            format_func=label,
            key=f"compare_{ids[0]}",
        )
        if not st.toggle("Show the differences", key="compare_show"):
            return
        old = threads.get_checkpoint(runtime, user, thread, other)
        diff = views.state_diff(old, opened)
        st.caption("From the checkpoint picked here to the one opened above.")
        for part, title in (
            ("added", "Messages added"),
            ("removed", "Messages removed"),
            ("changed", "Messages changed"),
            ("values", "Other values changed"),
        ):
            st.markdown(f"**{title}** ({len(diff[part])})")
            if diff[part]:
                frame = pd.DataFrame(diff[part]).drop(columns=["tool calls"], errors="ignore")
                st.dataframe(frame.astype(str), hide_index=True)


def fork_controls(
    runtime: Runtime,
    user: str,
    thread: str,
    snapshot: StateSnapshot,
    then: list[memories.Memory],
) -> None:
    """Fork from the opened checkpoint, keeping today's memories or restoring those of then."""
    st.subheader("Fork from this checkpoint")
    if snapshot.next:
        st.caption(
            f"This checkpoint is in the middle of a turn: after a fork, the chat's retry runs "
            f"{', '.join(snapshot.next)} from here."
        )
    choice = st.radio(
        "Memories after the fork", [KEEP_MEMORIES, RESTORE_MEMORIES], key="fork_memories"
    )
    if st.button("Fork from this checkpoint", key="fork", type="primary"):
        try:
            # Memories first: the new branch's first checkpoint then has the restored ones.
            restored = restore_memories(runtime, user, then) if choice == RESTORE_MEMORIES else 0
            threads.fork(runtime, user, thread, snapshot.config["configurable"]["checkpoint_id"])
        except (threads.ThreadNotFound, memories.MemoryValidationError) as error:
            st.error(f"Nothing was forked. {escape_inline(str(error))}")
            return
        said = (
            f"memories restored as they were then ({plural(restored, 'change')}, undoable in "
            "the Memories tab)"
            if choice == RESTORE_MEMORIES
            else "today's memories kept"
        )
        done = f"Forked at step {snapshot.metadata.get('step')}; {said}."
        st.session_state["forked"] = ("fork", done)
        flash(done)
        st.query_params.pop(CHECKPOINT_PARAM, None)
        st.rerun()
    show_forked("fork", user, thread)


def show_forked(control: str, user: str, thread: str) -> None:
    """The fork's confirmation beside the control that made it, with the way to the chat."""
    where, done = st.session_state.get("forked", (None, ""))
    if where == control:
        del st.session_state["forked"]
        st.success(escape_inline(done), icon=":material/call_split:")  # quotes the reply
        chat_link(user, thread, "Continue this conversation in the chat")


def continue_branch(runtime: Runtime, user: str, thread: str) -> str:
    """Let the agent answer from an edited state that is mid-turn; say how that went."""
    if not threads.get_state(runtime, user, thread).next:
        return "; continue it in the chat."
    with st.spinner("The agent answers from the edited state…"):
        try:
            said = "".join(e for e in chat.resume(runtime, user, thread) if isinstance(e, str))
        except Exception as error:  # one line here; the chat's Retry runs the turn again
            return (
                f"; the agent could not answer ({describe_model_error(error)}): Retry in the chat."
            )
    return f"; the agent answered: “{views.markdown_plain(said)[:120]}”"


def restore_memories(runtime: Runtime, user: str, then: list[memories.Memory]) -> int:
    """Make the user's memories what they were then, as one recorded inspector change."""
    now = memories.list_memories(runtime.store, user)
    changes = memories_as_of.restore_changes(then, now)
    memories.apply_changes(runtime.store, user, changes, source="inspector")
    reset_editor(user)
    return len(changes)


def edit_and_fork(runtime: Runtime, user: str, thread: str, snapshot: StateSnapshot) -> None:
    """Change or remove one message at this checkpoint, and continue from that as a new branch."""
    shown = snapshot.values.get("messages", [])
    if not shown:
        return
    show_forked("edit", user, thread)
    with st.expander("Edit a message, then fork"):
        rows = {row["id"]: row for row in views.message_rows(shown)}
        checkpoint = snapshot.config["configurable"]["checkpoint_id"]
        pick_key, text_key = f"edit_pick_{checkpoint}", f"edit_text_{checkpoint}"

        def load_picked() -> None:  # one box whose text follows the pick, not a box per message
            st.session_state[text_key] = rows[st.session_state[pick_key]]["content"]

        picked = st.selectbox(
            "Message",
            list(reversed(rows)),
            format_func=lambda i: message_label(rows[i]),
            key=pick_key,
            on_change=load_picked,
        )
        if text_key not in st.session_state:
            st.session_state[text_key] = rows[picked]["content"]
        text = st.text_area("New text", key=text_key)
        with st.container(horizontal=True):
            edit = st.button("Fork with this text", key="edit_fork", type="primary")
            remove = st.button("Fork without this message", key="remove_fork")
        if not (edit or remove):
            return
        try:
            threads.fork_with_edit(
                runtime, user, thread, checkpoint, picked, None if remove else text
            )
        except (threads.ThreadNotFound, ValueError) as error:
            st.error(f"Nothing was forked. {escape_inline(str(error))}")
            return
        number = rows[picked]["#"]
        done = (
            f"Forked at step {snapshot.metadata.get('step')} without message #{number}"
            if remove
            else f"Forked where message #{number} was the latest, with its new text"
        )
        done += continue_branch(runtime, user, thread)
        st.session_state["forked"] = ("edit", done)
        flash(done)
        st.rerun()


def message_label(row: dict) -> str:
    """A message in the edit picker: number, role and its first words (a reply as it reads)."""
    text = views.markdown_plain(row["content"]) if row["role"] == "ai" else row["content"]
    return f"#{row['#']} {row['role']}: {' '.join(text.split())[:70]}"


# ---- memories ------------------------------------------------------------------------------


def memories_tab(runtime: Runtime, user: str) -> None:
    """The user's memories: list, table, recall preview, history, export and import.

    The memories and their history are read once (one query each) and shown five ways.
    """
    st.session_state.pop(PICKED_CHECKPOINT, None)  # a "turn that wrote this" link is a link
    data = reads.read_user(runtime.store, user)
    memory_list(runtime, user, data.memories, data.events)
    memory_editor(runtime, user, data.memories)
    recall_preview(runtime, user)
    change_history(runtime, user, len(data.memories), data.events)
    export_and_import(runtime, user)


def memory_list(
    runtime: Runtime,
    user: str,
    stored: list[memories.Memory],
    events: list[memories.HistoryEvent],
) -> None:
    """Each memory as a sentence, with its source, age and the turn that wrote it; delete.

    The first ``MEMORIES_SHOWN`` that match are drawn ("Show more" adds more); a linked memory
    comes first, and a linked memory that was forgotten is shown from its history.
    """
    st.subheader(f"Memories ({len(stored):,})")
    query = st.text_input(
        "Search memories", key=f"memory_search_{user}", placeholder="words in a memory"
    )
    wanted = st.query_params.get(MEMORY_PARAM)
    needle = query.strip().lower()
    shown = [m for m in stored if not needle or needle in f"{m.content} {m.context}".lower()]
    shown.sort(key=lambda m: m.key != wanted)  # the memory a link asked for comes first
    more_key = f"memories_shown_{user}_{needle}"
    count = st.session_state.get(more_key, MEMORIES_SHOWN)
    changes = provenance.by_key(events)
    with st.container(key="memory_list"):
        if wanted and wanted not in {m.key for m in stored} and wanted in changes:
            forgotten_item(user, provenance.versions(changes[wanted]))
        for memory in shown[:count]:
            mine = changes.get(memory.key, [])
            memory_item(
                runtime,
                user,
                memory,
                provenance.latest_writer(mine),
                provenance.versions(mine),
                memory.key == wanted,
            )
    if needle and not shown:
        st.caption("No memory contains that text.")
    elif not stored:
        st.caption(
            "No memories: the agent knows nothing about this user (yet). Undo in the "
            "change history below brings back deleted ones."
        )
    if len(shown) > count:
        st.caption(f"Showing {count:,} of {len(shown):,}: search to find one, or show more.")
        if st.button(f"Show {MEMORIES_SHOWN} more", key="memories_more"):
            st.session_state[more_key] = count + MEMORIES_SHOWN
            st.rerun()
    busy = table_edits_pending(user)
    if busy:
        st.caption("The table below has unsaved edits: save or discard them to delete or undo.")
    if stored and st.button(
        f"Delete {every_memory(stored)}",
        key="delete_all",
        icon=":material/delete_forever:",
        disabled=busy,
        help=TABLE_BUSY if busy else None,
    ):
        st.session_state["confirm_delete_all"] = True
    if stored and st.session_state.get("confirm_delete_all"):
        confirm_delete_all(runtime, user, stored)


def memory_item(
    runtime: Runtime,
    user: str,
    memory: memories.Memory,
    writer: memories.HistoryEvent | None,
    versions: list[provenance.Version],
    linked: bool,
) -> None:
    """One memory: its text (inert), where it came from, its versions, and a delete button."""
    with st.container(border=True, key=f"memory_item_{memory.key}"):
        st.markdown(escape_inline(memory.content))
        st.caption(
            f"by {memory.source} · updated {views.ago(memory.updated_at)}"
            + (f" · {escape_inline(memory.context)}" if memory.context else "")
        )
        with st.container(horizontal=True, vertical_alignment="center"):
            if writer and writer.thread_id and writer.checkpoint_id:
                checkpoint_link(
                    user, writer.thread_id, writer.checkpoint_id, "Turn that wrote this"
                )
            busy = table_edits_pending(user)
            if st.button(
                "Delete",
                key=f"delete_{memory.key}",
                icon=":material/delete:",
                disabled=busy,
                help=TABLE_BUSY if busy else None,
            ):
                memories.delete_memory(runtime.store, user, memory.key, source="inspector")
                reset_editor(user)
                flash(f"Deleted “{memory.content}”; Undo in the change history.")  # flash escapes
                st.rerun()
        if len(versions) > 1 or linked:
            memory_versions(user, versions, expanded=linked)


def forgotten_item(user: str, versions: list[provenance.Version]) -> None:
    """A linked memory that is no longer stored: what it said, and every turn that changed it."""
    last = versions[-1]
    with st.container(border=True, key="memory_item_forgotten"):
        st.markdown(f"~~{escape_inline(last.content)}~~")
        st.caption(f"Forgotten {views.ago(last.at)} (deleted by {last.source}); not recalled.")
        memory_versions(user, versions, expanded=True)


def memory_versions(user: str, versions: list[provenance.Version], *, expanded: bool) -> None:
    """Every change to one memory, oldest first, each with a link to the turn that made it."""
    title = f"History of this memory ({plural(len(versions), 'change')})"
    with st.expander(title, expanded=expanded):
        for n, version in enumerate(versions, start=1):
            action = f"undo → {version.action}" if version.undo else version.action
            # Not "1. …": a caption is Markdown, and that would start a numbered list.
            when = version.at[:19].replace("T", " ")
            st.caption(f"Change {n} · {when} · {action} by {version.source}")
            st.text(version.content)
            if version.thread_id and version.checkpoint_id:
                checkpoint_link(user, version.thread_id, version.checkpoint_id, f"Open turn {n}")


def every_memory(stored: list[memories.Memory]) -> str:
    """What "Delete all" names: "all 3 memories", or "the 1 memory"."""
    return f"all {len(stored):,} memories" if len(stored) > 1 else "the 1 memory"


def confirm_delete_all(runtime: Runtime, user: str, stored: list[memories.Memory]) -> None:
    """Ask once more, beside the button, before deleting everything (Undo restores each one)."""
    st.warning(
        f"Delete {every_memory(stored)} of {escape_inline(user)}? The agent forgets at once; "
        "Undo in the change history can bring back all of it.",
        icon=":material/warning:",
    )
    with st.container(horizontal=True):
        confirmed = st.button(
            f"Yes, delete all {len(stored)}", type="primary", key="delete_all_confirm"
        )
        if st.button("Cancel", key="delete_all_cancel"):
            st.session_state.pop("confirm_delete_all", None)
            st.rerun()
    if not confirmed:
        return
    st.session_state.pop("confirm_delete_all", None)
    changes = [memories.Change("delete", m.key, expected_updated_at=m.updated_at) for m in stored]
    try:
        memories.apply_changes(runtime.store, user, changes, source="inspector")
    except memories.MemoryValidationError as error:
        st.error(f"Nothing was deleted. {escape_inline(str(error))}")
        return
    reset_editor(user)
    undo = f"Undo all {len(stored)} changes of this save" if len(stored) > 1 else "Undo"
    flash(
        f"Deleted all {plural(len(stored), 'memory', 'memories')}; “{undo}” in the change "
        "history brings them back."
    )
    st.rerun()


def memory_editor(runtime: Runtime, user: str, stored: list[memories.Memory]) -> None:
    """Edit the table, then save all or nothing.

    The shown frame is frozen while edits are pending, so the editor's row positions always
    refer to the rows they were made on.
    """
    st.subheader("Edit as a table")
    st.caption("For bulk edits: change content and context, add or delete rows, then save all.")
    st.session_state.setdefault(f"editor_version_{user}", 0)
    key = editor_key(user)
    state = st.session_state.get(key)
    pending = memory_table.has_edits(state)
    # Streamlit drops a widget's state when a run does not draw it (another tab was opened):
    # the edits are kept beside it, so coming back offers them instead of losing them.
    if state is not None:
        st.session_state[f"{key}_left"] = dict(state) if pending else None
    elif left := st.session_state.get(f"{key}_left"):
        edits_left_behind(runtime, user, st.session_state[f"{key}_base"], left)
        return
    # Drawn on request: the grid was most of the tab's time in a browser (1.7-1.9 s of it).
    if not st.toggle(
        "Open the table",
        key=TABLE_PARAM,
        bind="query-params",
        disabled=pending,
        help="Save or discard your edits to close the table." if pending else None,
    ):
        return
    if pending:
        st.caption("Save or discard your edits to close the table.")
    query = st.text_input(
        "Filter",
        key=f"memory_filter_{user}",
        placeholder="text in key, content, context, thread or source",
        disabled=pending,
        help="Save or discard your edits to change the filter." if pending else None,
    )
    fresh = not pending or f"{key}_base" not in st.session_state
    if fresh:
        found = memory_table.filter_frame(memory_table.memories_frame(stored), query)
        st.session_state[f"{key}_found"] = len(found)
    count = st.session_state[f"{key}_found"]
    pages = max(1, -(-count // TABLE_ROWS))
    page = table_page(user, pages, count, disabled=pending) if pages > 1 else 1
    if fresh:
        rows = found.iloc[(page - 1) * TABLE_ROWS : page * TABLE_ROWS]
        st.session_state[f"{key}_base"] = rows.reset_index(drop=True)
    shown: pd.DataFrame = st.session_state[f"{key}_base"]
    with st.container(key="memory_table"):
        st.data_editor(
            shown,
            key=key,
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
    if pending:
        st.markdown("**Unsaved edits** (Save writes these, Discard drops them)")
        st.dataframe(
            memory_table.pending_cells(shown, st.session_state.get(key)),
            hide_index=True,
            key="pending_cells",
        )
    with st.container(horizontal=True):
        save = st.button("Save changes", type="primary", disabled=not pending, key="save_memories")
        if st.button("Discard changes", disabled=not pending, key="discard_memories"):
            reset_editor(user)
            st.rerun()
    if save:
        save_edits(runtime, user, shown, st.session_state[key])


def edits_left_behind(runtime: Runtime, user: str, shown: pd.DataFrame, edits: dict) -> None:
    """Table edits not saved when another tab was opened: save them, or drop them."""
    st.warning(
        "You left unsaved edits in the table when you opened another tab. Save them, or "
        "discard them to edit the table again.",
        icon=":material/edit_note:",
    )
    st.dataframe(memory_table.pending_cells(shown, edits), hide_index=True, key="pending_left")
    with st.container(horizontal=True):
        if st.button("Save these edits", type="primary", key="save_left"):
            save_edits(runtime, user, shown, edits)
        if st.button("Discard them", key="discard_left"):
            reset_editor(user)
            st.rerun()


def table_page(user: str, pages: int, rows: int, *, disabled: bool) -> int:
    """Which page of the grid to show: a 10k-row grid took seconds to send and draw."""
    with st.container(horizontal=True, vertical_alignment="center"):
        page = st.number_input(
            "Page",
            min_value=1,
            max_value=pages,
            value=1,
            key=f"table_page_{user}",
            width=140,
            disabled=disabled,
        )
        st.caption(f"{rows:,} rows, {TABLE_ROWS} per page: filter to find a row, or turn pages.")
    return int(page)


def save_edits(runtime: Runtime, user: str, shown: pd.DataFrame, edits: dict) -> None:
    """Apply the table's edits all at once, or none with the refused row named."""
    try:
        changes = memory_table.changes_from_editor(shown, edits)
        writes = memories.apply_changes(runtime.store, user, changes, source="inspector")
    except memories.MemoryValidationError as error:
        st.error(f"Nothing was saved. {escape_inline(str(error))}")
        return
    reset_editor(user)
    flash(f"Saved {plural(len(writes), 'change')}; recall uses the new text at once.")
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


def change_history(
    runtime: Runtime, user: str, stored_count: int, events: list[memories.HistoryEvent]
) -> None:
    """Every memory change, newest first, with undo."""
    st.subheader("Change history")
    if not events:
        st.caption("No memory has been written for this user yet.")
        return
    # Off at first: the chart library is the heaviest part of opening this tab in a browser.
    if st.toggle("Show the number of memories over time", key="show_count_chart"):
        count_chart(events, stored_count)
    recent = events[:CHANGES_SHOWN]
    if len(events) > len(recent):
        st.caption(f"The newest {len(recent)} of {len(events):,} changes.")
    st.dataframe(
        memory_table.history_frame(recent),
        hide_index=True,
        # Wide enough for "undo → create"; the grid sizes a column by its first rows otherwise.
        column_config={"action": st.column_config.TextColumn(width=110)},
    )
    recent = events[:UNDO_CHOICES]
    labels = {
        e.id: f"{'undo → ' if e.undo_of else ''}{e.action} by {e.source}: "
        f"{' '.join((e.after or e.before or {}).get('content', '').split())[:60]} · "
        f"{e.at[:19].replace('T', ' ')}"
        for e in recent
    }
    # Keyed by the newest change, so a new change becomes the default choice; never one's own
    # undo (undoing it again would surprise), nor a change already undone.
    chosen = st.selectbox(
        "Change to undo",
        list(labels),
        index=memory_table.undo_default(recent),
        format_func=labels.get,
        key=f"undo_pick_{events[0].id}",
        placeholder="Pick a change",
    )
    picked = next((e for e in recent if e.id == chosen), None)
    together = len(memories.batch_left(events, picked)) if picked else 0
    with st.container(horizontal=True):
        busy = table_edits_pending(user)
        held = TABLE_BUSY if busy else None
        one = st.button("Undo this change", key="undo", disabled=chosen is None or busy, help=held)
        whole = together > 1 and st.button(
            f"Undo all {together} changes of this save", key="undo_batch", disabled=busy, help=held
        )
    if not (one or whole):
        return
    try:
        if whole:
            writes = memories.undo_batch(runtime.store, user, chosen)
        else:
            writes = [memories.undo(runtime.store, user, chosen)]
    except memories.MemoryValidationError as error:
        st.error(f"Nothing was changed. {escape_inline(str(error))}")
        return
    reset_editor(user)
    if len(writes) == 1:
        shown = writes[0].after or writes[0].before
        content = shown.content if shown else writes[0].key
        flash(f"Undone: “{content}” {UNDONE[writes[0].action]}.")  # flash escapes
    else:
        flash(f"Undone: {len(writes)} changes of one save taken back together.")
    st.rerun()


def count_chart(events: list[memories.HistoryEvent], stored_count: int) -> None:
    """How many memories the user had after each change, as a step line."""
    counts = memory_table.count_over_time(events, stored_count)
    step = max(1, len(counts) // CHART_POINTS)  # 11k points took longer to draw than to read
    counts = pd.concat([counts.iloc[::step], counts.iloc[-1:]]).drop_duplicates()
    chart = (
        alt.Chart(counts)
        .mark_line(interpolate="step-after", point=len(counts) <= 60)
        .encode(
            x=alt.X("time:T", title=None, axis=alt.Axis(format="%H:%M:%S", labelOverlap=True)),
            y=alt.Y("memories:Q", title="memories"),
        )
        .properties(height=160, title="Memories over time")
    )
    st.altair_chart(chart)


def export_and_import(runtime: Runtime, user: str) -> None:
    """Download the memories as CSV or JSON, or import a file after a preview.

    The files are built when a button is clicked (from the memories stored then), not on every
    render: at 10k memories both took 60-110 ms per render.
    """
    st.subheader("Export and import")
    with st.container(horizontal=True):
        st.download_button(
            "Export CSV",
            lambda: memories.export_csv(memories.list_memories(runtime.store, user)),
            f"memories-{user}.csv",
            "text/csv",
            key="export_csv",
        )
        st.download_button(
            "Export JSON",
            lambda: memories.export_json(memories.list_memories(runtime.store, user), user),
            f"memories-{user}.json",
            "application/json",
            key="export_json",
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
        f"Valid, {plural(len(rows), 'row')}: {actions.count('create')} to create, "
        f"{actions.count('update')} to update, {actions.count('delete')} to delete."
    )
    busy = table_edits_pending(user)
    if st.button(
        "Import",
        type="primary",
        disabled=not planned or busy,
        key="import_apply",
        help=TABLE_BUSY if busy else None,
    ):
        try:  # planned again under the write lock: another writer may have come first
            writes = memories.import_memories(runtime.store, user, rows, mode)
        except (memories.MemoryValidationError, StorageError) as error:
            st.error(f"Nothing was imported. {escape_inline(str(error))}")
            return
        st.session_state.pop(IMPORT_PREVIEW, None)
        st.session_state["import_version"] = uploads + 1
        reset_editor(user)
        flash(f"Imported {plural(len(writes), 'change')} from {upload.name}.")  # shown as typed
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
state, calls, history, memory = st.tabs(
    ["State", "Model calls", "History", "Memories"], key=TAB_PARAM, bind="query-params"
)
for tab, show in ((state, state_tab), (calls, model_calls_tab), (history, history_tab)):
    if tab.open:
        with tab:
            if thread:
                show(runtime, user, thread)
            else:
                st.info(f"{escape_inline(user)} has no conversations yet.")
if memory.open:
    with memory:
        memories_tab(runtime, user)
