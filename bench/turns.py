"""Graph overhead per turn at turn 10, 100 and 500 of one thread: SQLite vs in-memory."""

from __future__ import annotations

import time

from bench.agent_runs import memory_agent_in_memory, sqlite_agent, turn
from bench.common import Figure, mean, ms

CHECKPOINTS = {"full": [10, 100, 500], "tiny": [2, 5]}
WINDOW = 2


def _per_turn(graph, marks: list[int]) -> dict[int, float]:
    """Mean seconds of the turns within ``WINDOW`` of each mark."""
    times: dict[int, float] = {}
    for number in range(1, marks[-1] + WINDOW + 1):
        start = time.perf_counter()
        turn(graph, "t", number)
        times[number] = time.perf_counter() - start
    return {
        mark: mean([times[n] for n in range(max(1, mark - WINDOW), mark + WINDOW + 1)])
        for mark in marks
    }


def run(scale: str = "full") -> list[Figure]:
    marks = CHECKPOINTS[scale]
    with sqlite_agent() as (graph, _):
        sqlite = _per_turn(graph, marks)
    memory = _per_turn(memory_agent_in_memory(), marks)
    figures = [
        Figure(
            "turn overhead",
            f"turn {mark}, SQLite",
            ms(sqlite[mark]),
            "InMemorySaver + InMemoryStore",
            ms(memory[mark]),
            "ms",
            target="≤ 1.3×",
            met=sqlite[mark] <= 1.3 * memory[mark],
        )
        for mark in marks
    ]
    first, last = marks[0], marks[-1]
    figures.append(
        Figure(
            "turn overhead",
            f"turn {last} vs turn {first}, SQLite",
            ms(sqlite[last]),
            f"turn {first}, SQLite",
            ms(sqlite[first]),
            "ms",
            target="≤ 2×",
            met=sqlite[last] <= 2 * sqlite[first],
        )
    )
    return figures
