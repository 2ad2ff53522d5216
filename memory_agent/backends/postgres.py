"""Conversations and memories in PostgreSQL + pgvector, shared by several app servers.

``PostgresSaver`` and ``PostgresStore`` share one connection pool: each Streamlit session's thread
borrows its own connection, so turns on different threads never wait on one connection's lock.
Set-up runs under an advisory lock, so app servers that start together do not race to create the
same tables. Connection failures become one sentence that says what to fix.
"""

from __future__ import annotations

import re
import time
from typing import Any

import langgraph.checkpoint.postgres as postgres_saver
import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.store.postgres import PostgresStore
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from memory_agent.backends.index import EMBEDDED_FIELDS, check_index_embedding
from memory_agent.backends.locks import AdvisoryLocks
from memory_agent.backends.persistence import Persistence
from memory_agent.configuration import Configuration
from memory_agent.models.embeddings import make_embeddings
from memory_agent.state import SNAPSHOT_EVERY

DELTA_PAGE = 2 * SNAPSHOT_EVERY
"""Checkpoints the saver reads per page when it rebuilds the messages channel (its default:
1,024). The full snapshot it looks for is at most ``SNAPSHOT_EVERY`` updates back, and at most
3 checkpoints in 2 do not update the messages, so one page of this size finds it (it pages on
if not). With 1,024, a turn at turn 500 read a thousand checkpoint rows: loading the state took
17 ms there against 3 ms at turn 10."""
postgres_saver._DELTA_PAGE_SIZE = DELTA_PAGE  # a module constant, read on every call

CONNECT_TIMEOUT_S = 5
POOL_SIZE = 8
"""Connections per app server: enough for a handful of concurrent turns, small enough that ten
servers stay under Postgres's default ``max_connections`` of 100."""
SETUP_TIMEOUT_S = 60
SETUP_LOCK = 7_531_642
"""Advisory-lock key held while creating tables, so concurrent first starts take turns."""


class DatabaseError(RuntimeError):
    """The database URL is unusable, the server unreachable, or pgvector missing; says which."""


def describe(url: str) -> str:
    """The URL without its password, for messages and the runtime's location."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


def check_url(url: str) -> None:
    """Refuse a malformed URL before any connection attempt, naming what is wrong."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise DatabaseError(
            f"The database URL {describe(url)!r} must start with postgresql:// "
            "(e.g. postgresql://user:password@host:5432/dbname)."
        )
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise DatabaseError(
            f"The database URL {describe(url)!r} is malformed: {_first_line(error)}"
        ) from None


def connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    """One autocommit connection with the settings LangGraph's saver and store expect."""
    check_url(url)
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            prepare_threshold=0,
            row_factory=dict_row,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
    except psycopg.OperationalError as error:
        raise DatabaseError(
            f"Cannot reach PostgreSQL at {describe(url)}: {_first_line(error)} "
            "Is the server running, and are MEMORY_AGENT_DATABASE_URL's host, port, user, "
            "password and database right?"
        ) from None


def ensure_vector_extension(conn: psycopg.Connection[Any]) -> None:
    """``CREATE EXTENSION vector`` if absent; if impossible, say how to get it."""
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except (psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported) as error:
        raise DatabaseError(
            "The PostgreSQL server has no pgvector `vector` extension "
            f"({_first_line(error)}). Install pgvector on the server "
            "(e.g. apt install postgresql-<version>-pgvector, or an image with pgvector) "
            "and start Memory Agent again."
        ) from None
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseError(
            "The database has no `vector` extension and this user may not create it: "
            "ask an administrator to run CREATE EXTENSION vector; in this database."
        ) from None


def open_pool(url: str, min_size: int = 1) -> ConnectionPool:
    """A pool of connections configured as ``PostgresSaver`` and ``PostgresStore`` need them."""
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=POOL_SIZE,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=True,
        name="memory-agent",
    )


def index_config(settings: Configuration) -> dict[str, Any]:
    """Pgvector HNSW cosine index over each memory's ``content``, with the configured embedding."""
    return {
        "dims": settings.embedding_dims,
        "embed": make_embeddings(settings),
        "fields": EMBEDDED_FIELDS,  # PostgresStore's key (see EMBEDDED_FIELDS)
    }


def setup(conn: psycopg.Connection[Any], saver: PostgresSaver, store: PostgresStore) -> None:
    """Create or migrate the tables once, whichever app server gets there first.

    The lock is polled, not awaited: the store's ``CREATE INDEX CONCURRENTLY`` waits for every
    running statement to end, so a second server blocked inside ``pg_advisory_lock`` would wait
    on the first while the first waits on it, and both would hang.
    """
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (SETUP_LOCK,)).fetchone()["ok"]:
        if time.monotonic() > deadline:
            raise DatabaseError(
                f"Another app server has been setting up the database for {SETUP_TIMEOUT_S} s; "
                "try again when it has started."
            )
        time.sleep(0.1)
    try:
        ensure_vector_extension(conn)
        saver.setup()
        store.setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))


def fit_vector_column(store: PostgresStore, dims: int) -> bool:
    """Resize the vector column to ``dims``, dropping the old vectors; True if it changed.

    pgvector columns have a fixed size, so a new embedding size needs the column altered before
    anything is re-embedded; the HNSW index is rebuilt with it.
    """
    pool: ConnectionPool = store.conn  # open_postgres always gives the store a pool
    with pool.connection() as conn, conn.transaction():
        row = conn.execute(
            "SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute "
            "WHERE attrelid = 'store_vectors'::regclass AND attname = 'embedding'"
        ).fetchone()
        if row is None or row["type"] == f"vector({dims})":
            return False
        conn.execute("DELETE FROM store_vectors")
        conn.execute(f"ALTER TABLE store_vectors ALTER COLUMN embedding TYPE vector({int(dims)})")
    return True


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0].rstrip(".") + "." if text else type(error).__name__


def open_postgres(
    url: str, settings: Configuration, *, check_embedding: bool = True
) -> Persistence:
    """Connect to (and on first start, set up) the database's checkpointer and store."""
    conn = connect(url)
    pool = lock_pool = None
    try:
        pool = open_pool(url)
        # Turn locks hold a connection for a whole turn: a pool of their own, so held locks can
        # never take the connections the turns themselves need.
        lock_pool = open_pool(url, min_size=0)
        checkpointer = PostgresSaver(pool)
        store = PostgresStore(pool, index=index_config(settings))
        setup(conn, checkpointer, store)
        if check_embedding:
            check_index_embedding(store, settings)
    except Exception:
        for opened in (pool, lock_pool):
            if opened is not None:
                opened.close()
        raise
    finally:
        conn.close()

    def close() -> None:
        pool.close()
        lock_pool.close()

    return Persistence(
        checkpointer,
        store,
        describe(url),
        close,
        resize_index=lambda dims: fit_vector_column(store, dims),
        locks=AdvisoryLocks(lock_pool),
    )
