"""The inspector page under AppTest: it runs as the chat app's page, reached by switch_page.

A page file is not AppTested as the entry point (its multipage context would be missing); the
app's main script is, with the URL's query params set, then ``switch_page`` opens the inspector.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from memory_agent import memories
from memory_agent.backends.sqlite import MEMORIES_FILE
from memory_agent.conversations import chat, threads
from memory_agent.runtime import Runtime
from tests.live_app import ROOT
from tests.postgres_server import dump_store
from ui import get_runtime

pytestmark = pytest.mark.both_backends

PAGE = "pages/inspector.py"
EDITOR = "memory_editor_zed_0"


@pytest.fixture
def seeded(runtime: Runtime, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """Zed's two conversations, and the page's cached runtime pointed at the same data dir."""
    list(chat.send(runtime, "zed", "t1", "My name is Zed and I love sailing"))
    list(chat.send(runtime, "zed", "t2", "What do you know about me?"))
    monkeypatch.setenv("MEMORY_AGENT_DATA_DIR", str(data_dir))
    get_runtime.clear()
    yield runtime
    get_runtime().close()
    get_runtime.clear()


def _open(
    user: str = "zed", thread: str | None = "t1", tab: str = "State", *, table: bool = False
) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=20)
    at.query_params["tab"] = tab
    if table:  # "Edit as a table" open, as a link with ?table=true opens it
        at.query_params["table"] = "true"
    at.query_params["user"] = user
    if thread:
        at.query_params["thread"] = thread
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _key_of(store, content: str) -> str:
    return next(m.key for m in memories.list_memories(store, "zed") if m.content == content)


def _dump(data_dir: Path) -> str:
    if url := os.environ.get("MEMORY_AGENT_DATABASE_URL"):
        return dump_store(url)
    with sqlite3.connect(data_dir / MEMORIES_FILE) as conn:
        return "\n".join(conn.iterdump())


def test_it_opens_on_the_user_and_thread_in_the_url(seeded: Runtime) -> None:
    at = _open(thread="t1")
    assert at.text_input(key="inspect_user").value == "zed"
    assert at.selectbox(key="inspect_thread_zed").value == "t1"
    assert _roles(at) == ["human", "ai", "tool", "tool", "ai"]
    assert at.text[0].value == "My name is Zed and I love sailing"
    assert at.query_params["thread"] == "t1"


def test_another_thread_of_the_user_can_be_picked(seeded: Runtime) -> None:
    at = _open(thread="t1")
    at.selectbox(key="inspect_thread_zed").set_value("t2").run()
    assert at.text[0].value == "What do you know about me?"
    assert at.query_params["thread"] == "t2"


def test_bad_user_or_foreign_thread_shows_a_message_not_a_traceback(seeded: Runtime) -> None:
    at = _open(user="not a user!")
    assert "not a valid user id" in at.error[0].value
    at = _open(user="eve", thread="t1")
    assert "eve has no conversations yet" in at.info[0].value
    assert not at.chat_message


def test_saving_an_edited_table_writes_it_and_recall_sees_it(seeded: Runtime) -> None:
    at = _open(tab="Memories", table=True)
    sail = _key_of(seeded.store, "User loves sailing")
    position = [m.key for m in memories.list_memories(seeded.store, "zed")].index(sail)
    at.session_state[EDITOR] = {
        "edited_rows": {position: {"content": "User loves rowing"}},
        "added_rows": [{"content": "User has a cat"}],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="save_memories").click().run()
    assert not at.error
    assert "Saved 2 changes" in at.toast[0].value
    stored = {m.content: m.source for m in memories.list_memories(seeded.store, "zed")}
    assert stored == {
        "User loves rowing": "inspector",
        "User has a cat": "inspector",
        "User's name is Zed": "agent",
    }
    assert memories.search_memories(seeded.store, "zed", "rowing", limit=1)[0].key == sail


def test_an_edit_in_a_filtered_table_changes_the_row_that_was_shown(seeded: Runtime) -> None:
    at = _open(tab="Memories", table=True)
    at.text_input(key="memory_filter_zed").input("user's name").run()
    at.session_state[EDITOR] = {
        "edited_rows": {0: {"content": "User's name is Zeddy"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert at.text_input(key="memory_filter_zed").disabled  # frozen while edits are pending
    at.button(key="save_memories").click().run()
    contents = {m.content for m in memories.list_memories(seeded.store, "zed")}
    assert contents == {"User's name is Zeddy", "User loves sailing"}


def test_a_rejected_save_names_the_row_and_changes_nothing(seeded: Runtime, data_dir: Path) -> None:
    at = _open(tab="Memories", table=True)
    before = _dump(data_dir)
    at.session_state[EDITOR] = {
        "edited_rows": {0: {"context": "fine"}, 1: {"content": "  "}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="save_memories").click().run()
    assert at.error[0].value.startswith("Nothing was saved. Row 2 (key ")
    assert "content must not be empty" in at.error[0].value
    assert _dump(data_dir) == before


def test_a_deleted_memory_is_restored_from_the_change_history(seeded: Runtime) -> None:
    at = _open(tab="Memories", table=True)
    first_row = memories.list_memories(seeded.store, "zed")[0].content  # the table's order
    at.session_state[EDITOR] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [0]}
    at.run()
    at.button(key="save_memories").click().run()
    assert len(memories.list_memories(seeded.store, "zed")) == 1
    newest = next(s for s in at.selectbox if s.label == "Change to undo")
    assert newest.format_func(newest.value).startswith(f"delete by inspector: {first_row} · ")
    at.button(key="undo").click().run()
    assert "Undone" in at.toast[0].value
    assert len(memories.list_memories(seeded.store, "zed")) == 2


def test_the_table_is_drawn_on_request_and_stays_open_while_edits_are_pending(
    seeded: Runtime,
) -> None:
    at = _open(tab="Memories")
    assert EDITOR not in at.session_state  # the plain list only, until asked
    at.toggle(key="table").set_value(True).run()
    at.session_state[EDITOR] = {"edited_rows": {0: {"content": "x"}}, "added_rows": []}
    at.run()
    assert at.toggle(key="table").disabled  # closing it would drop the edits
    assert not at.button(key="save_memories").disabled
    at.button(key="discard_memories").click().run()
    assert not at.toggle(key="table").disabled


def test_other_writes_wait_while_the_table_has_unsaved_edits(seeded: Runtime) -> None:
    """A delete, undo or import starts the table afresh: it is held back, not let drop edits."""
    at = _open(tab="Memories", table=True)
    at.session_state[EDITOR] = {"edited_rows": {0: {"content": "User loves rowing"}}}
    at.run()
    writes = [b for b in at.button if b.key == "delete_all" or b.key.startswith("delete_")]
    writes += [b for b in at.button if b.key == "undo"]
    assert writes and all(b.disabled for b in writes)
    assert "unsaved edits: save or discard them" in " ".join(c.value for c in at.caption)
    at.button(key="discard_memories").click().run()
    assert not any(b.disabled for b in at.button if b.key in {"delete_all", "undo"})


def test_edits_left_in_the_table_for_another_tab_are_offered_back_not_lost(
    seeded: Runtime,
) -> None:
    at = _open(tab="Memories", table=True)
    sail = _key_of(seeded.store, "User loves sailing")
    position = [m.key for m in memories.list_memories(seeded.store, "zed")].index(sail)
    at.session_state[EDITOR] = {"edited_rows": {position: {"content": "User loves rowing"}}}
    at.run()
    at.query_params["tab"] = "History"
    at.run()
    assert EDITOR not in at.session_state  # Streamlit dropped the grid's state
    at.query_params["tab"] = "Memories"
    at.run()
    assert "You left unsaved edits in the table" in at.warning[0].value
    at.button(key="save_left").click().run()
    assert "Saved 1 change" in at.toast[0].value
    assert _key_of(seeded.store, "User loves rowing") == sail


def test_recall_preview_lists_what_call_model_would_recall(seeded: Runtime) -> None:
    at = _open(tab="Memories")
    at.text_input(key="recall_query").input("I love sailing").run()
    preview = _frame_with(at, "rank")
    assert set(preview["content"]) == {"User loves sailing", "User's name is Zed"}
    assert list(preview["rank"]) == [1, 2]
    assert preview["score"].is_monotonic_decreasing


def test_an_import_is_previewed_validated_and_applied(seeded: Runtime) -> None:
    at = _open(tab="Memories")
    at.file_uploader(key="import_0").upload("zed.csv", b"content\nUser has a cat\n", "text/csv")
    at.run()
    at.radio(key="import_mode").set_value("replace").run()
    assert "1 to create, 0 to update, 2 to delete" in at.info[0].value
    at.button(key="import_apply").click().run()
    assert "Imported 3 changes" in at.toast[0].value
    assert [m.content for m in memories.list_memories(seeded.store, "zed")] == ["User has a cat"]


def test_an_invalid_import_is_refused_before_anything_is_written(
    seeded: Runtime, data_dir: Path
) -> None:
    before = _dump(data_dir)
    at = _open(tab="Memories")
    at.file_uploader(key="import_0").upload("zed.csv", b"content\nok\n\n,x\n", "text/csv")
    at.run()
    assert "Row 3: more cells than columns" in at.error[0].value
    assert _dump(data_dir) == before


def test_forking_from_a_checkpoint_links_back_to_the_chat(seeded: Runtime) -> None:
    history = threads.get_history(seeded, "zed", "t1", limit=100)
    step_one = next(s for s in history if s.metadata["step"] == 1)
    at = _open(thread="t1", tab="History")
    picker = next(s for s in at.selectbox if s.label == "Checkpoint")
    picker.select(step_one.config["configurable"]["checkpoint_id"]).run()
    at.button(key="fork").click().run()
    assert "Forked at step 1" in at.toast[0].value
    back = next(p for p in at.page_link if p.label == "Continue this conversation in the chat")
    assert back.query_string == "user=zed&thread=t1"
    assert _roles(at) == ["human", "ai"]  # the fork, now the newest checkpoint, is open
    assert len(threads.messages(seeded, "zed", "t1")) == 2


def _roles(at: AppTest) -> list[str]:
    """The roles of the messages in the open tab's state view."""
    return [m.name for m in at.chat_message]


def _frame_with(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_model_calls_tab_shows_the_deciding_call_and_the_confirmation(seeded: Runtime) -> None:
    at = _open(thread="t1", tab="Model calls")
    deciding, confirming = (c.value for c in at.code)
    assert "User loves sailing" not in deciding  # the call that decided to save it
    assert "User loves sailing (context:" in confirming
    assert at.dataframe[1].value["tool"].tolist() == ["upsert_memory", "upsert_memory"]
    assert not at.warning


def test_a_prompt_without_user_info_is_warned_about(seeded: Runtime) -> None:
    list(chat.send(seeded, "zed", "t3", "I love tea", system_prompt="You are terse. {time}"))
    at = _open(thread="t3", tab="Model calls")
    assert "no {user_info} slot" in at.warning[0].value


def test_the_history_tab_shows_branches_after_a_fork(seeded: Runtime) -> None:
    step_one = next(
        s for s in threads.get_history(seeded, "zed", "t1", limit=100) if s.metadata["step"] == 1
    )
    threads.fork(seeded, "zed", "t1", step_one.config["configurable"]["checkpoint_id"])
    at = _open(thread="t1", tab="History")
    titles = [e.label for e in at.expander if "branch" in e.label]
    assert titles[0].startswith("current branch · from the start")
    assert titles[1].startswith("branch 2 · branches off at step 1 (model calls upsert_memory")
    at.text_input(key="history_find_t1").input("sailing").run()
    found = [w for d in at.dataframe if "what" in d.value.columns for w in d.value["what"]]
    assert found and all("sailing" in w.lower() for w in found)


def test_forking_can_restore_the_memories_of_then_and_says_so(seeded: Runtime) -> None:
    history = threads.get_history(seeded, "zed", "t1", limit=100)
    before_saving = next(s for s in history if s.metadata["step"] == 0)
    at = _open(thread="t1", tab="History")
    picker = next(s for s in at.selectbox if s.label == "Checkpoint")
    picker.select(before_saving.config["configurable"]["checkpoint_id"]).run()
    assert "No memory" not in " ".join(c.value for c in at.caption)
    changed = _frame_with(at, "change")
    assert sorted(changed["change"]) == ["added since", "added since"]
    at.radio(key="fork_memories").set_value("restore the memories as they were then").run()
    at.button(key="fork").click().run()
    assert "memories restored as they were then (2 changes" in at.toast[0].value
    assert "memories restored" in at.success[0].value  # also beside the Fork button
    assert memories.list_memories(seeded.store, "zed") == []
    assert {e.source for e in memories.history(seeded.store, "zed")[:2]} == {"inspector"}


def test_a_memory_links_to_the_turn_that_wrote_it(seeded: Runtime) -> None:
    at = _open(tab="Memories")
    links = [p for p in at.page_link if p.label == "Turn that wrote this"]
    assert len(links) == 2
    [event] = [e for e in memories.history(seeded.store, "zed") if "sailing" in e.after["content"]]
    wanted = f"user=zed&thread=t1&tab=History&checkpoint={event.checkpoint_id}"
    assert wanted in [link.query_string for link in links]

    at = _open(thread="t1", tab="History")
    at.query_params["checkpoint"] = event.checkpoint_id
    at.run()
    assert next(s for s in at.selectbox if s.label == "Checkpoint").value == event.checkpoint_id
    assert "My name is Zed and I love sailing" in [t.value for t in at.text]


def test_delete_all_asks_first_then_deletes_every_memory(seeded: Runtime) -> None:
    at = _open(tab="Memories")
    at.button(key="delete_all").click().run()
    assert len(memories.list_memories(seeded.store, "zed")) == 2  # nothing yet: it asks
    at.button(key="delete_all_confirm").click().run()
    assert "Deleted all 2 memories" in at.toast[0].value
    assert memories.list_memories(seeded.store, "zed") == []


def test_undo_of_delete_all_brings_every_memory_back_in_one_step(seeded: Runtime) -> None:
    before = sorted(m.content for m in memories.list_memories(seeded.store, "zed"))
    at = _open(tab="Memories")
    at.button(key="delete_all").click().run()
    at.button(key="delete_all_confirm").click().run()
    at.button(key="undo_batch").click().run()
    assert "2 changes of one save taken back together" in at.toast[0].value
    assert sorted(m.content for m in memories.list_memories(seeded.store, "zed")) == before
    undos = [e for e in memories.history(seeded.store, "zed") if e.undo_of]
    assert len(undos) == 2 and {e.action for e in undos} == {"create"}


def test_a_save_whose_change_was_undone_alone_offers_undo_only_for_what_is_left(
    seeded: Runtime,
) -> None:
    at = _open(tab="Memories")
    at.button(key="delete_all").click().run()
    at.button(key="delete_all_confirm").click().run()
    at.button(key="undo").click().run()  # one of the two deletions, alone
    events = memories.history(seeded.store, "zed")
    undone = {e.undo_of for e in events if e.undo_of}
    [left] = [e for e in events if e.action == "delete" and e.id not in undone]
    picker = next(s for s in at.selectbox if s.label == "Change to undo")
    picker.set_value(left.id).run()
    assert not [b for b in at.button if b.key == "undo_batch"]  # "all 2" could not run
    at.button(key="undo").click().run()
    assert not at.error
    assert len(memories.list_memories(seeded.store, "zed")) == 2


def test_undo_names_the_content_and_is_listed_as_an_undo(seeded: Runtime) -> None:
    at = _open(tab="Memories")
    sail = _key_of(seeded.store, "User loves sailing")
    at.button(key=f"delete_{sail}").click().run()
    assert "Deleted “User loves sailing”" in at.toast[0].value
    at.button(key="undo").click().run()
    assert "Undone: “User loves sailing” restored." in at.toast[0].value
    assert _frame_with(at, "undoes")["action"].iloc[0] == "undo → create"


def test_deleting_and_undoing_quote_markup_as_typed_escaped_once(seeded: Runtime) -> None:
    memories.upsert_memory(seeded.store, "zed", "User likes **bold** [x](y)")
    at = _open(tab="Memories")
    at.button(key=f"delete_{_key_of(seeded.store, 'User likes **bold** [x](y)')}").click().run()
    assert "Deleted “User likes \\*\\*bold\\*\\* \\[x\\](y)”" in at.toast[0].value
    at.button(key="undo").click().run()
    assert "Undone: “User likes \\*\\*bold\\*\\* \\[x\\](y)” restored." in at.toast[0].value


def test_unsaved_edits_are_listed_cell_by_cell(seeded: Runtime) -> None:
    at = _open(tab="Memories", table=True)
    at.session_state[EDITOR] = {
        "edited_rows": {0: {"context": "said twice"}},
        "added_rows": [],
        "deleted_rows": [1],
    }
    at.run()
    pending = _frame_with(at, "stored")
    assert pending[["row", "column", "new"]].values.tolist() == [
        ["2", "(row)", "deleted"],
        ["1", "context", "said twice"],
    ]


def test_conversations_with_one_title_can_be_told_apart(seeded: Runtime) -> None:
    list(chat.send(seeded, "zed", "t3", "What do you know about me?"))
    at = _open(thread="t2")
    picker = at.selectbox(key="inspect_thread_zed")
    labels = picker.options
    assert len(set(labels)) == len(labels) == 3
    assert all(" · " in label for label in labels)


def test_the_undo_picker_does_not_offer_the_users_own_undo_first(seeded: Runtime) -> None:
    at = _open(tab="Memories")
    sail = _key_of(seeded.store, "User loves sailing")
    at.button(key=f"delete_{sail}").click().run()
    at.button(key="undo").click().run()  # restores it: the newest change is now that undo
    picked = next(s for s in at.selectbox if s.label == "Change to undo")
    newest, undone, *_ = memories.history(seeded.store, "zed")
    assert newest.undo_of == undone.id
    assert picked.value is None  # right after an undo, nothing: the person picks
    assert at.button(key="undo").disabled


def test_a_forgotten_memory_still_shows_its_versions_and_turns(seeded: Runtime) -> None:
    list(chat.send(seeded, "zed", "t1", "Forget that I love sailing"))
    sail = next(e for e in memories.history(seeded.store, "zed") if e.action == "delete")
    assert "sailing" in sail.before["content"] and sail.checkpoint_id  # the agent forgot it
    at = _open(tab="Memories")
    at.query_params["memory"] = sail.memory_key
    at.run()
    assert "~~User loves sailing~~" in [m.value for m in at.markdown]
    assert any(c.value.startswith("Forgotten") for c in at.caption)
    assert any(e.label == "History of this memory (2 changes)" for e in at.expander)
    turns = [p.query_string for p in at.page_link if p.label.startswith("Open turn")]
    assert f"user=zed&thread=t1&tab=History&checkpoint={sail.checkpoint_id}" in turns


def test_the_memory_list_shows_ten_then_more_on_ask(seeded: Runtime) -> None:
    for n in range(15):
        memories.upsert_memory(seeded.store, "zed", f"User owns book {n}")
    at = _open(tab="Memories")
    assert len(_delete_buttons(at)) == 10
    assert at.button(key="memories_more").label == "Show 10 more"
    at.button(key="memories_more").click().run()
    assert len(_delete_buttons(at)) == 17  # all 15 and the two the chat wrote
    assert not [b for b in at.button if b.key == "memories_more"]


def _delete_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.key.startswith("delete_") and b.key != "delete_all"]


def test_the_state_tab_says_the_state_is_the_recent_turns(seeded: Runtime) -> None:
    at = _open(tab="State")
    note = next(c.value for c in at.caption if "recent turns the model is sent" in c.value)
    assert "WINDOW_MESSAGES" in note
    assert "the whole conversation has 5 messages" in note


def test_a_long_state_draws_its_newest_messages_and_earlier_ones_on_ask(seeded: Runtime) -> None:
    for n in range(10):
        list(chat.send(seeded, "zed", "t1", f"hello {n}"))
    at = _open(tab="State")
    total = len(threads.get_state(seeded, "zed", "t1").values["messages"])
    shown = [c.value for c in at.caption if c.value.startswith("#")]
    assert len(shown) == 20 and shown[0].startswith(f"#{total - 19} ")
    assert at.button(key="earlier_live").label == f"Show earlier messages ({total - 20} more)"
    at.button(key="earlier_live").click().run()
    shown = [c.value for c in at.caption if c.value.startswith("#")]
    assert len(shown) == total and shown[0].startswith("#1 ")


def test_the_graph_and_the_count_chart_are_drawn_when_asked_for(seeded: Runtime) -> None:
    at = _open(tab="State")
    assert not at.get("graphviz_chart")
    at.toggle(key="show_graph").set_value(True).run()
    assert "call_model" in at.get("graphviz_chart")[0].proto.spec
    at = _open(tab="Memories")
    assert not at.get("vega_lite_chart")
    at.toggle(key="show_count_chart").set_value(True).run()
    assert len(at.get("vega_lite_chart")) == 1


def test_memories_as_of_tables_show_their_first_rows_and_say_so(seeded: Runtime) -> None:
    changes = [memories.Change("create", content=f"User owns book {n}") for n in range(205)]
    memories.apply_changes(seeded.store, "zed", changes, source="inspector")
    at = _open(thread="t1", tab="History")
    assert "**Changed since** (205)" in [m.value for m in at.markdown]
    assert "The first 200 of 205 rows; the Memories tab has them all." in [
        c.value for c in at.caption
    ]
    changed = next(d for d in at.dataframe if "change" in d.value.columns)
    assert len(changed.value) == 200
