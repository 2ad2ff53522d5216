"""Cost of one turn at turn 10, 100 and 500 of a thread, on SQLite and PostgreSQL.

Four agents and two floors, each in its own process (``common.interleaved_processes``): the
product's graph (the recent turns in the state, the rest in ``conversations.transcript``) and
the whole-state graph it replaced (the "before" row), each on SQLite and on PostgreSQL, and the
same ``call_model`` over a plain list with no checkpoint (``NoCheckpointConversation``). Each
agent first builds one thread per mark to just before it (untimed); then every round times one
more turn of each thread, so turn 500 and turn 10 are measured side by side, as are an agent and
its floor. Each figure is the median of ``ROUNDS`` turns around its mark (turns 3–17 for 10).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import psycopg

from bench.agent_runs import NoCheckpointConversation, build_whole_state_graph, sqlite_agent, turn
from bench.common import Agent, Figure, interleaved_processes, median, ms
from memory_agent.backends.postgres import open_postgres
from memory_agent.configuration import Configuration
from memory_agent.graph import build_graph
from tests.postgres_server import PostgresServer

MARKS = {"full": [10, 100, 500], "tiny": [3, 8]}
ROUNDS = {"full": 15, "tiny": 3}
GROWTH_TARGET = 1.5
"""Turn 500 may cost at most this many times turn 10 (issue 18)."""
BUILDS = {"bounded": build_graph, "whole state (before)": build_whole_state_graph}
Step = Callable[[int], object]


def _threads_before(marks: list[int], rounds: int, turn_of: Callable[[int, int], object]) -> Step:
    """Build one thread per mark up to ``mark - rounds // 2``; ``step(mark)`` is its next turn."""
    done = {}
    for mark in marks:
        done[mark] = max(0, mark - rounds // 2 - 1)
        for number in range(1, done[mark] + 1):
            turn_of(mark, number)

    def step(mark: int) -> None:
        done[mark] += 1
        turn_of(mark, done[mark])

    return step


@contextmanager
def _on_sqlite(build, marks: list[int], rounds: int) -> Iterator[Step]:
    with sqlite_agent() as (_, persistence):
        graph = build(persistence.checkpointer, persistence.store)
        yield _threads_before(marks, rounds, lambda mark, n: turn(graph, f"t{mark}", n))


@contextmanager
def _on_postgres(build, url: str, marks: list[int], rounds: int) -> Iterator[Step]:
    persistence = open_postgres(url, Configuration.from_runnable_config())
    try:
        graph = build(persistence.checkpointer, persistence.store)
        yield _threads_before(marks, rounds, lambda mark, n: turn(graph, f"t{mark}", n))
    finally:
        persistence.close()


@contextmanager
def _floor(bounded: bool, marks: list[int], rounds: int) -> Iterator[Step]:
    floors = {mark: NoCheckpointConversation(bounded=bounded) for mark in marks}
    yield _threads_before(marks, rounds, lambda mark, n: floors[mark].turn(n))


def _agents(server: PostgresServer, marks: list[int], rounds: int) -> dict[str, Agent]:
    """Every agent and floor, each on its own fresh thread and database."""
    agents: dict[str, Agent] = {}
    for shape, build in BUILDS.items():
        agents[f"SQLite, {shape}"] = partial(_on_sqlite, build, marks, rounds)
    for shape, build in BUILDS.items():
        database = "bench_" + "".join(c if c.isalnum() else "_" for c in shape)
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        agents[f"Postgres, {shape}"] = partial(
            _on_postgres, build, server.url(database), marks, rounds
        )
    agents["floor, bounded"] = partial(_floor, True, marks, rounds)
    agents["floor, whole state (before)"] = partial(_floor, False, marks, rounds)
    return agents


def run(scale: str = "full") -> list[Figure]:
    marks, rounds = MARKS[scale], ROUNDS[scale]
    with PostgresServer() as server:
        at = interleaved_processes(_agents(server, marks, rounds), marks, rounds)
    figures = []
    for name in (n for n in at if not n.startswith("floor")):
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
    for name in at:
        growth = median(at[name][last]) / median(at[name][first])
        is_product = name.endswith(", bounded") and not name.startswith("floor")
        figures.append(
            Figure(
                "turn growth",
                f"turn {last} vs turn {first}, {name}",
                ms(median(at[name][last])),
                f"turn {first}, same agent",
                ms(median(at[name][first])),
                "ms",
                target=f"≤ {GROWTH_TARGET}×" if is_product else "report",
                met=growth <= GROWTH_TARGET if is_product else None,
            )
        )
    return figures
