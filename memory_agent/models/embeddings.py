"""Embeddings for the memory index: WordLlama (offline, semantic), hashing, or an OpenAI server.

``wordllama`` (the default) is a 256-dim static word embedding whose weights and tokenizer ship
inside the ``wordllama`` wheel: no torch, no download, ~0.03 ms a query. It understands meaning
("boating" finds "sailing", "where do I live" finds "lives in Lisbon"), though its scores run lower
than a transformer's (0.1–0.4 for a right match). ``hash`` is lexical feature hashing, kept for
data built with it. ``openai`` / ``openai:<model>`` asks an OpenAI-compatible embeddings server,
which may be another server than the chat model's (``MEMORY_AGENT_EMBEDDING_BASE_URL``).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from memory_agent.configuration import HASH_EMBEDDING, WORDLLAMA_EMBEDDING, Configuration

WORDLLAMA_DIMS = 256
_WORDLLAMA_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_WORDLLAMA_WEIGHTS = "weights/l2_supercat_256.safetensors"

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


class EmbeddingServerError(RuntimeError):
    """The embeddings server failed; the message says so, apart from the chat model's faults."""


class EmbeddingSizeMismatch(RuntimeError):
    """The embedding returns vectors of another size than the configured one."""


class WordLlamaEmbeddings(Embeddings):
    """WordLlama's packaged 256-dim embedding: mean of token vectors, L2-normalised.

    Loaded from the wheel's own files, not with ``WordLlama.load()``: that looks for the tokenizer
    in a folder the wheel does not have and then tries to download it, and importing the
    ``wordllama`` package switches the root logger to INFO (every HTTP request would be logged).
    """

    dims = WORDLLAMA_DIMS

    def __init__(self) -> None:
        self._tokenizer, self._table = _wordllama_files()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """The vector of one query."""
        return self.embed_array([text])[0].tolist()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """The vectors as one float32 matrix, a row per text (no Python lists in between)."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        for row, encoding in enumerate(encodings):
            ids = [i for i in encoding.ids if i < len(self._table)]
            if ids:
                out[row] = self._table[ids].astype(np.float32).mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        out[empty, 0], norms[empty] = 1.0, 1.0  # no tokens: a fixed unit vector, cosine defined
        return out / norms


@functools.cache
def _wordllama_files() -> tuple[Any, np.ndarray]:
    """The tokenizer and the token table (float16, as shipped: 16 MB), read once per process."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The wordllama embedding needs the wordllama package: pip install wordllama "
            "(or set MEMORY_AGENT_EMBEDDING=hash)"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    tokenizer = Tokenizer.from_file(str(root / _WORDLLAMA_TOKENIZER))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    with safe_open(str(root / _WORDLLAMA_WEIGHTS), framework="np") as weights:
        table = weights.get_tensor("embedding.weight")
    return tokenizer, table


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


class ServerEmbeddings(Embeddings):
    """An OpenAI-compatible embeddings server whose failures name the embedding server.

    A 501 from a llama.cpp server started without ``--embeddings`` is the embedding's fault, not
    the chat model's: the sentence says which server and which setting to check.
    """

    def __init__(self, settings: Configuration) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.base_url = settings.embedding_base_url or settings.base_url
        extra = {}
        if settings.embedding_encoding_format:
            extra["encoding_format"] = settings.embedding_encoding_format
        self._client = OpenAIEmbeddings(
            model=settings.embedding_server_model or "",
            base_url=self.base_url,
            api_key=settings.embedding_api_key or settings.api_key or "not-needed",
            # The default tokenises with tiktoken, which downloads its tables at run time.
            check_embedding_ctx_length=False,
            timeout=settings.request_timeout,
            max_retries=1,
            model_kwargs=extra,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, from the server."""
        return self._ask(self._client.embed_documents, texts)

    def embed_query(self, text: str) -> list[float]:
        """The vector of one query, from the server."""
        return self._ask(self._client.embed_query, text)

    def _ask(self, call: Callable[[Any], Any], payload: Any) -> Any:
        try:
            return call(payload)
        except Exception as error:
            raise EmbeddingServerError(describe_embedding_error(error, self.base_url)) from None


def describe_embedding_error(error: BaseException, base_url: str | None) -> str:
    """One line about an embeddings failure, with the fix that fits it."""
    where = base_url or "api.openai.com"
    status = getattr(error, "status_code", None)
    if status in (404, 501):
        fix = (
            "it does not serve embeddings: point MEMORY_AGENT_EMBEDDING_BASE_URL at one that does "
            "(llama.cpp needs --embeddings), or set MEMORY_AGENT_EMBEDDING=wordllama"
        )
    elif status == 401:
        fix = "it rejected the key: check MEMORY_AGENT_EMBEDDING_API_KEY"
    elif status == 400:
        fix = (
            "it refused the request: check MEMORY_AGENT_EMBEDDING_MODEL, or set "
            "MEMORY_AGENT_EMBEDDING_ENCODING_FORMAT=float"
        )
    elif status is not None:
        fix = f"it answered {status}: retry in a moment"
    else:
        fix = "it could not be reached: check MEMORY_AGENT_EMBEDDING_BASE_URL"
    detail = " ".join(str(error).split())[:200]
    return f"The embedding server at {where} failed ({detail}): {fix}."


def make_embeddings(settings: Configuration) -> Embeddings:
    """The embedding ``settings.embedding`` names: ``wordllama``, ``hash`` or an OpenAI server."""
    if settings.embedding == WORDLLAMA_EMBEDDING:
        return WordLlamaEmbeddings()
    if settings.embedding == HASH_EMBEDDING:
        return HashingEmbeddings(settings.embedding_dims)
    return ServerEmbeddings(settings)


def check_embedding_size(embeddings: Embeddings, settings: Configuration) -> None:
    """Probe the vector size once at start-up; a mismatch is one line naming both sizes."""
    size = len(embeddings.embed_query("probe"))
    if size != settings.embedding_dims:
        raise EmbeddingSizeMismatch(
            f"The embedding {settings.embedding!r} returns {size}-dimensional vectors, but "
            f"MEMORY_AGENT_EMBEDDING_DIMS is {settings.embedding_dims}: set "
            f"MEMORY_AGENT_EMBEDDING_DIMS={size} (and the store's dims in langgraph.json)."
        )
