"""A real Streamlit server on a free loopback port, and Debian's Chromium driven by Playwright.

Browser tests use these instead of mocks: ``LiveApp`` runs ``streamlit run app.py`` as a separate
process with its own data directory, and ``launch_chromium`` starts ``/usr/bin/chromium`` (never a
downloaded browser) with the flags this offline machine needs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveApp:
    """``streamlit run app.py`` in a subprocess; ``url`` once it answers its health check."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.args = args  # more ``streamlit run`` options, e.g. ``--secrets.files PATH``
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {**os.environ, "MEMORY_AGENT_DATA_DIR": str(data_dir), **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"streamlit-{self.port}.log"

    def __enter__(self) -> LiveApp:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            *self.args,
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_healthy(self.process, f"{self.url}/_stcore/health", self.log, "streamlit", 60)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.process)


def wait_until_healthy(
    process: subprocess.Popen[bytes], health_url: str, log: Path, name: str, timeout_s: float
) -> None:
    """Poll ``health_url`` until it answers 200; fail with the server's log if it dies or stalls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(health_url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{name} did not start in {timeout_s} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a server process, killing it if it has not exited within 10 s."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cli_command(data_dir: Path, *args: str) -> list[str]:
    """``python -m memory_agent --data-dir DIR ARGS…``: the command line in its own process."""
    return [sys.executable, "-m", "memory_agent", "--data-dir", str(data_dir), *args]


def settled(page: Any) -> None:
    """Wait until the script run (and any rerun it asked for) has finished.

    Clicking while a run is still streaming would interrupt it; tests act on a settled page,
    as a person does.
    """
    from playwright.sync_api import expect

    app = page.get_by_test_id("stApp")
    # Not expect's 5 s: a first run of a heavy page on two busy cores can take longer.
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)


WATCH_RUNS = """() => {
    const app = document.querySelector('[data-testid=stApp]');
    window.runsSeen?.observer.disconnect();
    const seen = {count: 0, observer: new MutationObserver(() => {
        if (app.dataset.testScriptState === 'running') seen.count++;
    })};
    seen.observer.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    window.runsSeen = seen;
}"""
RUN_ENDED = """() => window.runsSeen.count > 0
    && document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning'"""


@contextmanager
def rerun_of(page: Any) -> Iterator[None]:
    """Wait until the script run that the block's action starts has finished.

    A widget change reaches the server before the page says "running", so a bare ``settled``
    right after it can see the old run's "notRunning" and let the next step act on the old
    page. Every change of the run state is recorded from before the action, so none is missed.
    """
    page.evaluate(WATCH_RUNS)
    yield
    page.wait_for_function(RUN_ENDED, timeout=60_000)


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, with background networking off (this machine is offline)."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(
            "Browser tests need Debian's chromium at /usr/bin/chromium: apt-get install chromium"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
