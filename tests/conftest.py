"""Shared fixtures: a hermetic environment, a real data directory, a local OpenAI server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_agent.runtime import Runtime, open_runtime
from tests.openai_stub import OpenAIStub


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's keys or settings: the offline defaults apply unless set."""
    for name in list(os.environ):
        if name.startswith(("MEMORY_AGENT_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_")):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[Runtime]:
    rt = open_runtime(data_dir)
    yield rt
    rt.close()


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
