"""Streamlit glue shared by the chat page and the inspector (the core stays Streamlit-free)."""

from __future__ import annotations

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


@st.cache_resource(show_spinner="Opening the data directory…")
def get_runtime() -> Runtime:
    """One runtime (graph, checkpointer, store) per server process, shared by all sessions."""
    return open_runtime()


def escape_inline(text: str) -> str:
    """``text`` on one line, escaped for widgets that render Markdown, so it shows as typed.

    Memory contents and titles come from what users typed; unescaped, ``**x**``, ``[a](b)``,
    ``$x$`` or ``:red[x]`` would be rendered as formatting or links instead of shown as text.
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


def inspector_available() -> bool:
    """The inspector page is a separate file; the chat links to it only when it is installed."""
    return (Path(__file__).parent / INSPECTOR_PAGE).is_file()
