"""Timing helpers and the result row every benchmark returns."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure, its same-run baseline, and the target it is held to (if any)."""

    group: str
    name: str
    value: float
    baseline_name: str
    baseline: float
    unit: str
    target: str = ""
    met: bool | None = None

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


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p50 is the median of odd counts)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


def ms(seconds: float) -> float:
    return seconds * 1000


def mean(values: list[float]) -> float:
    return statistics.fmean(values)
