"""Cost of one turn at turn 10, 100 and 500 of a thread, on SQLite and PostgreSQL.

Four agents advance turn by turn in lockstep with two floors (``common.interleaved``): the
product's graph (the whole conversation in the state) and the bounded prototype (recent turns in
the state, the rest in ``conversations.transcript``), each on SQLite and on PostgreSQL, against
the same ``call_model`` over a plain list with no checkpoint (``NoCheckpointConversation``).
Each mark is the median of the ``SPAN`` turns around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import psycopg

from bench.agent_runs import (
    NoCheckpointConversation,
    build_bounded_graph,
    sqlite_agent,
    turn,
)
from bench.common import Figure, interleaved, median, ms
from memory_agent.backends import Persistence
from memory_agent.backends.postgres import open_postgres
from memory_agent.configuration import Configuration
from memory_agent.graph import build_graph
from tests.postgres_server import PostgresServer

MARKS = {"full": [10, 100, 500], "tiny": [3, 8]}
SPAN = {"full": 10, "tiny": 4}
GROWTH_TARGET = 1.5
"""Turn 500 may cost at most this many times turn 10 (issue 18)."""


@contextmanager
def _postgres_database(server: PostgresServer, name: str) -> Iterator[Persistence]:
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    persistence = open_postgres(server.url(name), Configuration.from_runnable_config())
    try:
        yield persistence
    finally:
        persistence.close()


def _agents(stack: ExitStack) -> dict[str, Callable[[int], object]]:
    """Every agent and floor as ``turn(number)``, each on its own fresh thread and database."""
    agents: dict[str, Callable[[int], object]] = {}
    for shape, build in (("whole state", build_graph), ("bounded", build_bounded_graph)):
        _, sqlite = stack.enter_context(sqlite_agent())
        agents[f"SQLite, {shape}"] = _driver(build(sqlite.checkpointer, sqlite.store))
    server = stack.enter_context(PostgresServer())
    for shape, build in (("whole state", build_graph), ("bounded", build_bounded_graph)):
        name = "bench_" + shape.replace(" ", "_")
        postgres = stack.enter_context(_postgres_database(server, name))
        agents[f"Postgres, {shape}"] = _driver(build(postgres.checkpointer, postgres.store))
    agents["floor, whole state"] = NoCheckpointConversation().turn
    agents["floor, bounded"] = NoCheckpointConversation(bounded=True).turn
    return agents


def _driver(graph) -> Callable[[int], object]:
    return lambda number: turn(graph, "t", number)


def run(scale: str = "full") -> list[Figure]:
    marks, span = MARKS[scale], SPAN[scale]
    with ExitStack() as stack:
        agents = _agents(stack)
        times = interleaved(agents, marks[-1] + span // 2)
    at = {
        name: {m: [times[name][n - 1] for n in range(m - span // 2, m + span // 2)] for m in marks}
        for name in times
    }
    figures = []
    for name in (n for n in times if not n.startswith("floor")):
        floor = "floor, " + name.split(", ")[1]
        figures += [
            Figure(
                "turn cost",
                f"turn {mark}, {name}",
                ms(median(at[name][mark])),
                "same call_model, no checkpoint",
                ms(median(at[floor][mark])),
                "ms",
                target="report",
                low=ms(min(at[name][mark])),
                high=ms(max(at[name][mark])),
            )
            for mark in marks
        ]
    first, last = marks[0], marks[-1]
    for name in times:
        growth = median(at[name][last]) / median(at[name][first])
        figures.append(
            Figure(
                "turn growth",
                f"turn {last} vs turn {first}, {name}",
                ms(median(at[name][last])),
                f"turn {first}, same agent",
                ms(median(at[name][first])),
                "ms",
                target="report" if name.startswith("floor") else f"≤ {GROWTH_TARGET}×",
                met=None if name.startswith("floor") else growth <= GROWTH_TARGET,
            )
        )
    return figures
