"""Every item of one store namespace, in as few queries as the store allows.

The stores page a search with OFFSET, and each page sorts the whole namespace again: at 10k
memories with their history, pages of 1,000 took 23 queries and 1.2 s where one query per
namespace took 0.35 s (bench/inspector.py). Callers that need a whole namespace ask for it at
once; a namespace larger than ``ONE_READ`` is still read whole, in pages of that size.
"""

from __future__ import annotations

from typing import Any

from langgraph.store.base import BaseStore, Item

ONE_READ = 100_000


def every_item(
    store: BaseStore, namespace: tuple[str, ...], filter: dict[str, Any] | None = None
) -> list[Item]:
    """Every item of ``namespace`` (matching ``filter``), in the store's order.

    A store that reads one namespace whole in one query (``AtomicSqliteStore.namespace_items``)
    is asked for it that way.
    """
    whole = getattr(store, "namespace_items", None)
    if whole is not None and not filter:
        return whole(namespace)
    items: list[Item] = []
    while True:
        page = store.search(namespace, filter=filter, limit=ONE_READ, offset=len(items))
        items += page
        if len(page) < ONE_READ:
            # A search matches namespace prefixes: thread "t" would also see thread "t2".
            return [item for item in items if item.namespace == namespace]
