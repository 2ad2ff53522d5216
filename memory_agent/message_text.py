"""A message's text as a person reads it: its text blocks joined so that words stay apart.

A message's content is a string or a list of content blocks. langchain-core 1.8's
``BaseMessage.text`` keeps the strings and ``{"type": "text"}`` blocks and joins them with
nothing between, so a reply in two blocks, "I saved that you work at Acme" and "and that you
love sailing", reads "Acmeand". Blocks are whole parts of a message, not stream deltas: a
streamed reply's chunks are merged into one block per part before it is stored (deltas of one
part share its index), agent-chat-ui sends what the user typed as one text block, and a model may
answer in several (text around a tool call, an OpenAI Responses API reply's output items). So
where two blocks meet with no white space between, a space goes in, except before closing
punctuation, after an opening bracket or quote, and between characters of scripts written
without spaces (Chinese, Japanese, Thai).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.messages import BaseMessage

_CLOSING = set(".,;:!?…%)]}»”’")
"""Punctuation that leans on the word before it: no space goes in before it."""

_OPENING = set("([{«“‘¿¡")
"""Punctuation that leans on the word after it: no space goes in after it."""

_UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "FULLWIDTH", "THAI", "LAO")
"""Unicode name prefixes of characters in scripts that put no spaces between words."""


def message_text(message: BaseMessage | Mapping[str, Any]) -> str:
    """The text of a message (a LangGraph Server sends messages as dicts), blocks joined."""
    content = message.get("content") if isinstance(message, Mapping) else message.content
    return content_text(content)


def content_text(content: Any) -> str:
    """The text of message content: a string as it is, else its text blocks, joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return join_blocks(
        block if isinstance(block, str) else block["text"]
        for block in content
        if isinstance(block, str)
        or (
            isinstance(block, Mapping)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        )
    )


def join_blocks(texts: Iterable[str]) -> str:
    """Join text blocks as one text, with a space where two words would otherwise touch."""
    joined = ""
    for text in texts:
        if not text:
            continue
        if joined and _needs_space(joined[-1], text[0]):
            joined += " "
        joined += text
    return joined


def _needs_space(before: str, after: str) -> bool:
    if before.isspace() or after.isspace():
        return False
    if after in _CLOSING or before in _OPENING:
        return False
    return not (_unspaced(before) or _unspaced(after))


def _unspaced(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)
