"""A dataset's dashboard and its request table on 10 million rows, on the embedded DuckDB
store, in process (the services behind `GET /api/datasets/{id}/dashboard` and
`…/requests`, called as those routes call them).

1. The dashboard of the whole dataset (the page a user lands on), p50/p95; target p95
   ≤ 1 s.
2. The dashboard of a slice (the last 7 days of two models, answered requests only),
   p50/p95; target p95 ≤ 1 s.
3. A page of 50 requests, newest first and costliest first, each page after the one
   before (keyset), p50/p95; target p95 ≤ 300 ms.

Baseline for all three: the raw scan `SELECT count(*), sum(cost_usd) FROM requests WHERE
dataset_id = ?` of the same rows, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from bench._common import Figure, latency_figures, timed_ms
from netra.analysis.dashboard import dashboard
from netra.analysis.request_log import request_page
from netra.analysis.slicing import Slice, read_query
from netra.telemetry.store.duckdb_store import DuckDBStore

END = date(2026, 11, 25)
SEED = 13
DASHBOARD_P95_MS = 1_000.0
PAGE_P95_MS = 300.0
RAW = "SELECT count(*), sum(cost_usd) FROM requests WHERE dataset_id = ?"

FIGURE_NAMES = (
    "dashboard, whole dataset, 10M rows p50",
    "dashboard, whole dataset, 10M rows p95",
    "dashboard, a slice, 10M rows p50",
    "dashboard, a slice, 10M rows p95",
    "page of 50 requests, 10M rows p50",
    "page of 50 requests, 10M rows p95",
)


def _slice(models: list[str]) -> Slice:
    chosen, _ = read_query([("from", "2026-11-18"), ("to", "2026-11-25"), ("status", "ok"),
                            *(("model", m) for m in models)])  # fmt: skip
    return chosen


async def _measure(rows: int, samples: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="netra-bench-dashboard-") as tmp:
        store = DuckDBStore(Path(tmp) / "analytics.duckdb")
        await store.open()
        try:
            await store.generate_demo("d", rows=rows, seed=SEED, end=END)
            [window] = await store.fetch(
                "SELECT min(ts) AS first, max(ts) AS last FROM requests WHERE dataset_id = 'd'")
            known = (window["first"], window["last"])
            models = [r["model"] for r in await store.fetch(
                "SELECT model FROM requests WHERE dataset_id = 'd' GROUP BY 1 ORDER BY count(*) "
                "DESC LIMIT 2")]  # fmt: skip
            sliced = _slice(models)
            raw = await timed_ms(samples, lambda: store.fetch(RAW, ["d"]))
            # as the route calls it: the dataset's window and version known (the filter
            # options are then kept per version, as they are between requests)
            whole = await timed_ms(samples, lambda: dashboard(
                store, "d", Slice(), window=known, version=1))
            part = await timed_ms(samples, lambda: dashboard(
                store, "d", sliced, window=known, version=1))
            pages = await _pages(store, samples)
        finally:
            await store.close()
    detail = f"{rows:,} rows, {samples} samples"
    return [
        *latency_figures("dashboard, whole dataset, 10M rows", whole, raw, "raw scan",
                         p95_target=DASHBOARD_P95_MS, detail=detail),
        *latency_figures("dashboard, a slice, 10M rows", part, raw, "raw scan",
                         p95_target=DASHBOARD_P95_MS,
                         detail=f"{detail}; 7 days, 2 models, status ok"),
        *latency_figures("page of 50 requests, 10M rows", pages, raw, "raw scan",
                         p95_target=PAGE_P95_MS,
                         detail=f"{rows:,} rows; newest and costliest first, page after page"),
    ]  # fmt: skip


async def _pages(store: DuckDBStore, samples: int) -> list[float]:
    """Timings of pages 1, 2, 3, … by time and by cost, each page after the last."""
    cursors: dict[str, Any] = {"time": None, "cost": None}

    async def one(sort: str) -> None:
        page = await request_page(store, "d", Slice(), sort=sort, limit=50, cursor=cursors[sort])
        cursors[sort] = page["next_cursor"]

    times = await timed_ms(samples, lambda: one("time"))
    return times + await timed_ms(samples, lambda: one("cost"))


def run(args: argparse.Namespace) -> list[Figure]:
    # Quick runs keep the figure names and shrink the data: a smoke test, not a measure.
    rows, samples = (20_000, 3) if args.quick else (10_000_000, 20)
    return asyncio.run(_measure(rows, samples))


__all__ = ["FIGURE_NAMES", "run"]
