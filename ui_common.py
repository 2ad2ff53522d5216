"""Streamlit glue shared by the chat page and the inspector (the core stays Streamlit-free)."""

from __future__ import annotations

import streamlit as st

from memory_agent.runtime import Runtime, open_runtime


@st.cache_resource(show_spinner="Opening the data directory…")
def get_runtime() -> Runtime:
    """One runtime (graph, checkpointer, store) per server process, shared by all sessions."""
    return open_runtime()
