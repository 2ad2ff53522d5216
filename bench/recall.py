"""Memory recall (the search ``call_model`` runs) at 1k, 10k and 100k memories of one user.

Ours is ``memories.search_memories`` on the SQLite store, which answers a query search from its
in-memory vector copy (``memory_agent/backends/vectors.py``). The floor is the fastest exact
search there is: a float32 matrix of the same vectors held in memory, norms precomputed, one
matrix product and a partial sort (the query is embedded the same way in both). Also measured:
the store's own SQL brute force (what ran before), the copy's cold build in a new process, a
search right after a write from this process (applied as a delta) and from another process
(a rebuild), the copy's memory per 10k memories, and recall@10 against exact float64 cosine.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import numpy as np
from langgraph.store.base import PutOp, SearchOp

from bench.common import Figure, ms, percentile, samples
from memory_agent import memories
from memory_agent.backends.sqlite import open_sqlite
from memory_agent.configuration import Configuration
from memory_agent.models.embeddings import make_embeddings

SIZES = {"full": [1_000, 10_000, 100_000], "tiny": [200]}
QUERIES = {"full": 300, "tiny": 5}
"""Queries per figure: a p95 of 60 moved by a third between runs; of 300, by a few percent."""
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
VERBS = ["likes", "loves", "hates", "is learning", "talks about", "dreams of"]
USER = "bench-user"
PREFIX = f"memories.{USER}"


def _content(rng: random.Random, i: int) -> str:
    return f"User {rng.choice(VERBS)} {rng.choice(TOPICS)} and {rng.choice(TOPICS)} (note {i})"


def _load(store, count: int, rng: random.Random) -> None:
    """``count`` memories with the fields the app writes (times, source), in batches."""
    namespace = memories.memory_namespace(USER)
    at = memories.now_iso()
    for start in range(0, count, 1_000):
        store.batch(
            [
                PutOp(
                    namespace,
                    f"m{i}",
                    {
                        "content": _content(rng, i),
                        "context": "benchmark",
                        "source": "import",
                        "created_at": at,
                        "updated_at": at,
                    },
                )
                for i in range(start, min(count, start + 1_000))
            ]
        )


def _stored_vectors(store) -> tuple[list[str], np.ndarray]:
    rows = store.conn.execute(
        "SELECT key, embedding FROM store_vectors WHERE prefix = ?", (PREFIX,)
    ).fetchall()
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return [r[0] for r in rows], matrix


class Floor:
    """The in-memory exact floor: float32 matrix, precomputed norms, matmul + partial sort."""

    def __init__(self, matrix: np.ndarray, embed) -> None:
        self.matrix = np.ascontiguousarray(matrix)
        self.norms = np.linalg.norm(self.matrix, axis=1)
        self.embed = embed

    def search(self, query: str, limit: int) -> np.ndarray:
        vector = np.asarray(self.embed(query), dtype=np.float32)
        scores = self.matrix @ vector / (self.norms * np.linalg.norm(vector))
        top = np.argpartition(-scores, limit)[:limit]
        return top[np.argsort(-scores[top])]


def _interleaved(ours, floor, stream, count: int) -> tuple[list[float], list[float]]:
    """Seconds per call of each, taken in turns on the same queries: load hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for number in range(count + 5):
        query = next(stream)
        for action, measured in ((ours, times[0]), (floor, times[1])):
            start = time.perf_counter()
            action(query)
            if number >= 5:  # warm-up
                measured.append(time.perf_counter() - start)
    return times


def _numpy_search(matrix: np.ndarray, embed, query: str, limit: int) -> np.ndarray:
    """Numpy cosine with the norms computed per query: the floor ``bench/postgres.py`` uses."""
    vector = np.asarray(embed(query), dtype=np.float32)
    scores = matrix @ vector / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(vector) + 1e-12)
    top = np.argpartition(-scores, limit)[:limit]
    return top[np.argsort(-scores[top])]


def _recall_at(store, keys: list[str], matrix: np.ndarray, embed, queries, limit: int) -> float:
    """Share of the exact top ``limit`` (float64 cosine; ties count as hits) that ours returns."""
    exact = matrix.astype(np.float64)
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    row_of = {key: row for row, key in enumerate(keys)}
    hits = 0
    for query in queries:
        vector = np.asarray(embed(query), dtype=np.float64)
        scores = exact @ (vector / np.linalg.norm(vector))
        tenth = np.sort(scores)[-limit]
        ours = memories.search_memories(store, USER, query, limit)
        hits += sum(scores[row_of[m.key]] >= tenth - 1e-6 for m in ours[:limit])
    return hits / (limit * len(queries))


def _measure(size: int, count: int, rng: random.Random) -> list[Figure]:
    settings = Configuration.from_runnable_config()
    embed = make_embeddings(settings).embed_query
    limit = settings.recall_limit
    queries = [f"do I like {rng.choice(TOPICS)}?" for _ in range(4 * count + 10)]
    stream = iter(queries * 4)
    label = f"{size:,} memories"
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        persistence = open_sqlite(Path(tmp), settings)
        store = persistence.store
        try:
            _load(store, size, rng)
            keys, matrix = _stored_vectors(store)
            floor = Floor(matrix, embed)
            memories.search_memories(store, USER, "warm up", limit)  # the copy is built here
            ours, base = _interleaved(
                lambda query: memories.search_memories(store, USER, query, limit),
                lambda query: floor.search(query, limit),
                stream,
                count,
            )
            for pct in (50, 95):
                value, baseline = percentile(ours, pct), percentile(base, pct)
                figures.append(
                    Figure(
                        "memory recall",
                        f"{label}, p{pct}",
                        ms(value),
                        "exact float32 matrix in memory, norms precomputed",
                        ms(baseline),
                        "ms",
                        target="p95 ≤ 2× floor" if pct == 95 else "",
                        met=value <= 2 * baseline if pct == 95 else None,
                    )
                )
            score = _recall_at(store, keys, matrix, embed, queries[:count], limit)
            figures.append(
                Figure(
                    "memory recall",
                    f"{label}, recall@{limit}",
                    score,
                    "exact float64 cosine",
                    1.0,
                    "",
                    target="= 1.0",
                    met=score == 1.0,
                )
            )
            figures += _sql_and_coherence(store, tmp, settings, floor, label, stream, limit, count)
        finally:
            persistence.close()
    return figures


def _sql_and_coherence(store, tmp, settings, floor, label, stream, limit, count) -> list[Figure]:
    """The store's SQL search, the copy's cold build, and searches after writes."""
    namespace = memories.memory_namespace(USER)
    # A filter every memory passes sends the search down the store's own SQL path.
    sql_op = lambda: store.batch(  # noqa: E731
        [SearchOp(namespace, {"source": "import"}, limit, 0, next(stream))]
    )
    sql = samples(sql_op, max(5, count // 4), warmup=1)
    floor_p50 = percentile(samples(lambda: floor.search(next(stream), limit), count), 50)
    own = samples(lambda: _write_then_search(store, store, stream, limit), max(5, count // 4))
    other = open_sqlite(Path(tmp), settings)
    try:
        cross = samples(
            lambda: _write_then_search(other.store, store, stream, limit), max(3, count // 8), 1
        )
    finally:
        other.close()
    cold = open_sqlite(Path(tmp), settings)
    try:
        start = time.perf_counter()
        memories.search_memories(cold.store, USER, next(stream), limit)
        first = time.perf_counter() - start
        warm = percentile(
            samples(lambda: memories.search_memories(cold.store, USER, next(stream), limit), 9), 50
        )
        copy_bytes = cold.store.vectors.nbytes
        size = cold.store.count_items(memories.memory_namespace(USER))
    finally:
        cold.close()
    raw_bytes = size * floor.matrix.shape[1] * 4
    per_10k = 10_000 / max(size, 1) / 1e6
    floor_name = "in-memory floor, p50"
    return [
        Figure("memory recall", f"{label}, store's SQL brute force, p50", ms(percentile(sql, 50)),
               floor_name, ms(floor_p50), "ms"),
        Figure("memory recall", f"{label}, write here then search, p50", ms(percentile(own, 50)),
               floor_name, ms(floor_p50), "ms", target="report"),
        Figure("memory recall", f"{label}, write by another process then search, p50",
               ms(percentile(cross, 50)), floor_name, ms(floor_p50), "ms", target="report"),
        Figure("memory recall", f"{label}, first search in a new process (cold build)",
               ms(first), "the next, warm search", ms(warm), "ms", target="report"),
        Figure("memory recall", f"{label}, copy's memory per 10k memories",
               copy_bytes * per_10k, "raw float32 vectors per 10k", raw_bytes * per_10k, "MB",
               target="report"),
    ]  # fmt: skip


def _write_then_search(writer, reader, stream, limit: int) -> None:
    """One memory written (with its history event) through ``writer``, then a recall."""
    memories.upsert_memory(writer, USER, f"User mentioned {next(stream)}", "", source="agent")
    memories.search_memories(reader, USER, next(stream), limit)


def run(scale: str = "full") -> list[Figure]:
    rng = random.Random(7)
    figures: list[Figure] = []
    for size in SIZES[scale]:
        figures += _measure(size, QUERIES[scale], rng)
    return figures
