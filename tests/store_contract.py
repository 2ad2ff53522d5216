"""What every ``BaseStore`` the product ships must do: the project's own store contract.

It covers what LangGraph's own store tests check (libs/checkpoint-sqlite/tests/test_store.py and
the Postgres twin): batch order, get/put/delete, search with equality and comparison filters,
filter keys with hyphens and digits, unsafe filter keys and values, paging, vector scores,
namespaces and depth, deleted namespaces, TTL and non-ASCII text. Each check takes a store and a
root namespace of its own (stores may be shared, as a LangGraph Server's is), and values carry a
``content`` field, the one field every backend's index embeds.

``CHECKS`` maps a name to each check; a backend's known gaps are listed beside it in the test
module, with the reason, rather than skipped silently.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)

Namespace = tuple[str, ...]


def batch_keeps_the_order_of_its_operations(store: BaseStore, root: Namespace) -> None:
    foo, bar = (*root, "foo"), (*root, "bar")
    store.put(foo, "key1", {"content": "value1"})
    store.put(bar, "key2", {"content": "value2"})
    results = store.batch(
        [
            GetOp(foo, "key1"),
            PutOp(bar, "key2", {"content": "value2"}),
            SearchOp(root, filter={"content": "value1"}, limit=10, offset=0),
            ListNamespacesOp((MatchCondition("prefix", root),), max_depth=None, limit=10),
            GetOp(root, "key3"),
            PutOp(root, "key3", {"content": "value3"}),
        ]
    )
    assert len(results) == 6
    assert isinstance(results[0], Item) and results[0].value == {"content": "value1"}
    assert results[0].namespace == foo and results[0].key == "key1"
    assert results[1] is None
    assert [item.key for item in results[2]] == ["key1"]
    assert set(results[3]) == {foo, bar}
    assert results[4] is None
    assert results[5] is None
    assert store.get(root, "key3").value == {"content": "value3"}


def put_get_update_delete_round_trip(store: BaseStore, root: Namespace) -> None:
    store.put(root, "k", {"content": "first", "n": 1})
    first = store.get(root, "k")
    assert first.value == {"content": "first", "n": 1}
    store.put(root, "k", {"content": "second"})
    second = store.get(root, "k")
    assert second.value == {"content": "second"}
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at  # SQLite's clock counts whole seconds
    store.delete(root, "k")
    assert store.get(root, "k") is None
    assert store.get(root, "never-written") is None


def search_filters_on_equality(store: BaseStore, root: Namespace) -> None:
    store.put(root, "a", {"content": "red apple", "color": "red", "stock": 4, "active": True})
    store.put(root, "b", {"content": "red car", "color": "red", "stock": 0, "active": False})
    store.put(root, "c", {"content": "green apple", "color": "green", "stock": 4, "active": True})

    def keys(**filter_: Any) -> list[str]:
        return sorted(item.key for item in store.search(root, filter=filter_))

    assert keys(color="red") == ["a", "b"]
    assert keys(color="red", stock=4) == ["a"]
    assert keys(active=True) == ["a", "c"]
    assert keys(active=False) == ["b"]
    assert keys(color="blue") == []


def search_applies_comparison_filters(store: BaseStore, root: Namespace) -> None:
    for key, price in (("cheap", 10), ("mid", 20), ("dear", 30), ("owed", -10)):
        store.put(root, key, {"content": key, "price": price})
    store.put(root, "unpriced", {"content": "no price at all"})

    def keys(**operators: Any) -> list[str]:
        return sorted(item.key for item in store.search(root, filter={"price": operators}))

    assert keys(**{"$gt": 15}) == ["dear", "mid"]
    assert keys(**{"$gte": 20}) == ["dear", "mid"]
    assert keys(**{"$lt": 0}) == ["owed"]
    assert keys(**{"$lte": 10}) == ["cheap", "owed"]
    assert keys(**{"$gt": 5, "$lt": 25}) == ["cheap", "mid"]
    assert keys(**{"$ne": 10}) == ["dear", "mid", "owed"]
    assert keys(**{"$lt": 10**100}) == ["cheap", "dear", "mid", "owed"]
    assert keys(**{"$lt": math.inf}) == ["cheap", "dear", "mid", "owed"]
    assert keys(**{"$gt": -math.inf}) == ["cheap", "dear", "mid", "owed"]
    assert keys(**{"$eq": math.nan}) == []


def filter_keys_may_have_hyphens_digits_and_paths(store: BaseStore, root: Namespace) -> None:
    store.put(
        root,
        "hyphen",
        {"content": "h", "access-level": "public", "user": {"access-level": "nested"}},
    )
    store.put(root, "digit", {"content": "d", "123abc": "ok", "user": {"123abc": "ok2"}})

    def keys(key: str, value: str) -> list[str]:
        return [item.key for item in store.search(root, filter={key: value})]

    assert keys("access-level", "public") == ["hyphen"]
    assert keys("user.access-level", "nested") == ["hyphen"]
    assert keys("123abc", "ok") == ["digit"]
    assert keys("user.123abc", "ok2") == ["digit"]


def unsafe_filter_keys_never_widen_a_search(store: BaseStore, root: Namespace) -> None:
    store.put(root, "public", {"content": "public info", "access": "public"})
    store.put(root, "private", {"content": "secret", "access": "private", "password": "123"})
    assert [item.key for item in store.search(root, filter={"access": "public"})] == ["public"]
    malicious = "access') = 'public' OR '1'='1' OR json_extract(value, '$."
    with contextlib.suppress(ValueError):  # refusing the key is right; so is matching nothing
        assert store.search(root, filter={malicious: "dummy"}) == []


def filter_values_are_literal(store: BaseStore, root: Namespace) -> None:
    store.put(root, "d1", {"content": "Public", "access": "public"})
    store.put(root, "d2", {"content": "Private", "access": "private"})
    for value in ("public' OR '1'='1", "public'; --", "public' UNION SELECT * FROM store --"):
        assert store.search(root, filter={"access": value}) == []
    store.put(root, "d3", {"content": "O'Brien's Document", "access": "public"})
    [found] = store.search(root, filter={"content": "O'Brien's Document"})
    assert found.key == "d3"


def search_pages_with_limit_and_offset(store: BaseStore, root: Namespace) -> None:
    for index in range(30):
        store.put(root, f"m{index:02}", {"content": f"memory number {index}", "i": index})
    assert len(store.search(root, limit=25)) == 25
    assert len(store.search(root, limit=100)) == 30
    assert len(store.search(root)) == 10  # the documented default limit
    pages = [store.search(root, limit=10, offset=offset) for offset in (0, 10, 20)]
    keys = [item.key for page in pages for item in page]
    assert len(keys) == 30 and len(set(keys)) == 30
    filtered = store.search(root, filter={"i": {"$gte": 10}}, limit=15, offset=5)
    assert len(filtered) == 15 and all(item.value["i"] >= 10 for item in filtered)


def query_search_ranks_by_score(store: BaseStore, root: Namespace) -> None:
    for key, content in (
        ("sail", "User loves sailing"),
        ("acme", "User works at Acme"),
        ("rex", "User has a dog called Rex"),
    ):
        store.put(root, key, {"content": content})
    found = store.search(root, query="User loves sailing", limit=3)
    assert found[0].key == "sail"
    assert found[0].score == pytest.approx(1.0, abs=1e-3)
    scores = [item.score for item in found]
    assert all(score is not None for score in scores) and scores == sorted(scores, reverse=True)
    filtered = store.search(
        root, query="User loves sailing", filter={"content": "User works at Acme"}
    )
    assert [item.key for item in filtered] == ["acme"]
    assert len(store.search(root, query="")) == 3
    assert len(store.search(root, query="test!@#$%^&*()")) == 3


def namespaces_list_by_prefix_suffix_and_depth(store: BaseStore, root: Namespace) -> None:
    for path in (("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("ab", "x"), ("f",)):
        store.put((*root, *path), "k", {"content": "/".join(path)})

    def listed(**kwargs: Any) -> set[Namespace]:
        return set(store.list_namespaces(prefix=root, limit=100, **kwargs))

    assert listed() == {
        (*root, "a", "b", "c"),
        (*root, "a", "b", "d"),
        (*root, "a", "e"),
        (*root, "ab", "x"),
        (*root, "f"),
    }
    assert set(store.list_namespaces(prefix=(*root, "a"), limit=100)) == {
        (*root, "a", "b", "c"),
        (*root, "a", "b", "d"),
        (*root, "a", "e"),
    }  # a segment boundary: "ab" is not under "a"
    assert listed(max_depth=len(root) + 1) == {(*root, "a"), (*root, "ab"), (*root, "f")}
    assert set(store.list_namespaces(prefix=root, suffix=("b", "c"))) == {(*root, "a", "b", "c")}
    first = store.list_namespaces(prefix=root, limit=2)
    rest = store.list_namespaces(prefix=root, limit=10, offset=2)
    assert len(first) == 2 and len(rest) == 3 and not set(first) & set(rest)


def search_prefix_stops_at_segment_boundaries(store: BaseStore, root: Namespace) -> None:
    store.put((*root, "docs"), "in", {"content": "inside"})
    store.put((*root, "docsX"), "out", {"content": "outside"})
    store.put((*root, "Docs"), "case", {"content": "other case"})
    assert [item.key for item in store.search((*root, "docs"))] == ["in"]


def namespaces_whose_items_were_all_deleted_are_not_listed(
    store: BaseStore, root: Namespace
) -> None:
    store.put((*root, "kept"), "k", {"content": "stays"})
    store.put((*root, "emptied"), "k", {"content": "goes"})
    store.delete((*root, "emptied"), "k")
    assert store.list_namespaces(prefix=root) == [(*root, "kept")]


def ttl_is_accepted_and_items_live_until_it_passes(store: BaseStore, root: Namespace) -> None:
    assert store.supports_ttl
    store.put(root, "short", {"content": "short-lived"}, ttl=0.01)  # minutes
    store.put(root, "long", {"content": "long-lived"}, ttl=60)
    assert store.get(root, "short").value == {"content": "short-lived"}
    assert store.get(root, "long", refresh_ttl=True) is not None
    assert {item.key for item in store.search(root, refresh_ttl=False)} == {"short", "long"}
    if hasattr(store, "sweep_ttl"):  # in-process stores can expire items on demand
        time.sleep(2.1)  # SQLite's expiry times count whole seconds
        store.sweep_ttl()
        assert store.get(root, "short") is None
        assert store.get(root, "long") is not None


def non_ascii_text_round_trips(store: BaseStore, root: Namespace) -> None:
    value = {"content": "User's name is 李明, loves crème brûlée 🍮", "ключ": "значение"}
    store.put(root, "ключ-1", value)
    assert store.get(root, "ключ-1").value == value
    [found] = store.search(root, filter={"content": value["content"]})
    assert found.key == "ключ-1"


def every_item_reads_one_namespace_whole(store: BaseStore, root: Namespace) -> None:
    """What the inspector, the transcript and migrate read: every item of exactly that namespace."""
    from memory_agent.backends.items import every_item

    docs = (*root, "docs")
    for n in range(3):
        store.put(docs, f"k{n}", {"content": f"item {n}"})
    store.put(docs, "k1", {"content": "item 1, updated"})
    store.put((*docs, "deeper"), "deep", {"content": "one level down"})
    store.put((*root, "docsX"), "next", {"content": "a neighbour"})
    found = every_item(store, docs)
    assert {item.key: item.value["content"] for item in found} == {
        "k0": "item 0",
        "k1": "item 1, updated",
        "k2": "item 2",
    }
    searched = [item for item in store.search(docs) if item.namespace == docs]

    def rows(items: list) -> list:
        return sorted((i.key, i.value, i.namespace, i.created_at, i.updated_at) for i in items)

    assert rows(found) == rows(searched)  # the same items, as the store's own search reads them


CHECKS: dict[str, Callable[[BaseStore, Namespace], None]] = {
    check.__name__: check
    for check in (
        batch_keeps_the_order_of_its_operations,
        put_get_update_delete_round_trip,
        search_filters_on_equality,
        search_applies_comparison_filters,
        filter_keys_may_have_hyphens_digits_and_paths,
        unsafe_filter_keys_never_widen_a_search,
        filter_values_are_literal,
        search_pages_with_limit_and_offset,
        query_search_ranks_by_score,
        namespaces_list_by_prefix_suffix_and_depth,
        search_prefix_stops_at_segment_boundaries,
        namespaces_whose_items_were_all_deleted_are_not_listed,
        ttl_is_accepted_and_items_live_until_it_passes,
        non_ascii_text_round_trips,
        every_item_reads_one_namespace_whole,
    )
}
