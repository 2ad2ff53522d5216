"""A message's text blocks read as one text: words at a block boundary stay apart."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from memory_agent.message_text import content_text, join_blocks, message_text


def test_two_reply_blocks_do_not_fuse_their_words() -> None:
    reply = AIMessage(content=["I saved that you work at Acme", "and that you love sailing."])
    assert reply.text == "I saved that you work at Acmeand that you love sailing."  # the bug
    assert message_text(reply) == "I saved that you work at Acme and that you love sailing."


@pytest.mark.parametrize(
    ("blocks", "read"),
    [
        (["Hello", "world"], "Hello world"),
        (["Hello ", "world"], "Hello world"),  # the space is already there: none added
        (["Hello", " world"], "Hello world"),
        (["First part.", "Second part."], "First part. Second part."),
        (["Paragraph one.\n\n", "Paragraph two."], "Paragraph one.\n\nParagraph two."),
        (["You work at Acme", "."], "You work at Acme."),
        (["Really", "?!"], "Really?!"),
        (["I said (", "twice)"], "I said (twice)"),
        (["我喜欢", "喝茶。"], "我喜欢喝茶。"),  # Chinese puts no space between words
        (["東京に住んでいます", "。"], "東京に住んでいます。"),
        (["", "only", ""], "only"),
        ([], ""),
    ],
)
def test_blocks_join_as_a_person_reads_them(blocks: list[str], read: str) -> None:
    assert join_blocks(blocks) == read


def test_only_text_blocks_count_as_langchain_counts_them() -> None:
    content = [
        {"type": "reasoning", "reasoning": "the user wants a greeting"},
        {"type": "text", "text": "Hi Zed!", "index": 0},
        {"type": "tool_use", "id": "t1", "name": "upsert_memory", "input": {}},
        "Saved",
        {"type": "text", "text": 42},  # not text: left out, as BaseMessage.text leaves it out
        {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}},
    ]
    assert content_text(content) == "Hi Zed! Saved"
    assert content_text("plain text") == "plain text"
    assert content_text(None) == ""


def test_a_message_from_a_langgraph_server_is_a_dict() -> None:
    sent = {"type": "human", "content": [{"type": "text", "text": "I love"}, "sailing"]}
    assert message_text(sent) == "I love sailing"
    assert message_text(HumanMessage(content=[{"type": "text", "text": "hi"}])) == "hi"


def test_a_streamed_reply_is_one_block_per_part_so_words_split_by_deltas_stay_whole() -> None:
    """Deltas of one part share its index and merge before the reply is stored or joined."""
    parts = [("I work at Ac", 0), ("me", 0), ("and sail", 1), ("ing.", 1)]
    chunks = [AIMessageChunk(content=[{"type": "text", "text": t, "index": i}]) for t, i in parts]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert message_text(merged) == "I work at Acme and sailing."
