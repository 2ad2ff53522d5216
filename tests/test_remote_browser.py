"""The deployed agent in a real browser: the chat and the inspector both on langgraph dev."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from memory_agent import memories
from memory_agent.runtime import open_runtime
from tests.langgraph_server import LangGraphServer
from tests.live_app import LiveApp
from tests.test_inspector_browser import (
    ROWING,
    SAILING,
    _chat,
    _has_cell,
    _open_memories,
    _url_thread,
    edit_memory,
)

pytestmark = pytest.mark.browser


def test_chat_inspect_and_edit_a_memory_on_the_server(
    page, tmp_path: Path, langgraph_server: LangGraphServer
) -> None:
    user = f"zed-{uuid.uuid4().hex[:8]}"
    env = {"MEMORY_AGENT_SERVER_URL": langgraph_server.url}
    with LiveApp(tmp_path / "data", env=env) as app:
        page.goto(f"{app.url}/?user={user}")
        page.get_by_text(f"Agent on LangGraph Server {langgraph_server.url}").wait_for()
        _chat(page, "My name is Zed and I love sailing")
        thread = _url_thread(page)

        page.goto(f"{app.url}/Inspector?user={user}&thread={thread}")
        _open_memories(page, table=True)
        _has_cell(page, SAILING)
        edit_memory(page, SAILING, ROWING)

        page.goto(f"{app.url}/?user={user}")  # a new chat, answered by the deployed agent
        answer = _chat(page, "What do you know about me?")
        assert "rowing" in answer and "sailing" not in answer
        assert _url_thread(page) != thread

    assert not list((tmp_path / "data").glob("*.sqlite")), "nothing was stored locally"
    runtime = open_runtime(server_url=langgraph_server.url)
    stored = {m.content: m.source for m in memories.list_memories(runtime.store, user)}
    assert stored == {ROWING: "inspector", "User's name is Zed": "agent"}
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", runtime.location)
