"""The embedded backend: one data directory, two SQLite files (checkpoints, memories).

``conversations.sqlite`` holds LangGraph checkpoints (``SqliteSaver``); ``memories.sqlite`` holds
the store (``SqliteStore`` with a sqlite-vec index). Each has its own connection: the saver and the
store lock and commit independently, and sharing one connection breaks their transactions.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import Item, PutOp, Result, SearchItem, SearchOp
from langgraph.store.sqlite import SqliteStore
from langgraph.store.sqlite.base import (
    _decode_ns_text,
    _json_loads,
    _namespace_to_text,
    _row_to_search_item,
)

from memory_agent.backends import vectors
from memory_agent.backends.faults import StorageError, damaged_sentence
from memory_agent.backends.index import EMBEDDED_FIELDS, check_index_embedding
from memory_agent.backends.persistence import Persistence
from memory_agent.configuration import Configuration
from memory_agent.models.embeddings import make_embeddings

CONVERSATIONS_FILE = "conversations.sqlite"
MEMORIES_FILE = "memories.sqlite"


def default_data_dir() -> Path:
    """``MEMORY_AGENT_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get("MEMORY_AGENT_DATA_DIR") or "data")


def busy_timeout() -> float:
    """``MEMORY_AGENT_BUSY_TIMEOUT``: seconds to wait for another program's write lock (30)."""
    text = os.environ.get("MEMORY_AGENT_BUSY_TIMEOUT") or "30"
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ValueError(
            f"MEMORY_AGENT_BUSY_TIMEOUT={text!r} must be a number of seconds between 0 and 3600"
        )
    return seconds


def open_sqlite(
    data_dir: str | Path, settings: Configuration, *, check_embedding: bool = True
) -> Persistence:
    """Open (creating if needed) the data directory's checkpointer and store."""
    directory = Path(data_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RuntimeError(
            f"Cannot create the data directory {directory}: {error.strerror}"
        ) from None
    # The saver commits its own implicit transactions; the store issues explicit BEGIN/COMMIT.
    checkpoint_conn = _connect(sqlite3, directory / CONVERSATIONS_FILE, isolation_level="DEFERRED")
    store_conn = _connect(_extension_sqlite(), directory / MEMORIES_FILE, isolation_level=None)
    store_conn.execute("PRAGMA foreign_keys=ON")  # deleting a memory deletes its vectors
    checkpointer = AtomicSqliteSaver(
        checkpoint_conn, serde=DamageRefusingSerializer(directory / CONVERSATIONS_FILE)
    )
    store = AtomicSqliteStore(store_conn, index=index_config(settings))
    try:
        checkpointer.setup()
        store.setup()
        if check_embedding:
            check_index_embedding(store, settings)
    except Exception:
        checkpoint_conn.close()
        store_conn.close()
        raise

    def close() -> None:
        checkpoint_conn.close()
        store_conn.close()

    return Persistence(checkpointer, store, str(directory.resolve()), close)


class DamageRefusingSerializer(JsonPlusSerializer):
    """LangGraph's checkpoint decoder, refusing a value it cannot rebuild instead of reading None.

    SQLite has no checksums, so overwritten bytes inside a checkpoint can still be read; the
    stock decoder then turns each message it cannot rebuild into ``None``, and the chat showed
    a damaged conversation as empty bubbles. Here that is the damaged-file sentence.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        lenient = self._unpack_ext_hook

        def strict(code: int, data: bytes) -> Any:
            value = lenient(code, data)
            if value is None:  # the stock hook's answer to anything it failed to rebuild
                raise ValueError(f"a stored value (msgpack extension {code}) does not decode")
            return value

        self._unpack_ext_hook = strict
        self._custom_unpack_ext_hook = True  # kept by with_msgpack_allowlist's copies

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """The stored value, or ``StorageError`` naming the damaged file."""
        try:
            return super().loads_typed(data)
        except ValueError as error:  # msgpack reports a hook's failure as "ext_hook failed"
            reason = f"a stored checkpoint does not decode: {error}"
            raise StorageError(damaged_sentence(self.path, reason)) from None


class AtomicSqliteSaver(SqliteSaver):
    """``SqliteSaver`` whose writes are all or nothing, like ``AtomicSqliteStore``.

    LangGraph's saver also commits in a ``finally``: a ``put_writes`` that failed on its second
    row kept the first, and a task with some of its writes stored counts as done on resume.
    """

    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
        """A cursor whose writes commit together or roll back together."""
        if not transaction:
            with super().cursor(transaction=False) as cur:
                yield cur
            return
        with self.lock:
            self.setup()
            cur = self.conn.cursor()
            try:
                yield cur
                self.conn.commit()
            except BaseException:
                self.conn.rollback()
                raise
            finally:
                cur.close()


class AtomicSqliteStore(SqliteStore):
    """``SqliteStore`` whose batches are all or nothing, and whose vector search runs in memory.

    LangGraph's store commits in a ``finally``, so a batch that fails half-way (disk full, a
    lock held past the busy timeout) committed the half already written: with the disk filling
    up, 112 failed memory writes in 400 left memories without their vector or history event. A
    memory and its history event are one batch; this rolls the batch back on any error instead.

    A query search (exact cosine, no filter) reads a per-namespace copy of the vectors
    (``vectors.VectorCache``) instead of scanning them in SQL: same results and scores, about
    the cost of a numpy matrix product. Each write bumps its namespace's version and logs its
    keys in its own transaction, so every process catches up with every other's writes.
    """

    def __init__(self, conn: Any, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self.vectors = vectors.VectorCache()

    def setup(self) -> None:
        """The store's tables, then (with an index) the vector versions table."""
        super().setup()
        if self.index_config:
            with self.lock:
                vectors.setup(self.conn)

    def count_items(self, namespace: tuple[str, ...]) -> int:
        """How many items ``namespace`` itself holds (recall says "the 10 most relevant of N")."""
        with self._cursor(transaction=False) as cur:
            prefix = _namespace_to_text(namespace)
            cur.execute("SELECT COUNT(*) FROM store WHERE prefix = ?", (prefix,))
            return cur.fetchone()[0]

    def namespace_items(self, namespace: tuple[str, ...]) -> list[Item]:
        """Every item of ``namespace`` itself, newest first: one query, rows read as items.

        What ``backends.items.every_item`` asks for when it needs a namespace whole. The stock
        search matches a prefix and builds a ``SearchItem`` (with its namespace decoded) per row:
        at 10k memories with their history that was two thirds of the inspector's read.
        """
        loads = self._deserializer or _json_loads
        with self._cursor(transaction=False) as cur:
            cur.execute(
                "SELECT key, value, created_at, updated_at FROM store WHERE prefix = ?"
                " ORDER BY updated_at DESC",
                (_namespace_to_text(namespace),),
            )
            rows = cur.fetchall()
        return [
            Item(value=loads(value), key=key, namespace=namespace, created_at=c, updated_at=u)
            for key, value, c, u in rows
        ]

    def _batch_put_ops(self, put_ops: Sequence[tuple[int, PutOp]], cur: Any) -> None:
        super()._batch_put_ops(put_ops, cur)
        if not self.index_config:
            return
        touched: dict[str, list[str]] = defaultdict(list)
        for _, op in put_ops:
            touched[_namespace_to_text(op.namespace)].append(op.key)
        for namespace, keys in touched.items():
            self.vectors.record_write(cur, namespace, list(dict.fromkeys(keys)))

    def _batch_search_ops(
        self, search_ops: Sequence[tuple[int, SearchOp]], results: list[Result], cur: Any
    ) -> None:
        in_sql = []
        for index, op in search_ops:
            found = self._search_in_memory(op, cur) if self._searches_in_memory(op) else None
            if found is None:
                in_sql.append((index, op))
            else:
                results[index] = found
        if in_sql:
            super()._batch_search_ops(in_sql, results, cur)

    def _searches_in_memory(self, op: SearchOp) -> bool:
        """Exact cosine over vectors, no filter, no TTL to refresh: what the copy answers."""
        return bool(
            op.query
            and op.namespace_prefix
            and self.index_config
            and not op.filter
            and self.index_config.get("distance_type", "cosine") == "cosine"
            and not (op.refresh_ttl and self.ttl_config)
        )

    def _search_in_memory(self, op: SearchOp, cur: Any) -> list[SearchItem] | None:
        """The search answered from the copies; ``None`` where a copy cannot answer it."""
        embed_array = getattr(self.embeddings, "embed_array", None)  # WordLlama: no lists
        texts = [op.query]
        raw = embed_array(texts)[0] if embed_array else self.embeddings.embed_documents(texts)[0]
        query = vectors.normalised_query(raw)
        wanted = op.limit + op.offset
        scored: list[tuple[float, str, str]] = []
        prefix = _namespace_to_text(op.namespace_prefix)
        entries: dict[str, vectors.NamespaceVectors] = {}
        for namespace, version in self.vectors.namespaces(cur, prefix):
            entry = entries[namespace] = self.vectors.entry(cur, namespace, version)
            if entry is None:
                return None
            if entry.size and entry.dims != len(query):
                raise ValueError(
                    f"The stored vectors have {entry.dims} dims but the embedding gives "
                    f"{len(query)}: run `python -m memory_agent reindex`."
                )
            scored.extend((score, namespace, key) for key, score in entry.top(query, wanted))
        scored.sort(key=lambda hit: -hit[0])
        return [
            self._search_item(entries[namespace], namespace, key, score)
            for score, namespace, key in scored[op.offset : wanted]
        ]

    def _search_item(
        self, entry: vectors.NamespaceVectors, namespace: str, key: str, score: float
    ) -> SearchItem:
        """The hit as the store's SQL search returns it, decoded once per version of the item."""
        decoded = entry.decoded.get(key)
        if decoded is None:
            value, created_at, updated_at = entry.items[key]
            row = {"key": key, "value": value, "created_at": created_at, "updated_at": updated_at}
            item = _row_to_search_item(_decode_ns_text(namespace), row, loader=self._deserializer)
            decoded = entry.decoded[key] = (
                item.namespace,
                item.value,
                item.created_at,
                item.updated_at,
            )
        namespace_tuple, value, created_at, updated_at = decoded
        return SearchItem(
            namespace_tuple,
            key,
            dict(value),  # a copy: a caller changing its result must not change the copy's
            created_at,
            updated_at,
            score,
        )

    @contextmanager
    def _cursor(self, *, transaction: bool = True) -> Iterator[Any]:
        if not transaction:
            with super()._cursor(transaction=False) as cur:
                yield cur
            return
        if not self.is_setup:
            self.setup()
        with self.lock:
            # Plain (deferred) BEGIN: every write batch starts with a write, so the write lock is
            # taken under the busy timeout; reads never wait for another process's writer.
            self.conn.execute("BEGIN")
            cur = self.conn.cursor()
            try:
                yield cur
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled back already
                    self.conn.execute("ROLLBACK")
                raise
            finally:
                cur.close()


def index_config(settings: Configuration) -> dict[str, Any]:
    """The store's vector index: which embedding, its size, and the fields it embeds."""
    return {
        "dims": settings.embedding_dims,
        "embed": make_embeddings(settings),
        "text_fields": EMBEDDED_FIELDS,  # SqliteStore's key (see EMBEDDED_FIELDS)
    }


def _connect(module: Any, path: Path, isolation_level: str | None) -> Any:
    """A connection shared by Streamlit's threads, in WAL mode so readers never block the writer."""
    seconds = busy_timeout()
    try:
        conn = module.connect(
            str(path), check_same_thread=False, isolation_level=isolation_level, timeout=seconds
        )
        conn.execute("PRAGMA journal_mode=WAL")
    except module.Error as error:
        raise RuntimeError(f"Cannot open {path}: {error}") from None
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
    return conn


def _extension_sqlite() -> Any:
    """A sqlite3 module that can load sqlite-vec; this Python's own may be built without it."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    import pysqlite3.dbapi2 as pysqlite3  # type: ignore[import-untyped]

    return pysqlite3
