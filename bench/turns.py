"""Cost of one turn at turn 10, 100 and 500 of a thread, on SQLite and PostgreSQL.

Four agents advance turn by turn in lockstep with two floors, each in its own process
(``common.interleaved_processes``): the product's graph (the whole conversation in the state)
and the bounded prototype (recent turns in the state, the rest in ``conversations.transcript``),
each on SQLite and on PostgreSQL, against the same ``call_model`` over a plain list with no
checkpoint (``NoCheckpointConversation``). Each mark is the median of the ``SPAN`` turns around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import psycopg

from bench.agent_runs import NoCheckpointConversation, build_bounded_graph, sqlite_agent, turn
from bench.common import Agent, Figure, interleaved_processes, median, ms
from memory_agent.backends.postgres import open_postgres
from memory_agent.configuration import Configuration
from memory_agent.graph import build_graph
from tests.postgres_server import PostgresServer

MARKS = {"full": [10, 100, 500], "tiny": [3, 8]}
SPAN = {"full": 10, "tiny": 4}
GROWTH_TARGET = 1.5
"""Turn 500 may cost at most this many times turn 10 (issue 18)."""
BUILDS = {"whole state": build_graph, "bounded": build_bounded_graph}


@contextmanager
def _on_sqlite(build) -> Iterator[Callable[[int], object]]:
    with sqlite_agent() as (_, persistence):
        graph = build(persistence.checkpointer, persistence.store)
        yield lambda number: turn(graph, "t", number)


@contextmanager
def _on_postgres(build, url: str) -> Iterator[Callable[[int], object]]:
    persistence = open_postgres(url, Configuration.from_runnable_config())
    try:
        graph = build(persistence.checkpointer, persistence.store)
        yield lambda number: turn(graph, "t", number)
    finally:
        persistence.close()


@contextmanager
def _floor(bounded: bool) -> Iterator[Callable[[int], object]]:
    yield NoCheckpointConversation(bounded=bounded).turn


def _agents(server: PostgresServer) -> dict[str, Agent]:
    """Every agent and floor, each on its own fresh thread and database."""
    agents: dict[str, Agent] = {}
    for shape, build in BUILDS.items():
        agents[f"SQLite, {shape}"] = partial(_on_sqlite, build)
    for shape, build in BUILDS.items():
        database = "bench_" + shape.replace(" ", "_")
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        agents[f"Postgres, {shape}"] = partial(_on_postgres, build, server.url(database))
    agents["floor, whole state"] = partial(_floor, False)
    agents["floor, bounded"] = partial(_floor, True)
    return agents


def run(scale: str = "full") -> list[Figure]:
    marks, span = MARKS[scale], SPAN[scale]
    with PostgresServer() as server:
        times = interleaved_processes(_agents(server), marks[-1] + span // 2)
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
        is_floor = name.startswith("floor")
        figures.append(
            Figure(
                "turn growth",
                f"turn {last} vs turn {first}, {name}",
                ms(median(at[name][last])),
                f"turn {first}, same agent",
                ms(median(at[name][first])),
                "ms",
                target="report" if is_floor else f"≤ {GROWTH_TARGET}×",
                met=None if is_floor else growth <= GROWTH_TARGET,
            )
        )
    return figures
