"""An in-memory copy of a SQLite store's vectors, one float32 matrix per namespace, kept coherent.

``SqliteStore`` searches by brute force in SQL (``vec_distance_cosine`` over every row, then a join
and a window function): 19 ms at 10k memories, 185 ms at 100k. The same exact cosine over a
normalised float32 matrix in memory is 10–50× faster, but a copy must never answer with vectors
another process or app server has since changed.

Coherence comes from a per-namespace version, written in the same transaction as the vectors: a
write bumps ``memory_agent_vector_versions.version`` for every namespace it touches (SQLite's
``data_version`` would not do: it changes on every commit to the file, e.g. each checkpoint-free
history event of any user). A search reads the version in its own read transaction; a copy built
at another version is rebuilt from ``store_vectors`` first. This process's own writes are applied
to the copy as a delta (the rows it just wrote, read back in the writing transaction) when no
other writer came in between, so a write does not cost a rebuild.

All methods are called with the store's lock held, inside its transaction (``cur``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

VERSIONS_TABLE = "memory_agent_vector_versions"
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
"""Memory for all copies together (≈ 500k vectors of 256 dims); least recently used go first."""

_SETUP = f"""
CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (
    prefix TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID
"""


def setup(conn: Any) -> None:
    """Create the versions table once, listing every namespace that already has vectors."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSIONS_TABLE,)
    ).fetchone()
    if exists:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_SETUP)
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
    """One namespace's vectors as rows of a matrix with spare capacity, each row L2-normalised."""

    version: int
    dims: int
    matrix: np.ndarray
    size: int = 0
    ids: list[tuple[str, str]] = field(default_factory=list)
    """Row → (key, field name)."""
    row_of: dict[tuple[str, str], int] = field(default_factory=dict)
    fields_of: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, version: int, rows: Sequence[tuple[str, str, bytes]]) -> NamespaceVectors:
        """A copy of ``(key, field, float32 blob)`` rows."""
        dims = len(rows[0][2]) // 4 if rows else 0
        if any(len(blob) != 4 * dims for _, _, blob in rows):
            raise ValueError("vectors of several sizes in one namespace")
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32)
        entry = cls(version, dims, _normalised(matrix.reshape(len(rows), dims)))
        entry.size = len(rows)
        entry.ids = [(key, name) for key, name, _ in rows]
        entry.row_of = {pair: row for row, pair in enumerate(entry.ids)}
        for key, name in entry.ids:
            entry.fields_of.setdefault(key, set()).add(name)
        return entry

    @property
    def nbytes(self) -> int:
        """The memory the matrix holds, capacity included."""
        return self.matrix.nbytes

    def replace(self, keys: Iterable[str], rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Drop every vector of ``keys``, then add ``rows`` (their vectors as now stored)."""
        for key in keys:
            for name in self.fields_of.pop(key, ()):
                self._remove_row(self.row_of.pop((key, name)))
        for key, name, blob in rows:
            self._append(key, name, np.frombuffer(blob, dtype=np.float32))

    def top(self, query: np.ndarray, count: int) -> list[tuple[str, float]]:
        """The ``count`` best ``(key, cosine)`` pairs, best first; a key's best field counts."""
        if not self.size or count <= 0:
            return []
        scores = self.matrix[: self.size] @ query
        one_row_per_key = len(self.fields_of) == self.size
        if one_row_per_key and count < self.size:
            best = np.argpartition(-scores, count - 1)[:count]
            order = best[np.argsort(-scores[best], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        found: dict[str, float] = {}
        for row in order:
            key = self.ids[row][0]
            if key not in found:
                found[key] = float(scores[row])
                if len(found) == count:
                    break
        return list(found.items())

    def _append(self, key: str, name: str, vector: np.ndarray) -> None:
        if not self.size and len(vector) != self.dims:  # an empty copy takes the first size
            self.dims, self.matrix = len(vector), np.empty((0, len(vector)), dtype=np.float32)
        if len(vector) != self.dims:
            raise ValueError(f"vector of {len(vector)} dims in a {self.dims}-dim copy")
        if self.size == len(self.matrix):
            grown = np.empty((max(16, 2 * len(self.matrix)), self.dims), dtype=np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
        self.matrix[self.size] = _normalised(vector[None, :])[0]
        self.ids.append((key, name))
        self.row_of[(key, name)] = self.size
        self.fields_of.setdefault(key, set()).add(name)
        self.size += 1

    def _remove_row(self, row: int) -> None:
        """Move the last row into ``row``: removal in O(dims), order does not matter."""
        last = self.size - 1
        if row != last:
            self.matrix[row] = self.matrix[last]
            self.ids[row] = self.ids[last]
            self.row_of[self.ids[row]] = row
        self.ids.pop()
        self.size -= 1


class VectorCache:
    """The copies of one store's namespaces, their versions, and the writes not yet applied."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, NamespaceVectors] = OrderedDict()
        self._pending: list[tuple[str, int, list[str], list[tuple[str, str, bytes]]]] = []

    def namespaces(self, cur: Any, prefix: str) -> list[tuple[str, int]]:
        """``(namespace, version)`` of ``prefix`` and of every namespace below it."""
        glob = prefix.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]") + ".*"
        cur.execute(
            f"SELECT prefix, version FROM {VERSIONS_TABLE} WHERE prefix = ? OR prefix GLOB ?",
            (prefix, glob),
        )
        return cur.fetchall()

    def entry(self, cur: Any, namespace: str, version: int) -> NamespaceVectors:
        """The copy of ``namespace`` at ``version``, rebuilt from the table if it is older."""
        entry = self._entries.get(namespace)
        if entry is None or entry.version != version:
            cur.execute(
                "SELECT key, field_name, embedding FROM store_vectors WHERE prefix = ?",
                (namespace,),
            )
            entry = NamespaceVectors.build(version, cur.fetchall())
            self._entries[namespace] = entry
            self._evict(keep=namespace)
        self._entries.move_to_end(namespace)
        return entry

    def record_write(self, cur: Any, namespace: str, keys: list[str]) -> None:
        """Bump the namespace's version in the writing transaction; keep the delta for later."""
        cur.execute(
            f"INSERT INTO {VERSIONS_TABLE} (prefix, version) VALUES (?, 1) "
            "ON CONFLICT (prefix) DO UPDATE SET version = version + 1 RETURNING version",
            (namespace,),
        )
        version = cur.fetchone()[0]
        if namespace not in self._entries:
            return
        rows: list[tuple[str, str, bytes]] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            cur.execute(
                "SELECT key, field_name, embedding FROM store_vectors "
                f"WHERE prefix = ? AND key IN ({','.join('?' * len(chunk))})",
                (namespace, *chunk),
            )
            rows.extend(cur.fetchall())
        self._pending.append((namespace, version, keys, rows))

    def committed(self) -> None:
        """Apply this process's writes to the copies they continue; drop the others."""
        for namespace, version, keys, rows in self._pending:
            entry = self._entries.get(namespace)
            if entry is None:
                continue
            if entry.version == version - 1 and (not rows or len(rows[0][2]) // 4 == entry.dims):
                entry.replace(keys, rows)
                entry.version = version
            else:  # another writer came in between: rebuild on the next search
                del self._entries[namespace]
        self._pending.clear()

    def rolled_back(self) -> None:
        """The writes did not happen: forget their deltas."""
        self._pending.clear()

    @property
    def nbytes(self) -> int:
        """Memory held by every copy."""
        return sum(entry.nbytes for entry in self._entries.values())

    def _evict(self, keep: str) -> None:
        while self.nbytes > self.max_bytes and len(self._entries) > 1:
            oldest = next(iter(self._entries))
            if oldest == keep:
                self._entries.move_to_end(keep)
                continue
            del self._entries[oldest]


def normalised_query(vector: Sequence[float]) -> np.ndarray:
    """The query as a unit float32 vector: a dot product with the copy is then the cosine."""
    return _normalised(np.asarray(vector, dtype=np.float32)[None, :])[0]


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)
