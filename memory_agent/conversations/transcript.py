"""A conversation's whole transcript, kept apart from the graph's bounded state.

The checkpoint holds only the recent turns (``state.BoundedState``), so a turn costs the same at
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

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from langgraph.store.base import BaseStore, GetOp, PutOp

TRANSCRIPT = "transcript"
HEAD = "~head"
"""The item naming the latest recorded message (message ids never start with ``~``)."""
PAGE = 1_000


def namespace(thread_id: str) -> tuple[str, str]:
    """Where one thread's transcript lives in the store."""
    return (TRANSCRIPT, thread_id)


def record(store: BaseStore, thread_id: str, window: Sequence[BaseMessage]) -> int:
    """Keep the window's messages the transcript does not hold yet; how many were new.

    Idempotent (a re-run of a crashed turn writes the same items again) and one batch of writes.
    Usually one read: the head names the latest recorded message, so only what follows it in the
    window is new; after a fork the head is on another branch and every window id is looked up.
    """
    if not window:
        return 0
    ns = namespace(thread_id)
    ids = [m.id for m in window]
    [head] = store.batch([GetOp(ns, HEAD)])
    latest = head.value.get("id") if head else None
    if latest in ids:
        start = ids.index(latest) + 1
        new = list(range(start, len(window)))
    else:
        found = store.batch([GetOp(ns, key) for key in ids])
        new = [i for i, item in enumerate(found) if item is None]
    if not new:
        return 0
    puts = [
        PutOp(
            ns,
            ids[i],
            {"previous": ids[i - 1] if i else None, "message": message_to_dict(window[i])},
            index=False,
        )
        for i in new
    ]
    store.batch([*puts, PutOp(ns, HEAD, {"id": ids[-1]}, index=False)])
    return len(new)


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


def whole(store: BaseStore, thread_id: str, window: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The whole conversation: what the transcript keeps before the window, then the window."""
    return [*earlier(store, thread_id, window), *window]


def delete(store: BaseStore, thread_id: str) -> None:
    """Forget a deleted thread's transcript."""
    keys = list(_items(store, thread_id))
    if keys:
        store.batch([PutOp(namespace(thread_id), key, None) for key in [*keys, HEAD]])


def _items(store: BaseStore, thread_id: str) -> dict[str, dict[str, Any]]:
    """Every recorded message of the thread by id (not the head), read a page at a time."""
    ns = namespace(thread_id)
    items: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = store.search(ns, limit=PAGE, offset=offset)
        # A search matches namespace prefixes: thread "t" would also see thread "t2".
        items.update((i.key, i.value) for i in page if i.namespace == ns and i.key != HEAD)
        if len(page) < PAGE:
            return items
        offset += PAGE
