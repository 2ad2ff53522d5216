"""A conversation's whole transcript, kept apart from the graph's bounded state.

The checkpoint holds only the recent turns (``state.State``), so a turn costs the same at
message 1,000 as at message 20. Every message is copied here while it is still in that window:
``record`` runs before each model call, which sees every message of the turns before it. The
chat page, exports and the inspector read ``whole``: what is kept here before the window, then
the window itself, so the newest messages always come from the checkpoint.

Items live in the store (``("transcript", thread_id)``, key = message id, not embedded), so the
same code works on SQLite, PostgreSQL and a LangGraph Server. Each item names the message before
it: a fork from an older checkpoint starts a new branch of that chain, and a branch reads back
only its own messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from langgraph.store.base import BaseStore, GetOp, PutOp

from memory_agent.backends.items import every_item

TRANSCRIPT = "transcript"


def namespace(thread_id: str) -> tuple[str, str]:
    """Where one thread's transcript lives in the store."""
    return (TRANSCRIPT, thread_id)


def record(store: BaseStore, thread_id: str, window: Sequence[BaseMessage]) -> int:
    """Keep the window's messages as they are now; how many items were written.

    One batched read of the window's ids, then one batch of writes for the items that are new
    or differ: a message edited in a fork keeps its id with a new text, and the message after
    a removed one names a new ``previous``, so ``whole`` shows the edit and skips the removed
    message once they have left the window. Idempotent: a re-run of a crashed turn writes
    nothing. The window's first message keeps the ``previous`` already recorded for it (what
    came before it is not in the window).
    """
    if not window:
        return 0
    ns = namespace(thread_id)
    stored = store.batch([GetOp(ns, m.id) for m in window])
    first_known = stored[0].value.get("previous") if stored[0] else None
    values = _window_items(window, first_known)
    puts = [
        PutOp(ns, key, value, index=False)
        for (key, value), item in zip(values.items(), stored, strict=True)
        if item is None or item.value != value
    ]
    if puts:
        store.batch(puts)
    return len(puts)


def record_history(
    store: BaseStore, thread_id: str, windows: Iterable[Sequence[BaseMessage]]
) -> int:
    """Keep every message of a thread's past windows (oldest first); how many were written.

    Each message was the newest of some checkpoint's window, so the windows of every checkpoint
    together hold the whole conversation, however the state was trimmed: this recovers the
    transcript of a thread written before it existed (on a LangGraph Server, whose history is all
    a client can read). A later window's version of a message wins, as in ``record``.
    """
    items: dict[str, dict[str, Any]] = {}
    for window in windows:
        if window:
            items |= _window_items(window, items.get(window[0].id, {}).get("previous"))
    ns = namespace(thread_id)
    store.batch([PutOp(ns, key, value, index=False) for key, value in items.items()])
    return len(items)


def _window_items(
    window: Sequence[BaseMessage], first_previous: str | None
) -> dict[str, dict[str, Any]]:
    """The items a window records: each message, with the id of the one before it.

    The window's first message takes ``first_previous`` (what came before it is not in it).
    """
    ids = [m.id for m in window]
    return {
        ids[i]: {"previous": ids[i - 1] if i else first_previous, "message": message_to_dict(m)}
        for i, m in enumerate(window)
    }


def earlier(
    store: BaseStore, thread_id: str, window: Sequence[BaseMessage], limit: int | None = None
) -> list[BaseMessage]:
    """The messages before the window, oldest first; with ``limit``, only the latest ones.

    Follows each item's ``previous`` back from the window's first message, so a forked thread
    reads only its own branch. Empty when the window is the whole conversation.
    """
    if not window:
        return []
    items = _items(store, thread_id)
    chain: list[dict[str, Any]] = []
    key = items.get(window[0].id, {}).get("previous")
    while key in items and (limit is None or len(chain) < limit):
        chain.append(items[key]["message"])
        key = items[key]["previous"]
    return messages_from_dict(chain[::-1])


def has_earlier(store: BaseStore, thread_id: str, window: Sequence[BaseMessage]) -> bool:
    """Whether messages came before the window (one read: its first message's item)."""
    if not window:
        return False
    [item] = store.batch([GetOp(namespace(thread_id), window[0].id)])
    return bool(item and item.value.get("previous"))


def whole(store: BaseStore, thread_id: str, window: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The whole conversation: what the transcript keeps before the window, then the window."""
    return [*earlier(store, thread_id, window), *window]


def delete(store: BaseStore, thread_id: str) -> None:
    """Forget a deleted thread's transcript."""
    keys = list(_items(store, thread_id))
    if keys:
        store.batch([PutOp(namespace(thread_id), key, None) for key in keys])


def _items(store: BaseStore, thread_id: str) -> dict[str, dict[str, Any]]:
    """Every recorded message of the thread by id."""
    return {item.key: item.value for item in every_item(store, namespace(thread_id))}
