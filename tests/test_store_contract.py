"""Every store the product ships passes one contract (``tests/store_contract.py``).

SQLite (``AtomicSqliteStore``) and PostgreSQL (``PostgresStore``) as ``open_persistence`` opens
them, and ``RemoteStore`` against a real ``langgraph dev`` serving this project's langgraph.json.
A check a backend cannot pass is listed in ``GAPS`` with the reason and runs as a strict xfail,
so it shows in every run and turns red the day it passes.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from langgraph.store.base import BaseStore
from langgraph_sdk import get_sync_client

from memory_agent.backends import open_persistence
from memory_agent.backends.remote_store import RemoteStore
from memory_agent.configuration import Configuration
from tests.langgraph_server import LangGraphServer
from tests.postgres_server import PostgresServer
from tests.store_contract import CHECKS

BACKENDS = ("sqlite", "postgres", "remote")
GAPS = {
    ("postgres", "search_applies_comparison_filters"): (
        "PostgresStore compares numbers as text (value->>'price' > '5'), so 10 > 5 is false"
    ),
    ("postgres", "filter_keys_may_have_hyphens_digits_and_paths"): (
        "PostgresStore reads a dotted key as one top-level field (value->'user.access-level')"
    ),
    ("remote", "put_get_update_delete_round_trip"): (
        "langgraph dev's in-memory store gives an updated item a new created_at"
    ),
}
_databases = itertools.count()


@pytest.fixture(scope="module")
def postgres_store(postgres_server: PostgresServer) -> Iterator[BaseStore]:
    name = f"store_contract_{next(_databases)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    persistence = open_persistence(
        Configuration.from_runnable_config(), database_url=postgres_server.url(name)
    )
    yield persistence.store
    persistence.close()
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def remote_store(langgraph_server: LangGraphServer) -> BaseStore:
    return RemoteStore(get_sync_client(url=langgraph_server.url))


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseStore]:
    backend = request.node.callspec.params["backend"]
    if backend == "sqlite":
        persistence = open_persistence(Configuration.from_runnable_config(), tmp_path / "data")
        yield persistence.store
        persistence.close()
    else:
        yield request.getfixturevalue(f"{backend}_store")


def _cases() -> Iterator:
    for backend in BACKENDS:
        for name in CHECKS:
            reason = GAPS.get((backend, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason is not None else []
            yield pytest.param(backend, name, id=f"{backend}-{name}", marks=marks)


@pytest.mark.parametrize(("backend", "check"), _cases())
def test_the_store_keeps_the_contract(store: BaseStore, backend: str, check: str) -> None:
    root = ("contract", uuid.uuid4().hex[:12])  # stores may be shared: each check has its own
    CHECKS[check](store, root)


def test_the_remote_adapter_refuses_unsafe_keys_and_dotted_labels_before_any_request() -> None:
    store = RemoteStore(get_sync_client(url="http://127.0.0.1:9"))  # nothing listens there
    with pytest.raises(ValueError, match="Invalid filter key"):
        store.search(("docs",), filter={"access') OR '1'='1": "x"})
    with pytest.raises(ValueError, match="Unsupported filter operator"):
        store.search(("docs",), filter={"price": {"$regex": ".*"}})
    with pytest.raises(ValueError, match="cannot contain periods"):
        store.search(("a.b",))
