"""`python -m bench [name ...] [--quick] [--strict]`: run the benchmarks, print the figures.

The contract for a benchmark module (add one by dropping a file in bench/):

- It is `bench/bench_<name>.py` and exposes `run(args: argparse.Namespace) -> list[Figure]`
  (`Figure` from `bench._common`). `run` is synchronous; use `asyncio.run` inside.
- `args.quick` is True for a smoke run: use small sizes, finish in seconds, and return
  the same figure *names* as a full run (sizes belong in `Figure.detail`).
- Every figure carries a baseline measured in the same run, on the same machine, so the
  printed ratio (or difference) means something whatever the hardware: e.g. the
  WebSocket ping round trip for a WebSocket latency, the raw query time for an answer.
- It starts whatever it measures itself (e.g. `bench._common.bench_server()`, a real
  `netra serve` subprocess with real default limits) and stops it before returning.
- An exception means the benchmark could not measure (a failed run, a refused message):
  the runner reports it and exits 1. A figure over its target is a MISS, not an error;
  `--strict` makes a MISS exit 1 too.

`name` selects modules (`golden_path` or `bench_golden_path`); none means all of them.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench._common import Figure, fmt

PREFIX = "bench_"


def discover() -> list[str]:
    """Every bench/bench_*.py module, by short name, in name order."""
    here = str(Path(__file__).parent)
    return sorted(m.name[len(PREFIX):] for m in pkgutil.iter_modules([here])
                  if m.name.startswith(PREFIX))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def figures_table(title: str, figures: list[Figure]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("figure", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("baseline", no_wrap=True)
    table.add_column("vs baseline", justify="right", no_wrap=True)
    table.add_column("detail")
    for f in figures:
        verdict = {"PASS": "[green]PASS[/]", "MISS": "[red]MISS[/]"}.get(f.verdict(), "-")
        baseline = "-" if f.baseline is None else f"{f.baseline_name}: {fmt(f.baseline, f.unit)}"
        table.add_row(f.name, fmt(f.value, f.unit),
                      "-" if f.target is None else f"≤ {fmt(f.target, f.unit)}",
                      verdict, baseline, f.versus(), f.detail)
    return table


def main(argv: list[str]) -> int:
    args = parse(argv)
    console = Console(width=max(Console().width, 160))
    available = discover()
    wanted = [n.removeprefix(PREFIX) for n in args.names] or available
    unknown = [n for n in wanted if n not in available]
    if unknown:
        console.print(f"unknown benchmark(s) {unknown}; available: {available}")
        return 2
    summary: list[tuple[str, Figure]] = []
    failed: list[str] = []
    for name in wanted:
        console.rule(f"{PREFIX}{name}" + (" (quick)" if args.quick else ""))
        started = time.perf_counter()
        try:
            figures = importlib.import_module(f"bench.{PREFIX}{name}").run(args)
        except Exception:
            console.print(f"[red]{name} failed:[/]\n{traceback.format_exc()}")
            failed.append(name)
            continue
        took = time.perf_counter() - started
        console.print(figures_table(f"{name} ({took:.0f} s)", figures))
        summary += [(name, f) for f in figures]
    console.rule("summary")
    console.print(figures_table("every figure", [f for _, f in summary]))
    misses = [f.name for _, f in summary if f.passed is False]
    console.print(f"{len(summary)} figures, {len(misses)} missed target(s)"
                  + (f": {', '.join(misses)}" if misses else "")
                  + (f"; FAILED to measure: {', '.join(failed)}" if failed else ""))
    if failed or (args.strict and misses):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
