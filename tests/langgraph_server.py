"""``langgraph dev`` serving this project's langgraph.json on a free loopback port, for tests.

It runs from a temporary copy of the project (langgraph.json and the memory_agent package), so its
``.langgraph_api/`` data stays out of the worktree and every session starts empty. Analytics,
reload and the browser are off: the machine is offline, and a reload would restart the server
whenever a test writes a file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.live_app import ROOT, free_port, stop, wait_until_healthy

START_TIMEOUT_S = 60


def server_env() -> dict[str, str]:
    """The test process's environment without the developer's model and app settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MEMORY_AGENT_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_"))
    }
    env["LANGGRAPH_CLI_NO_ANALYTICS"] = "1"
    return env


class LangGraphServer:
    """``langgraph dev`` in a subprocess; ``url`` once its ``/ok`` answers."""

    def __init__(self, config: str = "langgraph.json", env: dict[str, str] | None = None) -> None:
        self.config = config
        self.env = {**server_env(), **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.project = Path(tempfile.mkdtemp(prefix="langgraph-server-"))
        self.log = self.project / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LangGraphServer:
        shutil.copy(ROOT / self.config, self.project)
        shutil.copytree(
            ROOT / "memory_agent",
            self.project / "memory_agent",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        langgraph = Path(sys.executable).with_name("langgraph")
        command = [str(langgraph) if langgraph.exists() else "langgraph", "dev", "--no-browser"]
        command += ["--config", self.config]
        command += ["--no-reload", "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.project, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_until_healthy(
                self.process, f"{self.url}/ok", self.log, "langgraph dev", START_TIMEOUT_S
            )
        except RuntimeError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.process)
        shutil.rmtree(self.project, ignore_errors=True)
