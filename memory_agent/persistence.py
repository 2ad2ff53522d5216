"""Where conversations and memories live: a SQLite data directory, or a PostgreSQL database.

This is the one place that chooses: ``MEMORY_AGENT_DATABASE_URL`` (or ``--database-url``) selects
PostgreSQL + pgvector, which several app servers can share; otherwise one data directory holds two
SQLite files. ``conversations.sqlite`` holds LangGraph checkpoints (``SqliteSaver``);
``memories.sqlite`` holds the store (``SqliteStore`` with a sqlite-vec index). Each has its own
connection: the saver and the store lock and commit independently, and sharing one connection
breaks their transactions. Everything above this module sees only a checkpointer and a store.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore
from langgraph.store.postgres import PostgresStore
from langgraph.store.sqlite import SqliteStore

from memory_agent import memories, postgres
from memory_agent.configuration import Configuration
from memory_agent.embeddings import make_embeddings

CONVERSATIONS_FILE = "conversations.sqlite"
MEMORIES_FILE = "memories.sqlite"
INDEX_TEXT_FIELDS = ["content"]
"""Only the fact itself is embedded: the context is provenance, and a second vector per memory
doubled recall time (28 ms vs 17 ms at 10k memories) for matches people did not expect."""
META_NAMESPACE = ("memory_agent",)
INDEX_META_KEY = "index"


class EmbeddingMismatch(RuntimeError):
    """The store's vectors were built by another embedding than the one configured."""


@dataclass
class Persistence:
    """A checkpointer and a store, opened together and closed together."""

    checkpointer: BaseCheckpointSaver
    store: BaseStore
    location: str
    close: Callable[[], None]


def default_data_dir() -> Path:
    return Path(os.environ.get("MEMORY_AGENT_DATA_DIR") or "data")


def default_database_url() -> str | None:
    return os.environ.get("MEMORY_AGENT_DATABASE_URL") or None


def open_persistence(
    settings: Configuration,
    data_dir: str | Path | None = None,
    database_url: str | None = None,
    *,
    check_embedding: bool = True,
) -> Persistence:
    """PostgreSQL if a database URL is given or set in the environment; else the data directory.

    A database URL wins over a data directory: app servers sharing one database must not fall back
    to a private directory because one of them was started with ``--data-dir``.
    """
    url = database_url or default_database_url()
    if url:
        return open_postgres(url, settings, check_embedding=check_embedding)
    return open_sqlite(data_dir or default_data_dir(), settings, check_embedding=check_embedding)


def open_postgres(
    url: str, settings: Configuration, *, check_embedding: bool = True
) -> Persistence:
    """Connect to (and on first start, set up) the database's checkpointer and store."""
    conn = postgres.connect(url)
    pool = None
    try:
        pool = postgres.open_pool(url)
        checkpointer = PostgresSaver(pool)
        store = PostgresStore(pool, index=postgres.index_config(settings))
        postgres.setup(conn, checkpointer, store)
        if check_embedding:
            check_index_embedding(store, settings)
    except Exception:
        if pool is not None:
            pool.close()
        raise
    finally:
        conn.close()
    return Persistence(checkpointer, store, postgres.describe(url), pool.close)


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
    checkpointer = AtomicSqliteSaver(checkpoint_conn)
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


class AtomicSqliteSaver(SqliteSaver):
    """``SqliteSaver`` whose writes are all or nothing, like ``AtomicSqliteStore``.

    LangGraph's saver also commits in a ``finally``: a ``put_writes`` that failed on its second
    row kept the first, and a task with some of its writes stored counts as done on resume.
    """

    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
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
    """``SqliteStore`` whose batches are all or nothing.

    LangGraph's store commits in a ``finally``, so a batch that fails half-way (disk full, a
    lock held past the busy timeout) committed the half already written: with the disk filling
    up, 112 failed memory writes in 400 left memories without their vector or history event. A
    memory and its history event are one batch; this rolls the batch back on any error instead.
    """

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
        # SqliteStore reads "text_fields"; with "fields" it would embed the whole JSON value.
        "text_fields": INDEX_TEXT_FIELDS,
    }


def check_index_embedding(store: BaseStore, settings: Configuration) -> None:
    """Record which embedding built the index; refuse to mix vectors from another one."""
    wanted = {"embedding": settings.embedding, "dims": settings.embedding_dims}
    item = store.get(META_NAMESPACE, INDEX_META_KEY)
    if item is None:
        store.put(META_NAMESPACE, INDEX_META_KEY, wanted, index=False)
    elif item.value != wanted:
        raise EmbeddingMismatch(
            f"The memories were indexed with embedding {item.value['embedding']!r} "
            f"({item.value['dims']} dims), but {settings.embedding!r} "
            f"({settings.embedding_dims} dims) is configured. Run "
            "`python -m memory_agent reindex` to re-embed every memory with it."
        )


def reindex(persistence: Persistence, settings: Configuration) -> int:
    """Re-embed every memory with the configured embedding and record it; returns the count."""
    if isinstance(persistence.store, PostgresStore):
        postgres.fit_vector_column(persistence.store, settings.embedding_dims)
    count = memories.reindex(persistence.store)
    persistence.store.put(
        META_NAMESPACE,
        INDEX_META_KEY,
        {"embedding": settings.embedding, "dims": settings.embedding_dims},
        index=False,
    )
    return count


def _connect(module: Any, path: Path, isolation_level: str | None) -> Any:
    """A connection shared by Streamlit's threads, in WAL mode so readers never block the writer."""
    try:
        conn = module.connect(
            str(path), check_same_thread=False, isolation_level=isolation_level, timeout=30
        )
        conn.execute("PRAGMA journal_mode=WAL")
    except module.Error as error:
        raise RuntimeError(f"Cannot open {path}: {error}") from None
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _extension_sqlite() -> Any:
    """A sqlite3 module that can load sqlite-vec; this Python's own may be built without it."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    import pysqlite3.dbapi2 as pysqlite3  # type: ignore[import-untyped]

    return pysqlite3
