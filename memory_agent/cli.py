"""Command line: chat, inspect and manage memories and conversations, for scripts and debugging.

    python -m memory_agent chat --user zed "My name is Zed"
    python -m memory_agent memories list --user zed --format json
    python -m memory_agent state --user zed --thread T
    python -m memory_agent migrate --from-sqlite data --to postgresql://host/db

Errors print one line to stderr and exit 1; nothing is half-written.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import openai

from memory_agent import memories
from memory_agent.backends import default_database_url, faults, open_persistence
from memory_agent.backends.index import EmbeddingMismatch, reindex
from memory_agent.configuration import Configuration
from memory_agent.conversations import chat, threads
from memory_agent.models.chat import describe_model
from memory_agent.models.errors import ModelServerError, describe_model_error
from memory_agent.runtime import Runtime, open_runtime

QUIT_WORDS = {"exit", "quit", "/quit", "/exit"}
MODEL_ERRORS = (openai.OpenAIError, ModelServerError, ConnectionError, TimeoutError)
"""How a model call fails; anything else is a bug or a data problem, reported as such."""


PROGRAM = "memory-agent"
"""The installed command (``[project.scripts]``); ``python -m memory_agent`` names itself."""


def main(argv: Sequence[str] | None = None, program: str = PROGRAM) -> int:
    """Run one command; returns the exit code (errors are one line on stderr).

    ``program`` is how the user started it: usage lines and the retry hint repeat it.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    for number, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            # The shell passed bytes that are not UTF-8; Python keeps them as lone surrogates,
            # which no store, page or terminal can take.
            return _fail(f"argument {number} ({_readable(arg)!r}) is not UTF-8 text; retype it.")
    parser = _parser(program)
    args = parser.parse_args(argv)
    args.program = program
    try:
        return args.handler(args)
    except BrokenPipeError:  # output piped into `head` or similar: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's flush quiet
        return 0
    except MODEL_ERRORS as error:
        return _fail(describe_model_error(error))
    except (
        ValueError,
        threads.ThreadNotFound,
        EmbeddingMismatch,
        RuntimeError,
        OSError,
    ) as error:  # a damaged data file can surface as any of these: name the file then
        return _fail(faults.describe(error, _location(args)) or str(error))
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a damaged, foreign, full or locked store: one line
        sentence = faults.describe(error, _location(args))
        if sentence is None:
            raise
        return _fail(sentence)


DATA_DIR_HELP = "data directory (default: $MEMORY_AGENT_DATA_DIR or ./data)"
DATABASE_URL_HELP = (
    "use PostgreSQL instead of the data directory (default: $MEMORY_AGENT_DATABASE_URL if set)"
)


def _parser(program: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program, description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    parser.add_argument("--database-url", default=None, help=DATABASE_URL_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = commands.add_parser("chat", help="one turn with MESSAGE, or an interactive chat")
    _add_common(chat)
    chat.add_argument("--thread", help="conversation id (default: a new conversation)")
    chat.add_argument("--retry", action="store_true", help="re-run the turn that failed last")
    chat.add_argument("message", nargs="?", help="the message; omit it for an interactive chat")
    chat.set_defaults(handler=_chat)

    mem = commands.add_parser("memories", help="list, search, export, import or delete memories")
    mem_commands = mem.add_subparsers(dest="memories_command", required=True, metavar="ACTION")
    for name, help_text in [
        ("list", "all of the user's memories, newest first"),
        ("history", "every change to the user's memories, newest first"),
    ]:
        sub = mem_commands.add_parser(name, help=help_text)
        _add_common(sub)
        _add_format(sub)
        sub.set_defaults(handler=_memories_list if name == "list" else _memories_history)
    search = mem_commands.add_parser("search", help="what the agent would recall for QUERY")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=None, help="how many (default: recall limit)")
    _add_common(search)
    _add_format(search)
    search.set_defaults(handler=_memories_search)
    export = mem_commands.add_parser("export", help="print the user's memories as JSON or CSV")
    _add_common(export)
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.set_defaults(handler=_memories_export)
    load = mem_commands.add_parser("import", help="import memories from a JSON or CSV file")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--mode",
        choices=["merge", "replace"],
        default="merge",
        help="merge: add and update by key; replace: also delete memories not in the file",
    )
    _add_common(load)
    load.set_defaults(handler=_memories_import)
    delete = mem_commands.add_parser("delete", help="delete one memory by key")
    delete.add_argument("key")
    _add_common(delete)
    delete.set_defaults(handler=_memories_delete)

    thread_cmd = commands.add_parser("threads", help="the user's conversations")
    thread_commands = thread_cmd.add_subparsers(
        dest="threads_command", required=True, metavar="ACTION"
    )
    listing = thread_commands.add_parser("list", help="the user's conversations, newest first")
    _add_common(listing)
    _add_format(listing)
    listing.set_defaults(handler=_threads_list)
    whole = thread_commands.add_parser(
        "transcript", help="every message of a conversation as JSON (the state holds recent turns)"
    )
    _add_common(whole)
    whole.add_argument("--thread", required=True)
    whole.set_defaults(handler=_threads_transcript)

    state = commands.add_parser(
        "state", help="the get_state snapshot of a conversation: the recent turns the model is sent"
    )
    _add_common(state)
    state.add_argument("--thread", required=True)
    state.add_argument("--format", choices=["json"], default="json")
    state.set_defaults(handler=_state)

    index = commands.add_parser(
        "reindex", help="re-embed every memory with the configured embedding"
    )
    _add_where(index)
    index.set_defaults(handler=_reindex)

    move = commands.add_parser(
        "migrate", help="copy a SQLite data directory into a PostgreSQL database (idempotent)"
    )
    move.add_argument("--from-sqlite", type=Path, required=True, metavar="DIR")
    move.add_argument("--to", required=True, metavar="URL", help="postgresql://…")
    move.set_defaults(handler=_migrate)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    """``--user``, and where the data is, also after the command (``chat --data-dir DIR``)."""
    parser.add_argument(
        "--user", default=None, help="user id (default: $MEMORY_AGENT_USER_ID or default-user)"
    )
    _add_where(parser)


def _add_where(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``/``--database-url`` after the command; unset, the ones before it hold."""
    parser.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help=DATA_DIR_HELP)
    parser.add_argument("--database-url", default=argparse.SUPPRESS, help=DATABASE_URL_HELP)


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table")


# ---- commands ------------------------------------------------------------------------------


def _chat(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    user = _user(args)
    if args.retry:
        if not args.thread:
            raise ValueError("--retry needs the --thread whose turn failed.")
        with _retry_hint(args, user, args.thread):
            _print_turn(chat.resume(runtime, user, args.thread))
        return 0
    thread_id = args.thread or threads.new_thread_id()
    if args.thread:
        threads.open_thread(runtime, user, thread_id)  # refuses another user's thread up front
    if args.message is not None:
        with _retry_hint(args, user, thread_id):
            _print_turn(chat.send(runtime, user, thread_id, args.message))
        return 0
    _ = runtime.graph  # built before the first prompt (runtime.py), so a prompt means ready
    print(
        f"Chatting as {user} in conversation {thread_id} with {describe_model(runtime.settings)}."
    )
    print("Type a message; 'exit' or Ctrl-D ends.")
    for line in _lines():
        if line.strip().lower() in QUIT_WORDS:
            break
        if not line.strip():
            continue
        try:
            _print_turn(chat.send(runtime, user, thread_id, line))
        except MODEL_ERRORS as error:
            print(
                f"error: {describe_model_error(error)} Your message is kept; answer it with: "
                f"{_retry_command(args, user, thread_id)}",
                file=sys.stderr,
            )
        except (ValueError, chat.ConversationBusy, faults.StorageError) as error:
            # One message failed (not UTF-8, busy, the disk full): say so, take the next one.
            print(f"error: {error}", file=sys.stderr)
    return 0


@contextmanager
def _retry_hint(args: argparse.Namespace, user: str, thread_id: str) -> Iterator[None]:
    """When the model fails, say how to answer the kept message; ``main`` prints the error.

    The hint comes first so that the last line of stderr is the error itself, for scripts.
    """
    try:
        yield
    except MODEL_ERRORS:
        print(
            f"Your message is kept; answer it with: {_retry_command(args, user, thread_id)}",
            file=sys.stderr,
        )
        raise


def _retry_command(args: argparse.Namespace, user: str, thread_id: str) -> str:
    """The exact command that retries the turn: same data directory, user and thread."""
    data_dir = f" --data-dir {shlex.quote(str(args.data_dir))}" if args.data_dir else ""
    return (
        f"{args.program}{data_dir} chat --user {shlex.quote(user)} --retry "
        f"--thread {shlex.quote(thread_id)}"
    )


def _print_turn(events: Iterable[str | chat.MemoryNote]) -> None:
    notes, printed = [], False
    try:
        for event in events:
            if isinstance(event, chat.MemoryNote):
                notes.append(event)
            else:
                print(event, end="", flush=True)
                printed = True
    except BaseException:
        if printed:
            print()  # end the line of a reply cut off half-way before the error is printed
        raise
    print()
    for note in notes:
        print(f"[{note}] ({note.key})")


def _memories_list(args: argparse.Namespace) -> int:
    rows = memories.list_memories(_runtime(args).store, _user(args))
    _print_memories(rows, args.format, with_score=False)
    return 0


def _memories_search(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    limit = args.limit or runtime.settings.recall_limit
    if not 1 <= limit <= 1000:
        raise ValueError("--limit must be 1 to 1000")
    rows = memories.search_memories(runtime.store, _user(args), args.query, limit=limit)
    _print_memories(rows, args.format, with_score=True)
    return 0


def _memories_history(args: argparse.Namespace) -> int:
    events = memories.history(_runtime(args).store, _user(args))
    if args.format == "json":
        print(json.dumps([asdict(e) for e in events], indent=2, ensure_ascii=False))
        return 0
    rows = [
        {
            "at": e.at,
            "action": e.action,
            "source": e.source,
            "key": e.memory_key,
            "content": (e.after or e.before or {}).get("content", ""),
            "change": e.id,
        }
        for e in events
    ]
    _print_rows(rows, args.format)
    return 0


def _memories_export(args: argparse.Namespace) -> int:
    user = _user(args)
    rows = memories.list_memories(_runtime(args).store, user)
    if args.format == "csv":
        sys.stdout.write(memories.export_csv(rows))
    else:
        print(memories.export_json(rows, user))
    return 0


def _memories_import(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise ValueError(f"Cannot read {args.file}: {error.strerror}.") from None
    rows = memories.parse_import(data, args.file.name)
    runtime = _runtime(args)
    user = _user(args)
    writes = memories.import_memories(runtime.store, user, rows, args.mode)
    counts = {
        action: sum(w.action == action for w in writes) for action in ("create", "update", "delete")
    }
    print(
        f"Imported {len(rows)} rows for {user}: {counts['create']} created, "
        f"{counts['update']} updated, {counts['delete']} deleted."
    )
    return 0


def _memories_delete(args: argparse.Namespace) -> int:
    write = memories.delete_memory(_runtime(args).store, _user(args), args.key, source="inspector")
    print(f"Deleted memory {write.key}: {write.before.content if write.before else ''}")
    return 0


def _threads_list(args: argparse.Namespace) -> int:
    rows = [asdict(t) for t in threads.list_threads(_runtime(args), _user(args))]
    _print_rows(rows, args.format, columns=["thread_id", "updated_at", "title"])
    return 0


def _threads_transcript(args: argparse.Namespace) -> int:
    print(threads.transcript_as_json(_runtime(args), _user(args), args.thread))
    return 0


def _state(args: argparse.Namespace) -> int:
    snapshot = threads.get_state(_runtime(args), _user(args), args.thread)
    print(threads.snapshot_as_json(snapshot))
    return 0


def _reindex(args: argparse.Namespace) -> int:
    settings = Configuration.from_runnable_config()
    persistence = open_persistence(
        settings, args.data_dir, args.database_url, check_embedding=False
    )
    try:
        count = reindex(persistence, settings)
    finally:
        persistence.close()
    print(
        f"Re-embedded {count} memories with {settings.embedding} ({settings.embedding_dims} dims)."
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from memory_agent.backends import migrate  # needs the postgres extra

    counts = migrate.migrate(args.from_sqlite, args.to, Configuration.from_runnable_config())
    print(counts.summary())
    return 0


# ---- helpers -------------------------------------------------------------------------------


def _runtime(args: argparse.Namespace) -> Runtime:
    return open_runtime(args.data_dir, args.database_url)


def _user(args: argparse.Namespace) -> str:
    overrides = {"user_id": args.user} if args.user is not None else {}
    return Configuration.from_runnable_config({"configurable": overrides}).user_id


def _print_memories(rows: list[memories.Memory], fmt: str, *, with_score: bool) -> None:
    if fmt == "csv":
        sys.stdout.write(memories.export_csv(rows))
        return
    records = [asdict(m) for m in rows]
    if not with_score:
        for record in records:
            del record["score"]
    columns = (["score"] if with_score else []) + ["key", "updated_at", "source", "content"]
    _print_rows(records, fmt, columns=columns)


def _print_rows(rows: list[dict[str, Any]], fmt: str, columns: list[str] | None = None) -> None:
    if fmt == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    columns = columns or (list(rows[0]) if rows else [])
    if fmt == "csv":
        import csv

        writer = csv.DictWriter(
            sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(
            {c: memories.neutralise_cell(_csv_text(row.get(c))) for c in columns} for row in rows
        )
        return
    if not rows:
        print("(none)")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _csv_text(value: Any) -> str:
    return "" if value is None else str(value)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    text = " ".join(str("" if value is None else value).split())
    return text if len(text) <= 70 else text[:69] + "…"


def _readable(text: str) -> str:
    """``text`` with the bytes that were not UTF-8 (kept as lone surrogates) shown as �."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _lines() -> Iterator[str]:
    """Typed lines; bytes that are not UTF-8 reach ``chat.send`` and are refused there."""
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="surrogateescape")
    echo = not sys.stdin.isatty()  # piped lines: shown after the prompt, as if typed
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print()
            return
        if echo:  # bytes that are not UTF-8 are refused by chat.send
            print(_readable(line))
        yield line


def _location(args: argparse.Namespace) -> str:
    """Where this command's data lives, as a fault sentence names it."""
    url = args.database_url or default_database_url()
    if url:
        from memory_agent.backends.postgres import describe  # the URL without its password

        return describe(url)
    from memory_agent.backends.sqlite import default_data_dir

    return str(args.data_dir or default_data_dir())


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line, always
    return 1


if __name__ == "__main__":
    raise SystemExit(main(program="python -m memory_agent.cli"))
