"""The graph's state: the conversation, as LangGraph messages."""

from __future__ import annotations

from typing import Annotated

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages
from typing_extensions import TypedDict


class State(TypedDict):
    """The messages of one conversation; ``add_messages`` appends, or replaces by id."""

    messages: Annotated[list[AnyMessage], add_messages]
