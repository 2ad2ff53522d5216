"""A deployed agent answers only callers with the shared token (LangGraph Server's auth handler).

``langgraph dev`` serves langgraph.json with ``MEMORY_AGENT_SERVER_TOKEN`` set: every API the app
uses (assistants, threads, runs, the store) refuses a request without the token or with a wrong
one, including one claiming to be LangGraph Studio; the app, given the same token, chats and
remembers as usual, and without it says in one line what to set.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
from langgraph_sdk import Auth

from memory_agent import memories
from memory_agent.backends.remote import ServerUnreachable
from memory_agent.conversations import chat
from memory_agent.deploy import auth
from memory_agent.runtime import open_runtime
from tests.langgraph_server import LangGraphServer

TOKEN = "a-shared-test-token-5d1c"


def _authenticate(request: object) -> dict:
    """Run the async handler on a thread of its own: a browser test may leave a loop running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, auth.authenticate(None, request)).result()


@pytest.fixture(scope="module")
def guarded() -> Iterator[LangGraphServer]:
    with LangGraphServer(env={auth.TOKEN_ENV: TOKEN}) as server:
        yield server


def _requests(url: str) -> list[tuple[str, str, dict]]:
    thread = str(uuid.uuid4())
    return [
        ("POST", f"{url}/assistants/search", {"limit": 1}),
        ("POST", f"{url}/threads/search", {"limit": 1}),
        ("POST", f"{url}/threads", {"thread_id": thread}),
        ("GET", f"{url}/threads/{thread}/state", {}),
        ("POST", f"{url}/store/items/search", {"namespace_prefix": ["memories"]}),
        ("POST", f"{url}/store/namespaces", {"prefix": ["memories"]}),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": TOKEN},
        {"x-auth-scheme": "langsmith"},  # what Studio sends; refused like any other caller
    ],
    ids=["none", "wrong", "not-bearer", "studio"],
)
def test_every_api_refuses_a_caller_without_the_token(
    guarded: LangGraphServer, headers: dict[str, str]
) -> None:
    for method, url, body in _requests(guarded.url):
        response = httpx.request(method, url, json=body or None, headers=headers, timeout=10)
        assert response.status_code == 401, (url, response.text)
    assert httpx.get(f"{guarded.url}/ok", timeout=10).status_code == 200  # health stays open


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {TOKEN}"}, {"x-api-key": TOKEN}],
    ids=["bearer", "agent-chat-ui-api-key"],
)
def test_every_api_answers_a_caller_with_the_token(
    guarded: LangGraphServer, headers: dict[str, str]
) -> None:
    for method, url, body in _requests(guarded.url)[:3]:
        response = httpx.request(method, url, json=body or None, headers=headers, timeout=10)
        assert response.status_code == 200, (url, response.text)
    wrong = httpx.post(
        f"{guarded.url}/threads/search", json={}, headers={"x-api-key": "wrong"}, timeout=10
    )
    assert wrong.status_code == 401


def test_the_app_with_the_token_chats_and_remembers(
    guarded: LangGraphServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(auth.TOKEN_ENV, TOKEN)
    runtime = open_runtime(server_url=guarded.url)
    user, thread = f"zed-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    list(chat.send(runtime, user, thread, "My name is Zed and I love sailing"))
    assert "sailing" in repr(memories.list_memories(runtime.store, user))
    runtime.close()


def test_the_app_without_the_token_says_what_to_set(guarded: LangGraphServer) -> None:
    with pytest.raises(ServerUnreachable, match=f"set the same {auth.TOKEN_ENV}"):
        open_runtime(server_url=guarded.url)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("127.0.0.1", True), ("::1", True), ("10.1.2.3", False), ("203.0.113.9", False), ("", False)],
)
def test_without_a_token_only_this_machine_may_call(
    host: str, allowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)
    request = SimpleNamespace(client=SimpleNamespace(host=host))
    if allowed:
        assert _authenticate(request)["identity"] == auth.APP_IDENTITY
    else:
        with pytest.raises(Auth.exceptions.HTTPException, match=auth.TOKEN_ENV):
            _authenticate(request)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # the app, the SDK, curl
        ("http://127.0.0.1:8501", True),
        ("http://localhost:3000", True),  # agent-chat-ui run on this machine
        ("https://evil.example", False),  # a web page the user happens to have open
        ("null", False),
    ],
)
def test_without_a_token_a_page_from_another_site_is_refused(
    origin: str | None, allowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)
    headers = {"origin": origin} if origin else {}
    request = SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"), headers=headers)
    if allowed:
        assert _authenticate(request)["identity"] == auth.APP_IDENTITY
    else:
        with pytest.raises(Auth.exceptions.HTTPException, match=auth.TOKEN_ENV):
            _authenticate(request)
