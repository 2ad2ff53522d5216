"""Memory Agent's router: the chat and the memory inspector as pages of one app.

``streamlit run app.py`` serves ``/`` (the chat) and ``/inspector``; both read ``?user=`` and
``?thread=`` (the inspector also ``?tab=``), so a link, a reload or a second tab opens the same
view. ``/Inspector`` is kept for links made before the inspector had its own path.
"""

import streamlit as st

from ui import CHAT_PAGE, INSPECTOR_PAGE

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
page.run()
