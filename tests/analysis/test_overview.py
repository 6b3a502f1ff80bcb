"""Overview and spend breakdowns, checked against Python sums of the same rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from netra.analysis.overview import dataset_overview, spend_breakdown
from netra.errors import ValidationFailed
from netra.telemetry.service import summarise
from tests.telemetry.helpers import open_store, record


async def test_overview_and_breakdowns(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.generate_demo("d", rows=3000, seed=5, end=date(2026, 11, 25))
        await store.insert_records("noise", [record()])
        overview = await dataset_overview(store, "d")
        rows = await store.fetch("SELECT * FROM requests WHERE dataset_id = 'd'")
        by_feature = await spend_breakdown(store, "d", "feature")
        by_day = await spend_breakdown(store, "d", "day")
        with pytest.raises(ValidationFailed):
            await spend_breakdown(store, "d", "colour")
        empty = await dataset_overview(store, "nothing")
    spend = sum(r["cost_usd"] for r in rows)
    days = (max(r["ts"] for r in rows) - min(r["ts"] for r in rows)).total_seconds() / 86400
    assert overview["requests"] == 3000
    assert overview["spend_usd"] == pytest.approx(spend, abs=1e-6)
    assert overview["monthly_spend_usd"] == pytest.approx(spend * 30 / days, rel=1e-5)
    assert overview["first_ts"].endswith("Z") and overview["unpriced_models"] == []
    assert sum(f["requests"] for f in overview["features"]) == 3000
    spends = [r["spend_usd"] for r in by_feature["rows"]]
    assert spends == sorted(spends, reverse=True)
    assert sum(r["share_pct"] for r in by_feature["rows"]) == pytest.approx(100, abs=0.1)
    keys = [r["key"] for r in by_day["rows"]]
    assert keys == sorted(keys) and len(keys) == 30
    assert empty["requests"] == 0 and empty["spend_usd"] == 0


def _quantile(values: list[float], q: float) -> float:
    """quantile_cont by hand: linear between the sorted values around q·(n − 1)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_latency_quantiles_and_the_summary_composition(tmp_path: Path) -> None:
    """The overview takes its p50/p95 from a histogram of distinct latencies, and the
    summary takes the composition lists from the breakdowns: both must be exact."""
    async with open_store(tmp_path) as store:
        await store.generate_demo("d", rows=3000, seed=9, end=date(2026, 11, 25))
        await store.insert_records("d", [record(latency_ms=0.25), record(latency_ms=None)])
        overview = await dataset_overview(store, "d")
        summary = await summarise(store, "d")
        latencies = [r["latency_ms"] for r in await store.fetch(
            "SELECT latency_ms FROM requests WHERE dataset_id = 'd' AND latency_ms IS NOT NULL")]
    assert overview["p50_latency_ms"] == round(_quantile(latencies, 0.5), 1)
    assert overview["p95_latency_ms"] == round(_quantile(latencies, 0.95), 1)
    for part in ("providers", "models", "features"):
        assert summary["overview"][part] == overview[part]
