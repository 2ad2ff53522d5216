"""Recall finds memories by meaning with the default offline embedding, on every backend."""

from __future__ import annotations

import pytest

from memory_agent import memories
from memory_agent.runtime import Runtime

pytestmark = pytest.mark.both_backends

MEMORIES = [
    "User loves sailing",
    "User has a dog called Rex",
    "User lives in Lisbon",
    "User works as a nurse at Globex",
    "User's name is 李明",
    "User likes green tea",
    "User plays the piano",
    "User is allergic to peanuts",
    "User's daughter is called Mia",
    "User is flying to Tokyo next week",
]

# (what the user says, the memory recall must rank first), sharing no word with it in most cases
PARAPHRASES = [
    ("I enjoy being out on a boat", "User loves sailing"),
    ("do I have any pets?", "User has a dog called Rex"),
    ("which city do I live in?", "User lives in Lisbon"),
    ("李明", "User's name is 李明"),
    ("what instrument do I play?", "User plays the piano"),
    ("music", "User plays the piano"),
    ("what drink do I like?", "User likes green tea"),
    ("food allergies", "User is allergic to peanuts"),
    ("my child", "User's daughter is called Mia"),
    ("travel plans", "User is flying to Tokyo next week"),
]


@pytest.fixture
def recalled(runtime: Runtime):
    for content in MEMORIES:
        memories.upsert_memory(runtime.store, "sem", content, "", source="inspector")
    return lambda query: memories.search_memories(runtime.store, "sem", query, limit=3)


@pytest.mark.parametrize(("query", "expected"), PARAPHRASES)
def test_a_paraphrase_or_synonym_recalls_the_memory_it_means(
    recalled, query: str, expected: str
) -> None:
    found = recalled(query)
    assert found[0].content == expected, [(m.content, round(m.score, 3)) for m in found]
    assert found[0].score > found[1].score


def test_the_exact_text_scores_one(recalled) -> None:
    [first, *_] = recalled("User plays the piano")
    assert first.content == "User plays the piano"
    assert first.score == pytest.approx(1.0, abs=1e-3)
