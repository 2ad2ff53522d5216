"""Login in Debian's Chromium: a real ``streamlit run`` with ``[auth]`` against a local provider.

The provider (``tests/oidc_provider.py``) signs real ID tokens for two people: Bob, an ordinary
user, and Root, whose verified email is on the app's admin list. Each test logs in through the
provider's page, as a person would, in its own browser context (its own cookies).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from memory_agent import memories
from memory_agent.identity import user_id_for
from memory_agent.runtime import open_runtime
from tests.live_app import LiveApp, settled
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OIDCProvider
from tests.test_chat_browser import hermetic_app
from ui import NOT_YOURS

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)  # a login round trip is several page loads

IDENTITIES = {
    "bob": {"email": "bob@example.com", "email_verified": True, "name": "Bob Example"},
    "root": {"email": "admin@example.com", "email_verified": True, "name": "Root Admin"},
}
BOBS_MEMORY = "Bob keeps a sailboat called Marlin"
ROOTS_MEMORY = "Root has the keys to the server room"


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with OIDCProvider(IDENTITIES) as running:
        yield running


@pytest.fixture(scope="module")
def app(provider: OIDCProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app with login on (secrets outside the repo), Bob and Root with one memory each."""
    folder = tmp_path_factory.mktemp("login")
    runtime = open_runtime(folder / "data")
    for sub, content in (("bob", BOBS_MEMORY), ("root", ROOTS_MEMORY)):
        memories.upsert_memory(runtime.store, user_id_for(provider.url, sub), content)
    runtime.close()
    live = hermetic_app(folder / "data")
    secrets = folder / "secrets.toml"
    secrets.write_text(
        f"""[auth]
redirect_uri = "http://127.0.0.1:{live.port}/oauth2callback"
cookie_secret = "a-test-cookie-secret-of-enough-length"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{provider.metadata_url}"

[memory_agent]
admins = ["admin@example.com"]
"""
    )
    live.args = ("--secrets.files", str(secrets))
    with live:
        yield live


def log_in(page: Page, who: str) -> None:
    """From the login screen, through the provider's page, back into the app as ``who``."""
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name=f"Sign in as {who}").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    settled(page)


def test_a_deep_link_survives_the_login_and_logout_ends_the_session(
    app: LiveApp, page: Page
) -> None:
    page.goto(f"{app.url}/inspector?tab=Memories&table=true")
    expect(page.get_by_text("Log in to see your conversations and memories.")).to_be_visible()
    assert BOBS_MEMORY not in page.content()
    log_in(page, "bob")
    expect(page).to_have_url(re.compile(r"/inspector\?.*tab=Memories.*table=true"))
    expect(page.get_by_role("heading", name="Memory inspector")).to_be_visible()
    expect(page.get_by_text("Bob Example")).to_be_visible()
    grid = page.locator(".st-key-memory_table table[role=grid] [role=gridcell]")
    expect(grid.filter(has_text=BOBS_MEMORY).first).to_be_attached()
    expect(page.get_by_label("User")).to_have_count(0)  # no user field for an ordinary user

    page.goto(f"{app.url}/")  # the kept link is used once: the chat opens as the chat
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()
    expect(page).not_to_have_url(re.compile("inspector"))
    expect(page.get_by_label("User id")).to_have_count(0)
    expect(page.get_by_text("Only an admin can change the model settings.")).to_be_visible()

    # The rerun shows "Log in" at once; the cookie goes when the browser follows the redirect
    # to /auth/logout (a navigation away before that kept it, under load).
    with page.expect_response(lambda response: "/auth/logout" in response.url):
        page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.goto(f"{app.url}/inspector?tab=Memories")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert BOBS_MEMORY not in page.content()


def test_an_ordinary_user_gets_one_sentence_for_another_users_link(
    app: LiveApp, page: Page, provider: OIDCProvider
) -> None:
    root = user_id_for(provider.url, "root")
    page.goto(f"{app.url}/")
    log_in(page, "bob")
    for path in (
        f"/inspector?user={root}&tab=Memories",
        f"/?user={root}",
        f"/Inspector?user={root}",
    ):
        page.goto(f"{app.url}{path}")
        expect(page.get_by_text(NOT_YOURS)).to_be_visible()
        settled(page)
        assert ROOTS_MEMORY not in page.content()
        assert page.get_by_role("tab").count() == 0


def test_an_admin_opens_any_user_in_the_inspector_and_changes_model_settings(
    app: LiveApp, page: Page, provider: OIDCProvider
) -> None:
    bob = user_id_for(provider.url, "bob")
    page.goto(f"{app.url}/inspector?user={bob}&tab=Memories&table=true")
    log_in(page, "root")
    expect(page).to_have_url(re.compile(rf"user={bob}"))
    grid = page.locator(".st-key-memory_table table[role=grid] [role=gridcell]")
    expect(grid.filter(has_text=BOBS_MEMORY).first).to_be_attached()
    expect(page.get_by_text("Root Admin · admin")).to_be_visible()
    page.goto(f"{app.url}/")
    expect(page.get_by_text("Model settings")).to_be_visible()
