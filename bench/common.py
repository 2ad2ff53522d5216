"""Timing helpers and the result row every benchmark returns."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured figure, its same-run baseline, and the target it is held to (if any).

    ``value`` is a median; ``low``/``high`` the fastest and slowest sample behind it, so a reader
    sees how much one run moved.
    """

    group: str
    name: str
    value: float
    baseline_name: str
    baseline: float
    unit: str
    target: str = ""
    met: bool | None = None
    low: float | None = None
    high: float | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")


def samples(action: Callable[[], object], count: int, warmup: int = 2) -> list[float]:
    """Wall-clock seconds of ``count`` runs of ``action``, after ``warmup`` unmeasured runs."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


Agent = Callable[[], AbstractContextManager[Callable[[Any], object]]]
"""Opens an agent (its data, its connections) and gives ``step(key)``; closes it after."""


def interleaved_processes(
    agents: Mapping[str, Agent], keys: Sequence[Any], rounds: int
) -> dict[str, dict[Any, list[float]]]:
    """Seconds of ``rounds`` steps of every agent for every key, each agent in its own process.

    Every round, every agent takes one step per key (say, a turn at message 20 and one at
    message 1,000), agents and keys in rotating order: a step and the steps it is compared with
    run milliseconds apart, so load on a shared machine moves them together. A process each, so
    one agent's heap (a thousand messages) does not slow another's garbage collection; only one
    works at a time (the main process waits for each step), so they never share a core.
    """
    context = multiprocessing.get_context("fork")
    pipes: dict[str, Connection] = {}
    workers = []
    for name, agent in agents.items():
        ours, theirs = context.Pipe()
        worker = context.Process(target=_serve, args=(agent, theirs), daemon=True)
        worker.start()
        pipes[name] = ours
        workers.append(worker)
    try:
        for pipe in pipes.values():
            _answer(pipe.recv())  # the worker is ready (or says why not)
        names = list(pipes)
        times = {name: {key: [] for key in keys} for name in names}
        for number in range(rounds):
            for name in _rotated(names, number):
                for key in _rotated(list(keys), number):
                    pipes[name].send((key,))
                    times[name][key].append(_answer(pipes[name].recv()))
        return times
    finally:
        for pipe in pipes.values():
            with suppress(OSError):  # a worker that failed has gone already
                pipe.send(None)
        for worker in workers:
            worker.join(timeout=30)


def _rotated(items: list, shift: int) -> list:
    shift %= len(items)
    return items[shift:] + items[:shift]


def _serve(agent: Agent, pipe: Connection) -> None:
    try:
        with agent() as step:
            pipe.send(0.0)
            while (message := pipe.recv()) is not None:
                start = time.perf_counter()
                step(message[0])
                pipe.send(time.perf_counter() - start)
    except Exception as error:  # reported by the main process, which then stops
        pipe.send(f"{type(error).__name__}: {error}")


def _answer(reply: float | str) -> float:
    if isinstance(reply, str):
        raise RuntimeError(f"a benchmark worker failed: {reply}")
    return reply


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p50 is the median of odd counts)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> float:
    return seconds * 1000


def mean(values: list[float]) -> float:
    return statistics.fmean(values)
