"""Each benchmark runs end to end at a tiny scale and yields figures with same-run baselines."""

from __future__ import annotations

import math
from contextlib import contextmanager

import pytest

from bench import concurrency
from bench.__main__ import SUITES, table
from bench.common import interleaved_processes


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.__name__.split(".")[-1])
def test_benchmark_runs_tiny_and_reports_ratios(suite) -> None:
    figures = suite.run("tiny")
    assert figures
    for figure in figures:
        assert figure.value > 0 and figure.baseline > 0
        assert math.isfinite(figure.ratio)
        if figure.target not in ("", "report"):
            assert figure.met is not None, f"{figure.name}: a target nobody checked"
    assert figures[0].name in table(figures)


def test_concurrent_users_and_processes_report_no_errors() -> None:
    figures = concurrency.run("tiny")
    assert figures and all("(0 errors)" in f.name for f in figures), [f.name for f in figures]


@contextmanager
def _counter():
    steps: list[object] = []
    yield steps.append


@contextmanager
def _broken():
    raise OSError("disk full")
    yield  # pragma: no cover


def test_interleaved_agents_time_every_key_every_round() -> None:
    times = interleaved_processes({"a": _counter, "b": _counter}, ["young", "old"], rounds=3)
    assert {name: {k: len(v) for k, v in keys.items()} for name, keys in times.items()} == {
        "a": {"young": 3, "old": 3},
        "b": {"young": 3, "old": 3},
    }


def test_a_failing_agent_is_reported_not_waited_for() -> None:
    with pytest.raises(RuntimeError, match="OSError: disk full"):
        interleaved_processes({"ok": _counter, "broken": _broken}, ["k"], rounds=1)
