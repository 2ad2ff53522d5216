"""Storage faults in one sentence each, with the way out: damaged, foreign, full or locked data.

SQLite and PostgreSQL report these as driver errors (``database disk image is malformed``,
``no such column: thread_id``, ``database or disk is full``, ``database is locked``) that reach a
person as a traceback. ``check_data_files`` refuses a damaged or foreign file before it is
opened; ``storage_faults`` turns a fault met later into ``StorageError``, whose text is the
sentence to show.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from memory_agent.backends.vectors import CHANGES_TABLE, VERSIONS_TABLE

OUR_TABLES = {
    "conversations.sqlite": {"checkpoints": {"thread_id", "checkpoint_id"}, "writes": set()},
    "memories.sqlite": {
        "store": {"prefix", "key", "value"},
        "store_migrations": set(),
        "store_vectors": set(),
        "vector_migrations": set(),
        VERSIONS_TABLE: set(),  # our in-memory vector copy's version log (backends.vectors)
        CHANGES_TABLE: set(),
    },
}
"""Tables (and the columns we rely on) of the files LangGraph's saver and store, and we, create."""


class StorageError(RuntimeError):
    """The data cannot be read or written; the message says why and what to do."""


def check_data_files(directory: Path) -> None:
    """Refuse a data directory whose files are damaged or were written by another app."""
    for name, tables in OUR_TABLES.items():
        path = directory / name
        if not path.exists() or path.stat().st_size == 0:
            continue
        module = _module_for(name)
        try:
            # Read only by what it runs; not mode=ro, which cannot recover the WAL a killed
            # process left and would wait out the busy timeout instead.
            with closing(module.connect(path)) as conn:
                found = _tables(conn)
        except module.DatabaseError as error:
            raise StorageError(damaged_sentence(path, error)) from None
        foreign = sorted(set(found) - set(tables))
        missing = {t: sorted(cols - found[t]) for t, cols in tables.items() if t in found}
        if foreign or any(missing.values()):
            lacking = [f"{table} without {cols[0]}" for table, cols in missing.items() if cols]
            what = ", ".join(foreign) or ", ".join(lacking)
            raise StorageError(
                f"{path} is not a Memory Agent file (it holds {what}): point "
                "MEMORY_AGENT_DATA_DIR (or --data-dir) at another directory, or move the file "
                "aside; a new one is made on the next start."
            )


def _module_for(name: str) -> Any:
    """The sqlite3 module the backend opens ``name`` with, and so the one to read it with.

    Two SQLite libraries in one process must never open the same file: closing one's
    connection drops the other's POSIX locks on it, and writes then corrupt the file (seen here:
    "database disk image is malformed" after the stock module peeked at a pysqlite3 file).
    """
    from memory_agent.backends import sqlite as backend

    return sqlite3 if name == backend.CONVERSATIONS_FILE else backend._extension_sqlite()


def _tables(conn: Any) -> dict[str, set[str]]:
    names = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_")
    ]
    return {
        name: {row[1] for row in conn.execute(f"PRAGMA table_info({_quoted(name)})")}
        for name in names
    }


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def describe(error: BaseException, location: str | None = None) -> str | None:
    """The sentence for a storage fault at ``location`` (a data directory or database), if any."""
    if isinstance(error, StorageError):
        return str(error)
    if not _is_storage_error(error):
        return _damage_behind(error, location)
    text = str(error)
    lowered = text.lower()
    location = location or "the data directory"
    if "malformed" in lowered or "not a database" in lowered:
        return damaged_sentence(_damaged_file(Path(location)), error)
    if "disk is full" in lowered or "disk i/o error" in lowered or "no space" in lowered:
        return (
            f"Could not write to {location}: the disk is full or failing ({text}). Nothing of "
            "this change was saved; free some space and try again."
        )
    if "locked" in lowered or "busy" in lowered:
        waited = _busy_timeout_text()
        return (
            f"{location} stayed locked by another program for {waited} ({text}): close other "
            "programs writing to it (another Memory Agent, a database browser) and try again."
        )
    if "no such column" in lowered or "no such table" in lowered:
        return (
            f"{location} holds data in a layout Memory Agent does not know ({text}): it was "
            "written by another app or version; point Memory Agent at another data directory."
        )
    return f"The data in {location} could not be read or written ({text}): try again."


def _conversations_file() -> str:
    from memory_agent.backends.sqlite import CONVERSATIONS_FILE

    return CONVERSATIONS_FILE


def _busy_timeout_text() -> str:
    from memory_agent.backends.sqlite import busy_timeout

    return f"{busy_timeout():g} s"


def _damaged_file(location: Path) -> Path:
    """Which of the data directory's files is damaged (checked only once a fault was met)."""
    for name in OUR_TABLES:
        path, module = location / name, _module_for(name)
        try:
            with closing(module.connect(path)) as conn:
                if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    return path
        except module.DatabaseError:
            return path
    return location


def damaged_data(location: str, reason: str) -> str:
    """The damaged-data sentence for data found wrong at ``location``, naming the file if it can."""
    path = Path(location)
    if path.is_dir():
        found = _damaged_file(path)
        path = found if found != path else path / _conversations_file()
    return damaged_sentence(path, reason)


def _damage_behind(error: BaseException, location: str | None) -> str | None:
    """The damaged-file sentence when a data file behind an unexpected error fails its check.

    SQLite has no checksums: overwritten pages can still read, and LangGraph's decoder turns a
    value it cannot rebuild into ``None``, which fails later as a message or attribute error.
    """
    if location is None or not Path(location).is_dir():
        return None
    path = _damaged_file(Path(location))
    if path == Path(location):
        return None
    return damaged_sentence(path, f"{type(error).__name__}: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def damaged_sentence(path: Path, error: BaseException | str) -> str:
    """The sentence for a damaged data file, with the way out."""
    return (
        f"{path} is damaged ({error}): restore it from a backup, or move it aside to start "
        "afresh (Memory Agent makes a new one); conversations and memories are separate files."
    )


def _is_storage_error(error: BaseException) -> bool:
    names = {cls.__module__.split(".")[0] + "." + cls.__name__ for cls in type(error).__mro__}
    return bool(
        isinstance(error, sqlite3.DatabaseError | StorageError)
        or "pysqlite3.DatabaseError" in names
        or "psycopg.OperationalError" in names
        or "psycopg.DatabaseError" in names
    )


@contextmanager
def storage_faults(location: str) -> Iterator[None]:
    """Turn a storage fault raised inside into ``StorageError`` with its sentence."""
    try:
        yield
    except StorageError:
        raise
    except Exception as error:  # only storage faults are translated; the rest pass on
        sentence = describe(error, location)
        if sentence is None:
            raise
        raise StorageError(sentence) from error
