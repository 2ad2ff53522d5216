"""Each benchmark runs end to end at a tiny scale and yields figures with same-run baselines."""

from __future__ import annotations

import math

import pytest

from bench import concurrency
from bench.__main__ import SUITES, table


@pytest.mark.parametrize("suite", SUITES)
def test_benchmark_runs_tiny_and_reports_ratios(suite) -> None:
    figures = suite.run("tiny")
    assert figures
    for figure in figures:
        assert figure.value > 0 and figure.baseline > 0
        assert math.isfinite(figure.ratio)
    assert figures[0].name in table(figures)


def test_concurrent_conversations_report_no_errors() -> None:
    [figure] = concurrency.run("tiny")
    assert figure.met, figure.name
