"""With login on, every page gates itself: whose data it shows comes from the login, not the URL.

AppTest runs the real pages with ``[auth]`` in ``st.secrets`` and a faked ``st.user``. Alice has a
conversation and memories; Bob, logged in, tries every page, tab and parameter with her user id
and thread id, and gets one sentence and nothing of hers. An admin may open her memories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from memory_agent import memories
from memory_agent.conversations import chat
from memory_agent.identity import LoginError, identity_from_claims, is_admin, user_id_for
from memory_agent.runtime import Runtime
from tests.live_app import ROOT
from tests.test_isolation import ALICE_SAYS, SECRET, _everything_shown
from ui import CHAT_PAGE, INSPECTOR_PAGE, NOT_YOURS, deep_link, get_runtime

ISSUER = "https://login.example"
ALICE, BOB, ROOT_ADMIN = (user_id_for(ISSUER, sub) for sub in ("alice", "bob", "root"))
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-enough-length",
    "client_id": "memory-agent",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ADMINS = {"admins": ["root@example.com"]}


def logged_in(sub: str, **claims: Any) -> dict[str, Any]:
    return {"is_logged_in": True, "iss": ISSUER, "sub": sub, **claims}


BOB_CLAIMS = logged_in("bob", email="bob@example.com", email_verified=True, name="Bob")
ROOT_CLAIMS = logged_in("root", email="root@example.com", email_verified=True, name="Root")


@pytest.fixture
def alice(runtime: Runtime, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Alice's thread a1 with her memories; the pages open the same data directory."""
    list(chat.send(runtime, ALICE, "a1", ALICE_SAYS))
    assert memories.list_memories(runtime.store, ALICE)
    monkeypatch.setenv("MEMORY_AGENT_DATA_DIR", str(data_dir))
    get_runtime.clear()
    yield ALICE
    get_runtime().close()
    get_runtime.clear()


def _open(
    page: str | None, visitor: dict[str, Any] | None, *, login: bool = True, **query: str
) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=20)
    if login:
        at.secrets["auth"] = AUTH
        at.secrets["memory_agent"] = ADMINS
    if visitor is not None:
        at.user = visitor
    for name, value in query.items():
        at.query_params[name] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception[0].stack_trace
    return at


# ---- who the login says you are -----------------------------------------------------------------


def test_a_user_id_is_stable_per_account_and_readable_where_the_subject_allows() -> None:
    assert user_id_for(ISSUER, "alice") == ALICE
    assert ALICE.startswith("alice-")
    assert user_id_for("https://other.example", "alice") != ALICE  # another provider's alice
    opaque = user_id_for(ISSUER, "auth0|5f7c8ec7c33c6c004bbafe82")
    assert opaque.startswith("user-") and "|" not in opaque
    assert identity_from_claims(BOB_CLAIMS).user_id == BOB


def test_a_login_without_issuer_or_subject_is_refused() -> None:
    with pytest.raises(LoginError, match="did not say who you are"):
        identity_from_claims({"is_logged_in": True, "email": "x@example.com"})


def test_only_a_listed_id_or_a_verified_email_makes_an_admin() -> None:
    assert is_admin(identity_from_claims(ROOT_CLAIMS), ["root@example.com"])
    assert is_admin(identity_from_claims(BOB_CLAIMS), [BOB])
    unverified = logged_in("mallory", email="root@example.com")
    assert not is_admin(identity_from_claims(unverified), ["root@example.com"])
    assert not is_admin(identity_from_claims(BOB_CLAIMS), ["root@example.com", ALICE])


def test_a_kept_deep_link_opens_only_this_apps_pages_and_parameters() -> None:
    assert deep_link("/inspector?user=a&thread=t1&tab=Memories&x=1") == (
        INSPECTOR_PAGE,
        {"user": "a", "thread": "t1", "tab": "Memories"},
    )
    assert deep_link("/Inspector?tab=State") == (INSPECTOR_PAGE, {"tab": "State"})
    # the chat's "Open this memory" and the inspector's "Turn that wrote this" links
    assert deep_link("/inspector?tab=History&checkpoint=c1&memory=k1") == (
        INSPECTOR_PAGE,
        {"tab": "History", "checkpoint": "c1", "memory": "k1"},
    )
    assert deep_link("%2F%3Fthread%3Dt9") == (CHAT_PAGE, {"thread": "t9"})
    assert deep_link("/memory/inspector", "/memory") == (INSPECTOR_PAGE, {})
    for foreign in ("//evil.example/inspector", "https://evil.example/", "/admin", "/../etc"):
        assert deep_link(foreign) is None, foreign


# ---- pages ------------------------------------------------------------------------------------


def test_without_auth_the_pages_work_as_before_and_say_there_is_no_login(alice: str) -> None:
    at = _open(None, None, login=False, user=ALICE, thread="a1")
    assert any("No login" in caption.value for caption in at.sidebar.caption)
    assert SECRET in _everything_shown(at)  # anyone may open anyone: that is what it says


@pytest.mark.parametrize(
    ("page", "query"),
    [
        (None, {}),
        (None, {"user": ALICE, "thread": "a1"}),
        (INSPECTOR_PAGE, {"user": ALICE, "thread": "a1", "tab": "Memories"}),
    ],
)
def test_a_logged_out_visitor_sees_only_the_login_button(
    alice: str, page: str | None, query: dict[str, str]
) -> None:
    at = _open(page, {"is_logged_in": False}, **query)
    assert [button.label for button in at.button] == ["Log in"]
    assert not at.chat_input and not at.tabs
    assert SECRET not in _everything_shown(at)


@pytest.mark.parametrize(
    ("page", "query"),
    [
        (None, {"user": ALICE}),
        (None, {"user": ALICE, "thread": "a1"}),
        *[
            (INSPECTOR_PAGE, {"user": ALICE, "thread": "a1", "tab": tab})
            for tab in ("State", "History", "Memories")
        ],
    ],
)
def test_bob_gets_one_sentence_for_any_link_to_alices_data(
    alice: str, page: str | None, query: dict[str, str]
) -> None:
    at = _open(page, BOB_CLAIMS, **query)
    assert [error.value for error in at.error] == [NOT_YOURS]
    labels = [button.label for button in at.button]
    assert labels == ["Log out"]  # no fork, undo, save or import: nothing to act on
    assert not at.get("download_button") and not at.get("file_uploader")
    assert SECRET not in _everything_shown(at)


@pytest.mark.parametrize("page", [None, INSPECTOR_PAGE])
def test_bob_with_alices_thread_id_gets_his_own_pages_only(alice: str, page: str | None) -> None:
    at = _open(page, BOB_CLAIMS, thread="a1", tab="History")
    assert not at.error
    assert SECRET not in _everything_shown(at)


def test_bob_chats_as_himself_without_a_user_field_or_model_settings(alice: str) -> None:
    at = _open(None, BOB_CLAIMS)
    assert not at.sidebar.text_input  # no "User id" field
    assert not at.text_area  # no system prompt
    assert "Only an admin can change the model settings." in [c.value for c in at.caption]
    hers = memories.list_memories(get_runtime().store, ALICE)
    at.chat_input[0].set_value("My name is Bob").run()
    assert "user" not in at.query_params
    assert "Bob" in repr(memories.list_memories(get_runtime().store, BOB))
    assert memories.list_memories(get_runtime().store, ALICE) == hers


def test_an_admin_opens_alices_memories_and_may_change_model_settings(alice: str) -> None:
    at = _open(INSPECTOR_PAGE, ROOT_CLAIMS, user=ALICE, thread="a1", tab="Memories")
    assert not at.error
    assert SECRET in _everything_shown(at)
    chat_page = _open(None, ROOT_CLAIMS)
    assert chat_page.sidebar.text_area(key="setting_system_prompt")


def test_an_unverified_admin_email_is_an_ordinary_user(alice: str) -> None:
    pretender = logged_in("mallory", email="root@example.com", name="Mallory")
    at = _open(INSPECTOR_PAGE, pretender, user=ALICE, tab="Memories")
    assert [error.value for error in at.error] == [NOT_YOURS]
    assert SECRET not in _everything_shown(at)
