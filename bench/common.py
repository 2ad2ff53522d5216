"""Timing helpers and the result row every benchmark returns."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection


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


def interleaved(
    actions: Mapping[str, Callable[[int], object]], rounds: int, warmup: int = 0
) -> dict[str, list[float]]:
    """Seconds of round ``n`` of every action, the actions taking turns within each round.

    A candidate and its baseline run side by side, a few milliseconds apart, so a load spike on a
    shared machine hits both instead of whichever happened to run during it. The order rotates
    each round, so no action always runs first (warm caches) or last.
    """
    names = list(actions)
    times: dict[str, list[float]] = {name: [] for name in names}
    for number in range(1, warmup + rounds + 1):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            actions[name](number)
            if number > warmup:
                times[name].append(time.perf_counter() - start)
    return times


Agent = Callable[[], AbstractContextManager[Callable[[int], object]]]
"""Opens an agent (its data, its connections) and gives ``step(number)``; closes it after."""


def interleaved_processes(agents: Mapping[str, Agent], rounds: int) -> dict[str, list[float]]:
    """``interleaved``, each agent in its own process, so one heap's garbage is not another's.

    In one process, the agents holding a thousand messages make every garbage collection slow,
    and a bounded agent beside them pays for it. Only one process works at a time: the main one
    sends ``number`` to each in turn and waits for its timing, so they never share a core.
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
        times: dict[str, list[float]] = {name: [] for name in names}
        for number in range(1, rounds + 1):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                pipes[name].send(number)
                times[name].append(_answer(pipes[name].recv()))
        return times
    finally:
        for pipe in pipes.values():
            with suppress(OSError):  # a worker that failed has gone already
                pipe.send(None)
        for worker in workers:
            worker.join(timeout=30)


def _serve(agent: Agent, pipe: Connection) -> None:
    try:
        with agent() as step:
            pipe.send(0.0)
            while (number := pipe.recv()) is not None:
                start = time.perf_counter()
                step(number)
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
