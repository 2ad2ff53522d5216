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
    ids = [m.id for m in window]
    stored = store.batch([GetOp(ns, key) for key in ids])
    puts = []
    for i, (message, item) in enumerate(zip(window, stored, strict=True)):
        first_known = item.value.get("previous") if item else None
        previous = ids[i - 1] if i else first_known
        value = {"previous": previous, "message": message_to_dict(message)}
        if item is None or item.value != value:
            puts.append(PutOp(ns, ids[i], value, index=False))
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
        ids = [m.id for m in window]
        for i, message in enumerate(window):
            known = items.get(ids[i], {}).get("previous")
            items[ids[i]] = {
                "previous": ids[i - 1] if i else known,
                "message": message_to_dict(message),
            }
    ns = namespace(thread_id)
    store.batch([PutOp(ns, key, value, index=False) for key, value in items.items()])
    return len(items)


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
