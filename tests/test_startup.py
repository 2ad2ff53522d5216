"""The chat page's first screen waits only for what it draws.

LangGraph's graph modules bring in LangSmith's tracing (about 0.8 s of imports), the OpenAI
client and pandas as much again; none of them is needed to show the chat input of the offline,
SQLite app. The graph is built on first use (``Runtime.graph``), and a turn then works as before.
Checked in a fresh interpreter, since this one has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.live_app import ROOT

DEFERRED = ["langsmith", "langgraph.graph", "openai", "langchain_openai", "pandas"]
FIRST_DRAW = """
import json, sys
import ui
from memory_agent.conversations import chat, threads
from memory_agent.configuration import Configuration
from memory_agent.models.chat import describe_model
from memory_agent.models.errors import describe_model_error
from memory_agent.runtime import open_runtime

runtime = open_runtime(sys.argv[1])
threads.list_threads(runtime, "zed", 20)
describe_model(Configuration.from_runnable_config())
before = [name for name in json.loads(sys.argv[2]) if name in sys.modules]
reply = "".join(e for e in chat.send(runtime, "zed", "t1", "I love sailing") if isinstance(e, str))
print(json.dumps({"before": before, "reply": reply, "graph": "langgraph.graph" in sys.modules}))
"""


def _first_draw(data_dir: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_DRAW, str(data_dir), json.dumps(DEFERRED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MEMORY_AGENT_MODEL": "offline-demo"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_first_screen_loads_no_graph_tracing_model_client_or_pandas(tmp_path: Path) -> None:
    seen = _first_draw(tmp_path / "data")
    assert seen["before"] == []
    assert "sailing" in seen["reply"]  # the graph, built on the first turn, answers as before
    assert seen["graph"]


def test_a_data_dir_with_conversations_opens_without_the_graph_too(tmp_path: Path) -> None:
    _first_draw(tmp_path / "data")  # writes a conversation (and the upgrade marker)
    assert _first_draw(tmp_path / "data")["before"] == []
