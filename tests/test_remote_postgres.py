"""The deployed agent on PostgreSQL (langgraph.postgres.json): the same tables as the app's."""

from __future__ import annotations

import psycopg

from memory_agent import memories
from memory_agent.conversations import chat, threads
from memory_agent.runtime import open_runtime
from tests.langgraph_server import LangGraphServer
from tests.postgres_server import PostgresServer


def test_the_served_agent_writes_where_the_in_process_app_reads(
    postgres_server: PostgresServer,
) -> None:
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE served")
    url = postgres_server.url("served")
    thread_id = threads.new_thread_id()
    env = {"MEMORY_AGENT_DATABASE_URL": url}
    with LangGraphServer("langgraph.postgres.json", env) as server:
        remote = open_runtime(server_url=server.url)
        list(chat.send(remote, "zed", thread_id, "I love sailing"))
        [found] = memories.search_memories(remote.store, "zed", "sailing")
        assert found.content == "User loves sailing" and found.score > 0.5

    local = open_runtime(database_url=url)
    try:
        assert [m.key for m in memories.search_memories(local.store, "zed", "sailing")] == [
            found.key
        ]
        assert [t.thread_id for t in threads.list_threads(local, "zed")] == [thread_id]
        turns = chat.history(local, "zed", thread_id)
        assert [t.role for t in turns] == ["user", "assistant"]
    finally:
        local.close()
