"""Memory recall (the search ``call_model`` runs) at 1k, 10k and 100k memories, p50 and p95."""

from __future__ import annotations

import random

import numpy as np
from langgraph.store.base import PutOp

from bench.agent_runs import sqlite_agent
from bench.common import Figure, ms, percentile, samples
from memory_agent import memories
from memory_agent.configuration import Configuration
from memory_agent.models.embeddings import make_embeddings

SIZES = {"full": [1_000, 10_000, 100_000], "tiny": [200]}
QUERIES = {"full": 40, "tiny": 5}
TOPICS = [
    "sailing",
    "coffee",
    "tea",
    "acme",
    "paris",
    "chess",
    "jazz",
    "rowing",
    "hiking",
    "dogs",
    "cats",
    "pizza",
    "sushi",
    "berlin",
    "python",
    "rust",
    "music",
    "piano",
    "guitar",
    "football",
    "tennis",
    "gardening",
    "cooking",
    "poetry",
    "chemistry",
    "astronomy",
]
USER = "bench-user"


def _load(store, count: int, rng: random.Random) -> None:
    namespace = memories.memory_namespace(USER)
    for start in range(0, count, 1_000):
        store.batch(
            [
                PutOp(
                    namespace,
                    f"m{i}",
                    {
                        "content": f"User likes {rng.choice(TOPICS)} + {rng.choice(TOPICS)} ({i})",
                        "context": "benchmark",
                        "source": "import",
                    },
                )
                for i in range(start, min(count, start + 1_000))
            ]
        )


def _numpy_search(matrix: np.ndarray, embed, query: str, limit: int) -> np.ndarray:
    """The floor: embed the query, cosine against every vector in memory, take the top ``limit``."""
    vector = np.asarray(embed(query), dtype=np.float32)
    scores = matrix @ vector / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(vector) + 1e-12)
    top = np.argpartition(-scores, limit)[:limit]
    return top[np.argsort(-scores[top])]


def _measure(size: int, count: int, rng: random.Random) -> tuple[list[float], list[float]]:
    """Seconds per recall for ``size`` memories: ours, and numpy over the same vectors."""
    settings = Configuration.from_runnable_config()
    embed = make_embeddings(settings).embed_query
    limit = settings.recall_limit
    queries = iter([f"do I like {rng.choice(TOPICS)}?" for _ in range(2 * count + 10)])
    with sqlite_agent() as (_, persistence):
        store = persistence.store
        _load(store, size, rng)
        rows = store.conn.execute(
            "SELECT embedding FROM store_vectors WHERE prefix = ?", (f"memories.{USER}",)
        ).fetchall()
        matrix = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32)
        matrix = matrix.reshape(len(rows), -1)
        ours = samples(lambda: memories.search_memories(store, USER, next(queries), limit), count)
        floor = samples(lambda: _numpy_search(matrix, embed, next(queries), limit), count)
    return ours, floor


def run(scale: str = "full") -> list[Figure]:
    rng = random.Random(7)
    figures = []
    for size in SIZES[scale]:
        ours, floor = _measure(size, QUERIES[scale], rng)
        for pct in (50, 95):
            checked = size == 10_000 and pct == 95
            figures.append(
                Figure(
                    "memory recall",
                    f"{size:,} memories, p{pct}",
                    ms(percentile(ours, pct)),
                    "numpy brute-force cosine in memory",
                    ms(percentile(floor, pct)),
                    "ms",
                    target="p95 ≤ 10 ms at 10k" if checked else "",
                    met=percentile(ours, 95) <= 0.010 if checked else None,
                )
            )
    return figures
