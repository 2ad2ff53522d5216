"""Stand-in chat page so the inspector can be run and browser-tested on this branch.

The real chat page (issue 4) replaces this file at merge; it keeps the same contract: the user and
thread live in the URL query params ``user`` and ``thread``.
"""

from __future__ import annotations

import streamlit as st

from memory_agent import conversation, threads
from ui_common import get_runtime

st.set_page_config(page_title="Memory Agent", page_icon="💬")
runtime = get_runtime()
user = st.query_params.get("user") or "demo"
thread = threads.open_thread(runtime, user, st.query_params.get("thread")).thread_id
st.query_params.update(user=user, thread=thread)

st.title("Memory Agent")
for message in threads.messages(runtime, user, thread):
    if message.type in ("human", "ai") and message.content:
        with st.chat_message("user" if message.type == "human" else "assistant"):
            st.markdown(message.content)

if text := st.chat_input("Tell me about yourself"):
    with st.chat_message("user"):
        st.markdown(text)
    with st.chat_message("assistant"):
        st.write_stream(
            f"_{part}_\n\n" if isinstance(part, conversation.MemoryNote) else part
            for part in conversation.send(runtime, user, thread, text)
        )
