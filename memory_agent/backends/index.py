"""The memory store's vector index: what it embeds, which embedding built it, never two mixed."""

from __future__ import annotations

from langgraph.store.base import BaseStore

from memory_agent import memories
from memory_agent.backends.persistence import Persistence
from memory_agent.configuration import HASH_EMBEDDING, WORDLLAMA_EMBEDDING, Configuration
from memory_agent.models.embeddings import check_embedding_size

EMBEDDED_FIELDS = ["content"]
"""What every backend embeds: only the fact itself. The context is provenance, and a second vector
per memory doubled recall time (28 ms vs 17 ms at 10k memories) for matches people did not expect.
SqliteStore reads this list under "text_fields", PostgresStore under "fields"; under the other key
either would silently embed the whole JSON value."""
META_NAMESPACE = ("memory_agent",)
INDEX_META_KEY = "index"
AUTO_REINDEX_LIMIT = 20_000
"""Up to this many memories, data built with the old default (``hash``) is re-embedded with the
new one (``wordllama``) at start-up: about 1 s per 10k memories. Past it, the app says what to
run instead of making the first page load wait."""


class EmbeddingMismatch(RuntimeError):
    """The store's vectors were built by another embedding than the one configured."""


def check_index_embedding(store: BaseStore, settings: Configuration) -> None:
    """Record which embedding built the index; refuse to mix vectors from another one.

    The embedding's vector size is probed first, so a wrong ``MEMORY_AGENT_EMBEDDING_DIMS`` is
    one line at start-up, not a failure on the first write.
    """
    check_embedding_size(store.embeddings, settings)  # type: ignore[attr-defined]
    wanted = {"embedding": settings.embedding, "dims": settings.embedding_dims}
    item = store.get(META_NAMESPACE, INDEX_META_KEY)
    if item is None:
        store.put(META_NAMESPACE, INDEX_META_KEY, wanted, index=False)
    elif item.value != wanted and _is_old_default(item.value, settings) and _few_memories(store):
        memories.reindex(store)
        store.put(META_NAMESPACE, INDEX_META_KEY, wanted, index=False)
    elif item.value != wanted:
        raise EmbeddingMismatch(
            f"The memories were indexed with embedding {item.value['embedding']!r} "
            f"({item.value['dims']} dims), but {settings.embedding!r} "
            f"({settings.embedding_dims} dims) is configured. Run "
            "`python -m memory_agent reindex` to re-embed every memory with it."
        )


def _is_old_default(recorded: dict, settings: Configuration) -> bool:
    """Built with ``hash`` (the default before ``wordllama``), now the default: same size."""
    return (recorded.get("embedding"), recorded.get("dims")) == (HASH_EMBEDDING, 256) and (
        settings.embedding,
        settings.embedding_dims,
    ) == (WORDLLAMA_EMBEDDING, 256)


def _few_memories(store: BaseStore) -> bool:
    """At most ``AUTO_REINDEX_LIMIT`` memories in all: quick enough to re-embed at start-up."""
    count = 0
    for namespace in store.list_namespaces(prefix=(memories.MEMORY_NAMESPACE,), limit=1_000_000):
        count += len(store.search(namespace, limit=AUTO_REINDEX_LIMIT + 1 - count))
        if count > AUTO_REINDEX_LIMIT:
            return False
    return True


def reindex(persistence: Persistence, settings: Configuration) -> int:
    """Re-embed every memory with the configured embedding and record it; returns the count."""
    check_embedding_size(persistence.store.embeddings, settings)  # type: ignore[attr-defined]
    if persistence.resize_index is not None:
        persistence.resize_index(settings.embedding_dims)
    count = memories.reindex(persistence.store)
    persistence.store.put(
        META_NAMESPACE,
        INDEX_META_KEY,
        {"embedding": settings.embedding, "dims": settings.embedding_dims},
        index=False,
    )
    return count
