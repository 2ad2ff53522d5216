"""An in-memory copy of a SQLite store's vectors, one float32 matrix per namespace, kept coherent.

``SqliteStore`` searches by brute force in SQL (``vec_distance_cosine`` over every row, then a join
and a window function): 19 ms at 10k memories, 185 ms at 100k. The same exact cosine over a
normalised float32 matrix in memory is 10–50× faster, but a copy must never answer with vectors
another process or app server has since changed.

Coherence comes from a per-namespace version written in the same transaction as the vectors:
every write bumps ``memory_agent_vector_versions.version`` for each namespace it touches and logs
the keys it wrote under that version in ``memory_agent_vector_changes``. (SQLite's
``data_version`` would not do: it changes on every commit to the file, whoever's memory it was.)
A search reads the version in its own read transaction; a copy at an older version first re-reads
the vectors of the logged keys, whichever process wrote them, or is rebuilt when the log no
longer reaches back that far (it keeps the last ``LOGGED_VERSIONS`` writes of each namespace).

The copy also keeps each item's stored row (value and times), read with its vector and renewed
by the same version log (every put or delete of the namespace bumps it), so a search reads
SQLite only for the version check: the items' own read was most of a search at 1k and 10k.

One vector per key (what ``index.EMBEDDED_FIELDS`` gives); a namespace with several is left to
the store's SQL search. Methods run inside the store's transaction (``cur``), under its lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

VERSIONS_TABLE = "memory_agent_vector_versions"
CHANGES_TABLE = "memory_agent_vector_changes"
LOGGED_VERSIONS = 1_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
"""Memory for all copies together (≈ 500k vectors of 256 dims); least recently used go first."""

ItemRow = tuple[Any, Any, Any]
"""An item as the store holds it: its value (JSON text), created_at and updated_at."""
_ROWS = (
    "SELECT v.key, v.embedding, s.value, s.created_at, s.updated_at FROM store_vectors v "
    "JOIN store s ON s.prefix = v.prefix AND s.key = v.key WHERE v.prefix = ?"
)
"""Each vector of a namespace with its item (a vector whose item is gone is not recalled)."""

_TABLES = [
    f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} "
    "(prefix TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID",
    f"CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} "
    "(prefix TEXT, version INTEGER, key TEXT, PRIMARY KEY (prefix, version, key)) WITHOUT ROWID",
]


def setup(conn: Any) -> None:
    """Create the tables once; every namespace that already has vectors starts at version 0."""
    found = conn.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
        (VERSIONS_TABLE, CHANGES_TABLE),
    ).fetchone()[0]
    if found == len(_TABLES):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _TABLES:
            conn.execute(statement)
        conn.execute(
            f"INSERT OR IGNORE INTO {VERSIONS_TABLE} (prefix, version) "
            "SELECT DISTINCT prefix, 0 FROM store_vectors"
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@dataclass
class NamespaceVectors:
    """One namespace's vectors (a matrix with spare capacity, rows L2-normalised) and items."""

    version: int
    dims: int
    matrix: np.ndarray
    keys: list[str] = field(default_factory=list)
    """Row → key."""
    row_of: dict[str, int] = field(default_factory=dict)
    items: dict[str, ItemRow] = field(default_factory=dict)
    decoded: dict[str, Any] = field(default_factory=dict)
    """What the store made of an item row when a search first returned it (value, times)."""
    item_bytes: int = 0

    @classmethod
    def build(cls, version: int, rows: Sequence[tuple[Any, ...]]) -> NamespaceVectors | None:
        """A copy of ``(key, float32 blob, *item row)`` rows; ``None`` if a key has several."""
        dims = len(rows[0][1]) // 4 if rows else 0
        keys = [row[0] for row in rows]
        row_of = {key: n for n, key in enumerate(keys)}
        if len(row_of) != len(keys) or any(len(row[1]) != 4 * dims for row in rows):
            return None
        matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
        entry = cls(version, dims, _normalised(matrix.reshape(len(rows), dims)), keys, row_of)
        for key, _, *item in rows:
            entry._keep(key, (item[0], item[1], item[2]))
        return entry

    @property
    def size(self) -> int:
        """How many vectors the copy holds."""
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """The memory the matrix and the item rows hold, spare capacity included."""
        return self.matrix.nbytes + self.item_bytes

    def replace(self, keys: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> bool:
        """Drop the vectors of ``keys``, then add ``rows`` as now stored; False if it cannot."""
        for key in keys:
            if key in self.row_of:
                self._remove(self.row_of.pop(key))
                self._forget(key)
        for key, blob, *item in rows:
            if key in self.row_of or (self.size and len(blob) != 4 * self.dims):
                return False
            self._append(key, np.frombuffer(blob, dtype=np.float32))
            self._keep(key, (item[0], item[1], item[2]))
        return True

    def _keep(self, key: str, item: ItemRow) -> None:
        self.items[key] = item
        self.item_bytes += _row_bytes(key, item)

    def _forget(self, key: str) -> None:
        self.decoded.pop(key, None)
        item = self.items.pop(key, None)
        if item is not None:
            self.item_bytes -= _row_bytes(key, item)

    def top(self, query: np.ndarray, count: int) -> list[tuple[str, float]]:
        """The ``count`` best ``(key, cosine)`` pairs, best first."""
        count = min(count, self.size)
        if count <= 0:
            return []
        scores = self.matrix[: self.size] @ query
        np.negative(scores, out=scores)  # ascending sorts put the best first
        if count < self.size:
            best = np.argpartition(scores, count - 1)[:count]
            order = best[np.argsort(scores[best], kind="stable")]
        else:
            order = np.argsort(scores, kind="stable")
        keys = self.keys
        return [(keys[row], -float(scores[row])) for row in order]

    def _append(self, key: str, vector: np.ndarray) -> None:
        if not self.size and len(vector) != self.dims:  # an empty copy takes the first size
            self.dims, self.matrix = len(vector), np.empty((0, len(vector)), dtype=np.float32)
        if self.size == len(self.matrix):
            grown = np.empty((max(16, 2 * len(self.matrix)), self.dims), dtype=np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
        self.matrix[self.size] = _normalised(vector[None, :])[0]
        self.row_of[key] = self.size
        self.keys.append(key)

    def _remove(self, row: int) -> None:
        """Move the last row into ``row``: removal in O(dims), order does not matter."""
        last = self.size - 1
        if row != last:
            self.matrix[row] = self.matrix[last]
            self.keys[row] = self.keys[last]
            self.row_of[self.keys[row]] = row
        self.keys.pop()


class VectorCache:
    """The copies of one store's namespaces, each at the version it was last brought to."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, NamespaceVectors] = OrderedDict()

    def namespaces(self, cur: Any, prefix: str) -> list[tuple[str, int]]:
        """``(namespace, version)`` of ``prefix`` and of every namespace below it."""
        # The namespaces below ``prefix`` are the keys between "prefix." and "prefix/" ("/"
        # follows "."): a range on the primary key, where a GLOB read every namespace's row.
        cur.execute(
            f"SELECT prefix, version FROM {VERSIONS_TABLE} "
            "WHERE prefix = ? OR (prefix > ? AND prefix < ?)",
            (prefix, f"{prefix}.", f"{prefix}/"),
        )
        return cur.fetchall()

    def entry(self, cur: Any, namespace: str, version: int) -> NamespaceVectors | None:
        """The copy of ``namespace`` at ``version`` (``None``: several vectors per key)."""
        entry = self._entries.get(namespace)
        if (
            entry is not None
            and entry.version != version
            and not self._catch_up(cur, entry, namespace, version)
        ):
            entry = None
        if entry is None:
            cur.execute(_ROWS, (namespace,))
            entry = NamespaceVectors.build(version, cur.fetchall())
            if entry is None:
                self._entries.pop(namespace, None)
                return None
            self._entries[namespace] = entry
            self._evict(keep=namespace)
        self._entries.move_to_end(namespace)
        return entry

    def record_write(self, cur: Any, namespace: str, keys: list[str]) -> None:
        """In the writing transaction: bump the namespace's version and log the keys written."""
        cur.execute(
            f"INSERT INTO {VERSIONS_TABLE} (prefix, version) VALUES (?, 1) "
            "ON CONFLICT (prefix) DO UPDATE SET version = version + 1 RETURNING version",
            (namespace,),
        )
        version = cur.fetchone()[0]
        cur.executemany(
            f"INSERT OR IGNORE INTO {CHANGES_TABLE} (prefix, version, key) VALUES (?, ?, ?)",
            [(namespace, version, key) for key in keys],
        )
        if version % 100 == 0:  # prune now and then: the log stays short, writes stay cheap
            cur.execute(
                f"DELETE FROM {CHANGES_TABLE} WHERE prefix = ? AND version <= ?",
                (namespace, version - LOGGED_VERSIONS),
            )

    @property
    def nbytes(self) -> int:
        """Memory held by every copy."""
        return sum(entry.nbytes for entry in self._entries.values())

    def _catch_up(self, cur: Any, entry: NamespaceVectors, namespace: str, version: int) -> bool:
        """Apply the logged writes since the copy's version; False if the log misses some."""
        cur.execute(
            f"SELECT version, key FROM {CHANGES_TABLE} WHERE prefix = ? AND version > ? "
            "AND version <= ?",
            (namespace, entry.version, version),
        )
        changes = cur.fetchall()
        if len({v for v, _ in changes}) != version - entry.version:
            return False
        keys = list(dict.fromkeys(key for _, key in changes))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            cur.execute(f"{_ROWS} AND v.key IN ({','.join('?' * len(chunk))})", (namespace, *chunk))
            rows.extend(cur.fetchall())
        if not entry.replace(keys, rows):
            return False
        entry.version = version
        return True

    def _evict(self, keep: str) -> None:
        while self.nbytes > self.max_bytes and len(self._entries) > 1:
            oldest = next(iter(self._entries))
            if oldest == keep:
                self._entries.move_to_end(keep)
                continue
            del self._entries[oldest]


def _row_bytes(key: str, item: ItemRow) -> int:
    """About what one kept item holds in memory: its row, and the value decoded from it."""
    return 600 + len(key) + 3 * sum(len(part) for part in item if isinstance(part, str | bytes))


def normalised_query(vector: Sequence[float]) -> np.ndarray:
    """The query as a unit float32 vector: a dot product with the copy is then the cosine."""
    query = np.asarray(vector, dtype=np.float32)
    norm = float(np.sqrt(query @ query))  # one dot product: this runs on every recall
    return query / np.float32(norm) if norm else query


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)
