"""The full optimization analysis (all eight finding categories) on large datasets.

`find_all` on 100,000 rows (target p95 ≤ 300 ms) and on 10 million rows (target p95 ≤ 5 s),
on the embedded DuckDB store, in process. Baseline: one raw scan of the same rows
(spend per feature and model), so the ratio is the analysis's cost over reading the
data once.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from bench._common import Figure, latency_figures, timed_ms
from netra.analysis.findings import ALL_FINDERS, find_all
from netra.telemetry.store.duckdb_store import DuckDBStore

END = date(2026, 11, 25)
SEED = 11
TARGETS_MS = {100_000: 300.0, 10_000_000: 5_000.0}
RAW = """
SELECT coalesce(feature, '(none)') AS feature, model, count(*), sum(cost_usd)
FROM requests WHERE dataset_id = 'd' GROUP BY ALL
"""


async def _measure(rows: int, samples: int, target_ms: float, label: str) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="netra-bench-analysis-") as tmp:
        store = DuckDBStore(Path(tmp) / "analytics.duckdb")
        await store.open()
        try:
            await store.generate_demo("d", rows=rows, seed=SEED, end=END)
            raw = await timed_ms(samples, lambda: store.fetch(RAW))
            found: list[dict[str, Any]] = []

            async def analyse() -> None:
                found[:] = await find_all(store, "d")

            analysis = await timed_ms(samples, analyse)
        finally:
            await store.close()
    categories = sorted({f["category"] for f in found})
    detail = (f"{rows:,} rows, {samples} samples, {len(ALL_FINDERS)} categories; "
              f"{len(found)} findings in {len(categories)} categories")
    return latency_figures(f"full analysis, {label}", analysis, raw, "raw scan",
                           p95_target=target_ms, detail=detail)


def run(args: argparse.Namespace) -> list[Figure]:
    # Quick runs keep the figure names and shrink the data: a smoke test, not a measure.
    plan = ([(10_000, 3, "100k rows"), (50_000, 2, "10M rows")] if args.quick
            else [(100_000, 20, "100k rows"), (10_000_000, 5, "10M rows")])
    targets = list(TARGETS_MS.values())
    figures: list[Figure] = []
    for (rows, samples, label), target in zip(plan, targets, strict=True):
        figures += asyncio.run(_measure(rows, samples, target, label))
    return figures
