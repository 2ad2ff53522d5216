"""Streamlit glue shared by the chat page and the inspector (the core stays Streamlit-free)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import streamlit as st

from memory_agent.runtime import Runtime, open_runtime

USER_PARAM = "user"
"""URL query parameter holding the current user id (the chat and the inspector both read it)."""

THREAD_PARAM = "thread"
"""URL query parameter holding the open conversation's thread id."""

INSPECTOR_PAGE = "pages/1_Inspector.py"

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
