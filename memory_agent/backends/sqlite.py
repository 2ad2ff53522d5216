"""The embedded backend: one data directory, two SQLite files (checkpoints, memories).

``conversations.sqlite`` holds LangGraph checkpoints (``SqliteSaver``); ``memories.sqlite`` holds
the store (``SqliteStore`` with a sqlite-vec index). Each has its own connection: the saver and the
store lock and commit independently, and sharing one connection breaks their transactions.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.sqlite import SqliteStore

from memory_agent.backends.index import EMBEDDED_FIELDS, check_index_embedding
from memory_agent.backends.persistence import Persistence
from memory_agent.configuration import Configuration
from memory_agent.models.embeddings import make_embeddings

CONVERSATIONS_FILE = "conversations.sqlite"
MEMORIES_FILE = "memories.sqlite"


def default_data_dir() -> Path:
    """``MEMORY_AGENT_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get("MEMORY_AGENT_DATA_DIR") or "data")


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
        "text_fields": EMBEDDED_FIELDS,  # SqliteStore's key (see EMBEDDED_FIELDS)
    }


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
