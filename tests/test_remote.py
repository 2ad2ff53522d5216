"""The app's core against a deployed agent: ``langgraph dev`` serving langgraph.json.

The same functions the pages call (conversation, threads, memories) run on a Runtime opened with
a server URL; nothing here knows it is remote except the fixture. Each test has its own user.
"""

from __future__ import annotations

import json
import uuid

import pytest

from memory_agent import memories
from memory_agent.backends.remote import ServerUnreachable
from memory_agent.conversations import chat, threads, transcript
from memory_agent.conversations.chat import MemoryNote
from memory_agent.memories import Change
from memory_agent.runtime import Runtime, open_runtime
from memory_agent.state import WINDOW_MESSAGES
from tests.live_app import free_port


@pytest.fixture
def user() -> str:
    return f"zed-{uuid.uuid4().hex[:8]}"


def _send(runtime: Runtime, user: str, thread_id: str, text: str) -> tuple[str, list[MemoryNote]]:
    parts = list(chat.send(runtime, user, thread_id, text))
    text_parts = [p for p in parts if isinstance(p, str)]
    return "".join(text_parts), [p for p in parts if isinstance(p, MemoryNote)]


def test_chat_streams_text_and_memory_notes_and_recalls_in_a_new_thread(
    remote_runtime: Runtime, user: str
) -> None:
    assert remote_runtime.remote and remote_runtime.location.startswith("http://127.0.0.1:")
    first = threads.new_thread_id()
    reply, notes = _send(remote_runtime, user, first, "My name is Zed and I love sailing")
    assert "offline demo model" in reply
    assert {n.content for n in notes} == {"User's name is Zed", "User loves sailing"}

    turns = chat.history(remote_runtime, user, first)
    assert [t.role for t in turns] == ["user", "assistant"]
    assert set(turns[1].notes) == set(notes)

    reply, _ = _send(remote_runtime, user, threads.new_thread_id(), "What do you know about me?")
    assert "sailing" in reply


def test_threads_state_and_history_live_on_the_server(remote_runtime: Runtime, user: str) -> None:
    thread_id = threads.new_thread_id()
    _send(remote_runtime, user, thread_id, "I work at Acme")
    listed = threads.list_threads(remote_runtime, user)
    assert [(t.thread_id, t.title) for t in listed] == [(thread_id, "I work at Acme")]
    threads.rename_thread(remote_runtime, user, thread_id, "Work")
    assert threads.get_thread(remote_runtime, user, thread_id).title == "Work"

    state = threads.get_state(remote_runtime, user, thread_id)
    assert state.next == () and len(state.values["messages"]) == 4  # human, tool call, tool, ai
    assert not chat.has_pending_turn(remote_runtime, user, thread_id)
    history = threads.get_history(remote_runtime, user, thread_id)
    assert len(history) >= 4
    assert (
        history[0].config["configurable"]["checkpoint_id"]
        == (state.config["configurable"]["checkpoint_id"])
    )
    older = threads.get_checkpoint(
        remote_runtime, user, thread_id, history[-1].config["configurable"]["checkpoint_id"]
    )
    assert older.values.get("messages", []) == []
    json.loads(threads.snapshot_as_json(state))

    with pytest.raises(threads.ThreadNotFound):
        threads.get_state(remote_runtime, "someone-else", thread_id)
    threads.delete_thread(remote_runtime, user, thread_id)
    assert threads.list_threads(remote_runtime, user) == []
    assert remote_runtime.checkpointer.get_tuple({"configurable": {"thread_id": thread_id}}) is None


def test_memory_table_flows_list_edit_delete_search_export_import(
    remote_runtime: Runtime, user: str
) -> None:
    store = remote_runtime.store
    _send(remote_runtime, user, threads.new_thread_id(), "My name is Zed and I love sailing")
    by_content = {m.content: m for m in memories.list_memories(store, user)}
    sailing, name = by_content["User loves sailing"], by_content["User's name is Zed"]

    memories.apply_changes(
        store,
        user,
        [
            Change(
                "update",
                sailing.key,
                "User loves rowing",
                "",
                label="Row 1",
                expected_updated_at=sailing.updated_at,
            ),
            Change("delete", name.key, label="Row 2"),
        ],
        source="inspector",
    )
    [rowing] = memories.list_memories(store, user)
    assert (rowing.key, rowing.content, rowing.source) == (
        sailing.key,
        "User loves rowing",
        "inspector",
    )
    actions = [(e.action, e.source) for e in memories.history(store, user)]
    assert sorted(actions[:2]) == [("delete", "inspector"), ("update", "inspector")]

    found = memories.search_memories(store, user, "rowing")
    assert found[0].key == rowing.key and found[0].score is not None and found[0].score > 0.3

    exported = memories.export_json(memories.list_memories(store, user), user)
    memories.delete_memory(store, user, rowing.key, source="inspector")
    assert memories.list_memories(store, user) == []
    rows = memories.parse_import(exported.encode(), "memories.json")
    changes = memories.import_changes(store, user, rows, "merge")
    memories.apply_changes(store, user, changes, source="import")
    assert [m.content for m in memories.list_memories(store, user)] == ["User loves rowing"]


def test_an_unreachable_server_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachable) as error:
        open_runtime(server_url=url)
    message = str(error.value)
    assert url in message and "\n" not in message and "langgraph dev" in message


def test_fork_and_the_edges_of_the_server(remote_runtime: Runtime, user: str) -> None:
    thread_id = threads.new_thread_id()
    _send(remote_runtime, user, thread_id, "I love sailing")
    _send(remote_runtime, user, thread_id, "I work at Acme")
    after_first = next(
        s
        for s in threads.get_history(remote_runtime, user, thread_id)
        if len(s.values.get("messages", [])) == 4 and not s.next
    )
    threads.fork(
        remote_runtime, user, thread_id, after_first.config["configurable"]["checkpoint_id"]
    )
    assert len(threads.messages(remote_runtime, user, thread_id)) == 4

    with pytest.raises(threads.ThreadNotFound):
        threads.get_checkpoint(remote_runtime, user, thread_id, str(uuid.uuid4()))
    with pytest.raises(ValueError, match="must be a UUID"):
        list(chat.send(remote_runtime, user, "not-a-uuid", "hi"))
    assert [t.thread_id for t in threads.list_threads(remote_runtime, user)] == [thread_id]


def test_studio_sees_the_per_run_settings_and_an_anonymous_run_uses_the_default_user(
    langgraph_server,
) -> None:
    """What LangGraph Studio and agent-chat-ui do: read the schema, run with no user, send
    content blocks."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=langgraph_server.url)
    [assistant] = client.assistants.search(graph_id="memory_agent", limit=1)
    schemas = client.assistants.get_schemas(assistant["assistant_id"])
    fields = set(schemas["context_schema"]["properties"])
    assert fields == {"user_id", "model", "temperature", "system_prompt", "recall_limit"}
    thread = client.threads.create()
    fact = f"I love kayaking{uuid.uuid4().hex[:6]}"
    client.runs.wait(
        thread["thread_id"],
        assistant["assistant_id"],
        input={"messages": [{"role": "user", "content": [{"type": "text", "text": fact}]}]},
        context={"user_id": ""},
    )
    found = client.store.search_items(("memories", "default-user"), query=fact, limit=20)
    contents = [item["value"]["content"] for item in found["items"]]
    assert f"User loves kayaking{fact[-6:]}" in contents


# ---- the SDK calls LangGraph Studio and agent-chat-ui make ------------------------------------


def test_agent_chat_ui_streams_values_and_message_tuples_for_an_anonymous_content_block_run(
    langgraph_server,
) -> None:
    """agent-chat-ui: a thread with metadata, content blocks in, ``values`` + ``messages-tuple``."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=langgraph_server.url)
    thread = client.threads.create(metadata={"source": "agent-chat-ui"})
    topic = f"canoeing{uuid.uuid4().hex[:6]}"
    content = [{"type": "text", "text": f"I love {topic}"}]
    parts = list(
        client.runs.stream(
            thread["thread_id"],
            "memory_agent",
            input={"messages": [{"type": "human", "content": content}]},
            stream_mode=["values", "messages-tuple"],
        )
    )
    events = [part.event for part in parts]
    assert events[0] == "metadata" and "values" in events and "messages" in events
    assert "error" not in events
    final = [part.data for part in parts if part.event == "values"][-1]
    kinds = [message["type"] for message in final["messages"]]
    assert kinds == ["human", "ai", "tool", "ai"]
    assert final["messages"][0]["content"] == content  # stored as sent
    streamed = [part.data for part in parts if part.event == "messages"]
    chunk, metadata = streamed[-1]
    assert chunk["type"] in ("AIMessageChunk", "ai") and metadata["langgraph_node"]
    [call] = final["messages"][1]["tool_calls"]
    assert call["args"]["content"] == f"User loves {topic}"  # clean text, not a repr of blocks

    # The memory was written as clean text for the default user, and store search finds it.
    found = client.store.search_items(["memories", "default-user"], query=f"loves {topic}")
    contents = [item["value"]["content"] for item in found["items"]]
    assert f"User loves {topic}" in contents
    assert found["items"][0]["score"] is not None


def test_studio_lists_threads_reads_history_and_edits_state(langgraph_server) -> None:
    """Studio: threads.search, get_history, update_state as a node, then the edit is the state."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=langgraph_server.url)
    marker = uuid.uuid4().hex
    thread = client.threads.create(metadata={"marker": marker})
    client.runs.wait(
        thread["thread_id"],
        "memory_agent",
        input={"messages": [{"role": "user", "content": "hello there"}]},
    )
    [listed] = client.threads.search(metadata={"marker": marker}, limit=10)
    assert listed["thread_id"] == thread["thread_id"] and listed["status"] == "idle"
    history = client.threads.get_history(thread["thread_id"], limit=20)
    assert len(history) >= 2
    assert history[0]["values"]["messages"][-1]["type"] == "ai"

    edited = {"type": "ai", "content": "Edited in Studio.", "id": "studio-edit"}
    client.threads.update_state(thread["thread_id"], {"messages": [edited]}, as_node="call_model")
    state = client.threads.get_state(thread["thread_id"])
    assert state["values"]["messages"][-1]["content"] == "Edited in Studio."
    assert state["next"] == []  # an answer without tool calls ends the turn
    assert len(client.threads.get_history(thread["thread_id"], limit=20)) == len(history) + 1


def test_a_server_thread_without_a_transcript_gets_it_back_from_its_history(
    langgraph_server, remote_runtime: Runtime, user: str
) -> None:
    """A server upgraded from the whole-state graph: its checkpoints hold what the app shows."""
    from langgraph_sdk import get_sync_client

    thread_id = threads.new_thread_id()
    said = [f"hello number {n}" for n in range(24)]
    _send(remote_runtime, user, thread_id, said[0])  # the app's first turn indexes the thread
    # The rest queued at once, as an SDK client may: the dev server's queue polls every 0.5 s
    # when idle, so one turn at a time would spend most of this test waiting.
    client = get_sync_client(url=langgraph_server.url)
    runs = [
        client.runs.create(
            thread_id,
            "memory_agent",
            input={"messages": [{"role": "user", "content": text}]},
            context={"user_id": user},
            multitask_strategy="enqueue",
        )
        for text in said[1:]
    ]
    for run in runs:
        client.runs.join(thread_id, run["run_id"])
    store = remote_runtime.store
    transcript.delete(store, thread_id)  # as a server written before the transcript left it
    store.delete(threads.UPGRADE_NAMESPACE, threads.WINDOW_UPGRADE)
    assert len(threads.messages(remote_runtime, user, thread_id)) <= WINDOW_MESSAGES

    reopened = open_runtime(server_url=langgraph_server.url)
    every = threads.messages(reopened, user, thread_id)
    assert [m.text for m in every if m.type == "human"] == said
    assert len({m.id for m in every}) == len(every) == 2 * len(said)
