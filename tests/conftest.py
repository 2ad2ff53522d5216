"""Shared fixtures: a hermetic environment, a real backend, a local OpenAI server.

Modules marked ``both_backends`` run twice, on SQLite and on PostgreSQL: for them ``data_dir`` (and
so ``runtime``) comes with ``MEMORY_AGENT_DATABASE_URL`` pointing at a fresh database on one
session-wide Postgres server, which every ``open_runtime`` call, page and CLI run then uses. Other
modules run on SQLite only. If Postgres cannot start, the Postgres runs fail and say why.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from streamlit.components.v2 import manifest_scanner

from memory_agent.runtime import Runtime, open_runtime
from tests.langgraph_server import LangGraphServer
from tests.openai_stub import OpenAIStub
from tests.postgres_server import PostgresServer

_databases = itertools.count()

# Every new AppTest scans all installed packages for Streamlit component manifests (0.4 s here, in
# ``BidiComponentManager.discover_and_register_components``). Installed packages do not change
# during a test session, so one scan serves them all; the result is the same list.
manifest_scanner.scan_component_manifests = functools.cache(
    manifest_scanner.scan_component_manifests
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_backends`` that use ``backend`` (or ``runtime``) run on each."""
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_backends"
    ):
        metafunc.parametrize("backend", ["sqlite", "postgres"], indirect=True)


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's keys or settings: the offline defaults apply unless set."""
    for name in list(os.environ):
        if name.startswith(("MEMORY_AGENT_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL + pgvector server for the session, from the pip-installed binaries."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def langgraph_server() -> Iterator[LangGraphServer]:
    """One ``langgraph dev`` serving the agent for the session (tests use their own user ids)."""
    with LangGraphServer() as server:
        yield server


@pytest.fixture
def remote_runtime(langgraph_server: LangGraphServer) -> Iterator[Runtime]:
    """A runtime whose agent, store and threads are on the session's LangGraph Server."""
    rt = open_runtime(server_url=langgraph_server.url)
    yield rt
    rt.close()


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``sqlite``, or ``postgres`` with ``MEMORY_AGENT_DATABASE_URL`` set to a fresh database."""
    name = getattr(request, "param", "sqlite")
    if name == "sqlite":
        yield name
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database = f"test_{next(_databases)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    monkeypatch.setenv("MEMORY_AGENT_DATABASE_URL", server.url(database))
    yield name
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {database} WITH (FORCE)")


@pytest.fixture
def data_dir(tmp_path: Path, backend: str) -> Path:
    """Where the SQLite backend keeps its files (unused while a database URL is set)."""
    return tmp_path / "data"


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[Runtime]:
    rt = open_runtime(data_dir)
    yield rt
    rt.close()


@pytest.fixture
def page_runtime(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """The pages' cached runtime (``ui.get_runtime``) on this test's data, closed after it."""
    from ui import get_runtime  # the pages' module: only the tests that drive pages load it

    monkeypatch.setenv("MEMORY_AGENT_DATA_DIR", str(data_dir))
    get_runtime.clear()
    yield get_runtime()
    get_runtime().close()
    get_runtime.clear()


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture
def online_runtime(
    data_dir: Path, openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """A runtime whose model is ChatOpenAI talking HTTP to the local stub server."""
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", openai_stub.url)
    monkeypatch.setenv("MEMORY_AGENT_MODEL", "stub-model")
    rt = open_runtime(data_dir)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Debian Chromium for the whole session (pages are per test)."""
    from playwright.sync_api import sync_playwright

    from tests.live_app import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
