"""Streamlit glue the pages share: the runtime, URL parameters, messages, inert text.

The core (``memory_agent``) stays Streamlit-free; the pages stay short by using this one module
for everything they would otherwise each write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from memory_agent.configuration import validate_user_id
from memory_agent.identity import Identity, LoginError, identity_from_claims, is_admin
from memory_agent.memories.validation import describe_character, invisible_characters
from memory_agent.runtime import OPEN_FAULTS, Runtime, open_runtime

USER_PARAM = "user"
"""URL query parameter holding the current user id (the chat and the inspector both read it)."""

THREAD_PARAM = "thread"
"""URL query parameter holding the open conversation's thread id."""

TAB_PARAM = "tab"
"""URL query parameter naming the inspector's open tab (State, History, Memories)."""

TABLE_PARAM = "table"
"""URL query parameter holding the inspector's "Edit as a table" switch (a link keeps it open)."""

CHECKPOINT_PARAM = "checkpoint"
"""URL query parameter naming the checkpoint the inspector's History tab opens (provenance)."""

MEMORY_PARAM = "memory"
"""URL query parameter naming the memory the inspector's Memories tab shows first."""

CHAT_PAGE = "pages/chat.py"
INSPECTOR_PAGE = "pages/inspector.py"
PAGE_PATHS = {"": CHAT_PAGE, "inspector": INSPECTOR_PAGE, "Inspector": INSPECTOR_PAGE}
"""Each page's URL path (as app.py routes them), for deep links kept across the login."""
_FLASH = "flash"

SETTINGS_SECTION = "memory_agent"
"""The secrets section with the app's own login settings: ``admins = ["<user id or email>"]``."""
NEXT_COOKIE = "memory_agent_next"
"""Where the page a logged-out visitor asked for waits while they log in (Streamlit lands on /)."""
_NEXT_DONE = "deep_link_done"
_SAVE_NEXT = f"""<script>
document.cookie = "{NEXT_COOKIE}=" + encodeURIComponent(location.pathname + location.search)
  + "; path=/; max-age=600; samesite=lax";
</script>"""
_FORGET_NEXT = f'<script>document.cookie = "{NEXT_COOKIE}=; path=/; max-age=0";</script>'
NOT_YOURS = "You can only see your own conversations and memories."
"""The one sentence a logged-in non-admin gets for another user's link: nothing else of it."""

_MARKUP = re.compile(
    r"[\\`*\[\]#|<>~$&]"  # emphasis, code, links, images, HTML, math, entities
    r"|:(?=[\w/])"  # :emoji:, :red[…], :material/…:
    r"|_(?![^\W_])|(?<![^\W_])_"  # _emphasis_ (an underscore inside a word stays as it is)
    r"|^[-+]|(?<=^\d)[.)]|(?<=^\d\d)[.)]"  # a list item, when the text starts the line
)
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(?=:/)|(?i:(?<=www))(?=\.)|(?<=\S)(?=@)")
"""Where GFM turns bare text into a link (http://…, www.…, a@b.c), after escapes are undone."""
_WORD_JOINER = "\u2060"
_CODE = re.compile(r"^(`{3,}|~{3,}).*?(?:^\1|\Z)|(`+).+?\2", re.M | re.S)
"""Fenced code blocks and inline code spans: their text is shown literally, images included."""
_IMAGE = re.compile(r"!(?=\[)")


@st.cache_resource(show_spinner="Opening the agent's data…")
def get_runtime() -> Runtime:
    """One runtime (graph, checkpointer, store) per server process, shared by all sessions."""
    return open_runtime()


def runtime_or_stop() -> Runtime:
    """The shared runtime; if it cannot be opened (e.g. the server is down), one line and stop.

    A failed open is not cached, so the page retries on the next rerun once the server is up.
    """
    try:
        return get_runtime()
    except Exception as error:
        if isinstance(error, OPEN_FAULTS):  # expected (damaged data, a bad setting): one line
            logging.getLogger(__name__).error("Cannot open the runtime: %s", error)
        else:
            logging.getLogger(__name__).exception("Cannot open the runtime")
        st.error(f"Memory Agent cannot start: {escape_inline(str(error))}", icon=":material/error:")
        st.stop()


def flash(
    text: str,
    kind: Literal["success", "warning", "error"] = "success",
    *,
    link: dict[str, Any] | None = None,
) -> None:
    """Keep a message for the next run (callbacks and ``st.rerun`` would otherwise lose it).

    ``text`` is shown as typed (it often quotes titles, ids or errors): no Markdown. ``link``
    is ``st.page_link``'s arguments, for a message that leads somewhere.
    """
    st.session_state[_FLASH] = {"text": escape_inline(text), "kind": kind, "link": link}


def show_flash() -> None:
    """Show the message the last action left, once, where the page calls this."""
    message = st.session_state.pop(_FLASH, None)
    if not message:
        return
    if message["kind"] == "success":  # a toast is seen wherever the page is scrolled
        st.toast(message["text"], icon=":material/check_circle:")
    elif message["kind"] == "warning":
        st.warning(message["text"], icon=":material/info:")
    else:
        st.error(message["text"], icon=":material/error:")
    if message["link"]:
        st.page_link(**message["link"])


def show_where(runtime: Runtime) -> None:
    """A sidebar line saying where the agent runs, so a deployed one is not taken for local."""
    where = code_span(runtime.location)  # a URL or a path, shown as it is, never as a link
    st.sidebar.caption(
        f"Agent on LangGraph Server {where}"
        if runtime.remote
        else f"Agent in this app · data in {where}"
    )


# ---- who is looking: login, admins, the user whose data a page shows ----------------------


@dataclass(frozen=True)
class Visitor:
    """Who opened the page, and whose data it may show.

    Without login (``identity`` is ``None``) anyone may open any user, as before login existed;
    with it, ``user_id`` is the visitor's own id unless an admin asked for someone else.
    """

    user_id: str | None
    identity: Identity | None
    admin: bool

    @property
    def may_choose_user(self) -> bool:
        """Whether the page may offer a user field (no login, or an admin)."""
        return self.identity is None or self.admin

    @property
    def may_change_model(self) -> bool:
        """Whether the model settings are this visitor's to change (no login, or an admin)."""
        return self.identity is None or self.admin


def login_enabled() -> bool:
    """Login is on when the secrets file the server was started with has an ``[auth]`` section."""
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError:  # no secrets file at all
        return False


def page_user(*, others: bool = False) -> Visitor:
    """Gate the page: call first on every page (each page URL can be opened directly).

    With login on, a logged-out visitor sees only the login button (the link they opened is kept
    for after the login); a logged-in one gets their own user id. ``?user=`` naming someone else
    is honoured for admins on pages that allow ``others``; anyone else gets ``NOT_YOURS`` and
    nothing more. Without login the sidebar says so, and the page reads ``?user=`` as before.
    """
    if not login_enabled():
        st.sidebar.caption(
            ":material/lock_open: No login: anyone who can open this address can read and "
            "change every user's memories."
        )
        return Visitor(user_id=None, identity=None, admin=False)
    claims = st.user.to_dict()
    if not claims.get("is_logged_in"):
        show_login()
        st.stop()
    try:
        identity = identity_from_claims(claims)
    except LoginError as error:
        st.error(escape_inline(str(error)), icon=":material/person_alert:")
        st.button("Log out", on_click=st.logout)
        st.stop()
    admin = is_admin(identity, admin_list())
    resume_deep_link()
    show_account(identity, admin)
    requested = st.query_params.get(USER_PARAM)
    if not requested or requested == identity.user_id:
        return Visitor(user_id=identity.user_id, identity=identity, admin=admin)
    if others and admin:
        try:
            return Visitor(user_id=validate_user_id(requested), identity=identity, admin=admin)
        except ValueError as error:
            st.error(f"That is not a valid user id: {escape_inline(str(error))}.")
            st.stop()
    st.error(NOT_YOURS, icon=":material/block:")
    st.page_link(CHAT_PAGE, label="Open your own chat", icon=":material/chat:")
    st.stop()


def admin_list() -> list[str]:
    """The operator's admins (user ids or verified emails) from the secrets file."""
    admins = st.secrets.get(SETTINGS_SECTION, {}).get("admins", [])
    return [admins] if isinstance(admins, str) else [str(admin) for admin in admins]


def show_login() -> None:
    """The only thing a logged-out visitor sees; the link they opened waits in a cookie."""
    st.html(_SAVE_NEXT, unsafe_allow_javascript=True)  # static: reads the browser's own URL
    st.title(":material/neurology: Memory Agent")
    st.markdown("Log in to see your conversations and memories.")
    st.button("Log in", icon=":material/login:", type="primary", on_click=st.login)


def show_account(identity: Identity, admin: bool) -> None:
    """Who is logged in, in the sidebar, with the way out."""
    role = " · admin" if admin else ""
    st.sidebar.caption(f":material/account_circle: {escape_inline(identity.name)}{role}")
    st.sidebar.button("Log out", icon=":material/logout:", on_click=st.logout, key="logout")


def resume_deep_link() -> None:
    """After the login round trip, open the page the visitor first asked for (once)."""
    saved = st.context.cookies.get(NEXT_COOKIE)
    if not isinstance(saved, str) or not saved:  # (AppTest's cookies are a mock)
        return
    if st.session_state.get(_NEXT_DONE):
        if st.session_state[_NEXT_DONE] == "opened":  # once, on the page it opened
            st.html(_FORGET_NEXT, unsafe_allow_javascript=True)
            st.session_state[_NEXT_DONE] = "forgotten"
        return
    st.session_state[_NEXT_DONE] = "opened"
    target = deep_link(saved, st.get_option("server.baseUrlPath") or "")
    if target is not None:
        page, params = target
        st.switch_page(page, query_params=params)


def deep_link(saved: str, base_path: str = "") -> tuple[str, dict[str, str]] | None:
    """The page and parameters a saved ``path?query`` names, or ``None`` if it is not ours.

    The cookie is the browser's, so it is read as untrusted: only this app's pages and its own
    parameters are taken, and never another site (``//host/...``).
    """
    parts = urlsplit(unquote(saved))  # the script stores it URI-encoded
    if parts.scheme or parts.netloc:
        return None
    path = parts.path.strip("/")
    base = base_path.strip("/")
    if base and (path == base or path.startswith(f"{base}/")):
        path = path[len(base) :].strip("/")
    page = PAGE_PATHS.get(path)
    if page is None:
        return None
    wanted = (USER_PARAM, THREAD_PARAM, TAB_PARAM, TABLE_PARAM, CHECKPOINT_PARAM, MEMORY_PARAM)
    params = {name: value for name, value in parse_qsl(parts.query) if name in wanted}
    return page, params


# ---- foreign text, shown inert -----------------------------------------------------------


def escape_inline(text: str) -> str:
    """``text`` on one line, escaped for widgets that render Markdown, so it shows as typed.

    Memory contents, titles, ids, URL parameters and error details come from outside the app;
    unescaped, ``**x**``, ``[a](b)``, ``![i](url)``, ``$x$`` or ``:red[x]`` would be rendered as
    formatting, links or images. Bare addresses (``https://…``, ``www.…``, ``a@b.c``) get a
    word joiner (U+2060) where GFM would make them links. Invisible format characters the text
    brings (bidi overrides) are shown by name so they cannot make it read as something else.
    """
    line = escape_visible(" ".join(str(text).split()))
    line = _AUTOLINK.sub(_WORD_JOINER, line)  # an invisible break: no backslash stops these
    return _MARKUP.sub(lambda mark: "\\" + mark.group(), line)


def code_span(text: str) -> str:
    """``text`` as an inline code span that its own backticks cannot close (ids, names)."""
    line = escape_visible(" ".join(str(text).split()))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def escape_visible(text: str) -> str:
    """``text`` with its invisible format characters replaced by their names, e.g. in code."""
    for char in set(invisible_characters(text)):
        text = text.replace(char, f"<{describe_character(char)}>")
    return text


def reply_markdown(text: str) -> str:
    """A model's reply as Markdown, with its images turned into plain links.

    Replies may format text, but an image would be fetched by every browser that shows it,
    from whatever host the model (or a memory it repeats) names. Code is left as written.
    """
    out, last = [], 0
    for code in _CODE.finditer(text):
        out += [_IMAGE.sub(r"\\!", text[last : code.start()]), code.group()]
        last = code.end()
    out.append(_IMAGE.sub(r"\\!", text[last:]))
    return escape_visible("".join(out))


def stream_reply(container: Any, tokens: Iterator[str]) -> str:
    """Stream a reply into ``container`` as ``reply_markdown``; returns the whole text.

    ``st.write_stream`` would render each partial text as it comes, images included.
    """
    box, text = container.empty(), ""
    for token in tokens:
        text += token
        box.markdown(reply_markdown(text))
    return text


def inspector_available() -> bool:
    """The inspector page is a separate file; the chat links to it only when it is installed."""
    return (Path(__file__).parent / INSPECTOR_PAGE).is_file()


def page_link_args(page: str, label: str, user: str, thread: str | None = None) -> dict[str, Any]:
    """``st.page_link`` arguments for a page with the same user (and conversation).

    With login on the chat is always the visitor's own, so its links name no user.
    """
    own_chat = page == CHAT_PAGE and login_enabled()
    params = ({} if own_chat else {USER_PARAM: user}) | ({THREAD_PARAM: thread} if thread else {})
    icons = {CHAT_PAGE: ":material/chat:", INSPECTOR_PAGE: ":material/manage_search:"}
    return {"page": page, "label": label, "icon": icons[page], "query_params": params}
