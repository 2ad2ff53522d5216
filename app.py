"""Memory Agent's router: the chat and the memory inspector as pages of one app.

``streamlit run app.py`` serves ``/`` (the chat) and ``/inspector``; both read ``?user=`` and
``?thread=`` (the inspector also ``?tab=``), so a link, a reload or a second tab opens the same
view. ``/Inspector`` is kept for links made before the inspector had its own path.
"""

import logging

import streamlit as st

from memory_agent.backends import faults
from ui import CHAT_PAGE, INSPECTOR_PAGE, get_runtime

page = st.navigation(
    [
        # No page icon: a :material/…: one becomes a favicon fetched from Google's servers.
        st.Page(CHAT_PAGE, title="Chat", default=True),
        st.Page(INSPECTOR_PAGE, title="Memory inspector", url_path="inspector"),
        st.Page(
            INSPECTOR_PAGE, title="Memory inspector", url_path="Inspector", visibility="hidden"
        ),
    ],
    position="hidden",  # the pages link to each other with the user and conversation
)
try:
    page.run()
    # Built once the page is drawn (runtime.py), so the first message does not wait for it.
    _ = get_runtime().graph
except Exception as error:  # a damaged, foreign, full or locked store: one line, not a traceback
    sentence = faults.describe(error, get_runtime().location)
    if sentence is None:
        raise
    logging.getLogger(__name__).warning("Storage fault: %s", sentence)  # expected: no traceback
    st.error(sentence, icon=":material/database:")
