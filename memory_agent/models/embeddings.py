"""Embeddings for the memory index: an offline lexical hashing embedding, or an OpenAI one.

The hashing embedding needs no download and no network. It is lexical: memories that share words
(or word stems) with the query score high; synonyms ("sailing" vs "boating") do not. Configure
``MEMORY_AGENT_EMBEDDING=openai:<model>`` for semantic recall.
"""

from __future__ import annotations

import math
import re
import zlib

from langchain_core.embeddings import Embeddings

from memory_agent.configuration import HASH_EMBEDDING, Configuration

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "i",
        "i'm",
        "im",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "user",
        "user's",
        "users",
        "was",
        "we",
        "what",
        "when",
        "where",
        "who",
        "with",
        "you",
        "your",
    ]
)


class HashingEmbeddings(Embeddings):
    """Feature hashing of words and their character trigrams, L2-normalised; scores are 0 to 1."""

    def __init__(self, dims: int = 256) -> None:
        self.dims = dims

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """The vector of one query."""
        return self._embed(text)

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dims
        for word in _WORD.findall(text.lower()):
            if word in _STOPWORDS:
                continue
            self._add(vector, "w:" + word, 1.0)
            padded = f"<{word}>"
            for i in range(len(padded) - 2):
                self._add(vector, "c:" + padded[i : i + 3], 0.35)
        norm = math.sqrt(sum(v * v for v in vector))
        if not norm:  # no content words: a fixed unit vector keeps cosine defined
            vector[0], norm = 1.0, 1.0
        return [v / norm for v in vector]

    def _add(self, vector: list[float], feature: str, weight: float) -> None:
        h = zlib.crc32(feature.encode())
        vector[h % self.dims] += weight


def make_embeddings(settings: Configuration) -> Embeddings:
    """The embedding named by ``settings.embedding``: ``hash`` or ``openai:<model>``."""
    if settings.embedding == HASH_EMBEDDING:
        return HashingEmbeddings(settings.embedding_dims)
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(
        model=settings.embedding.removeprefix("openai:"),
        base_url=settings.base_url,
        api_key=settings.api_key or "not-needed",
        # The default tokenises with tiktoken, which downloads its tables at run time.
        check_embedding_ctx_length=False,
        timeout=settings.request_timeout,
        max_retries=1,
    )
