"""Streamlit glue the pages share: the runtime, URL parameters, messages, inert text.

The core (``memory_agent``) stays Streamlit-free; the pages stay short by using this one module
for everything they would otherwise each write.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

import streamlit as st

from memory_agent.runtime import Runtime, open_runtime

USER_PARAM = "user"
"""URL query parameter holding the current user id (the chat and the inspector both read it)."""

THREAD_PARAM = "thread"
"""URL query parameter holding the open conversation's thread id."""

TAB_PARAM = "tab"
"""URL query parameter naming the inspector's open tab (State, History, Memories)."""

CHAT_PAGE = "pages/chat.py"
INSPECTOR_PAGE = "pages/inspector.py"
_FLASH = "flash"

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])")


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
        logging.getLogger(__name__).exception("Cannot open the runtime")
        st.error(f"Memory Agent cannot start: {error}", icon=":material/error:")
        st.stop()


def flash(
    text: str,
    kind: Literal["success", "warning", "error"] = "success",
    *,
    link: dict[str, Any] | None = None,
) -> None:
    """Keep a message for the next run (callbacks and ``st.rerun`` would otherwise lose it).

    ``link`` is ``st.page_link``'s arguments, for a message that leads somewhere.
    """
    st.session_state[_FLASH] = {"text": text, "kind": kind, "link": link}


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
    where = (
        f"Agent on LangGraph Server {runtime.location}"
        if runtime.remote
        else f"Agent in this app · data in {runtime.location}"
    )
    st.sidebar.caption(escape_inline(where))


def escape_inline(text: str) -> str:
    """``text`` on one line, escaped for widgets that render Markdown, so it shows as typed.

    Memory contents and titles come from what users typed; unescaped, ``**x**``, ``[a](b)``,
    ``$x$`` or ``:red[x]`` would be rendered as formatting or links instead of shown as text.
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


def inspector_available() -> bool:
    """The inspector page is a separate file; the chat links to it only when it is installed."""
    return (Path(__file__).parent / INSPECTOR_PAGE).is_file()


def page_link_args(page: str, label: str, user: str, thread: str | None = None) -> dict[str, Any]:
    """``st.page_link`` arguments for a page with the same user (and conversation)."""
    params = {USER_PARAM: user} | ({THREAD_PARAM: thread} if thread else {})
    icons = {CHAT_PAGE: ":material/chat:", INSPECTOR_PAGE: ":material/manage_search:"}
    return {"page": page, "label": label, "icon": icons[page], "query_params": params}
