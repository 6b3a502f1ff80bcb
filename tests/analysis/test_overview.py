"""Overview and spend breakdowns, checked against Python sums of the same rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from netra.analysis.overview import dataset_overview, spend_breakdown
from netra.errors import ValidationFailed
from netra.telemetry.service import summarise
from tests.telemetry.helpers import open_store, quantile_cont, record, round_tenth


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
    assert overview["p50_latency_ms"] == round_tenth(quantile_cont(latencies, 0.5))
    assert overview["p95_latency_ms"] == round_tenth(quantile_cont(latencies, 0.95))
    for part in ("providers", "models", "features"):
        assert summary["overview"][part] == overview[part]


async def test_breakdown_p95_is_exact_per_group(tmp_path: Path) -> None:
    """Each breakdown row's p95 is its own group's, interpolated as quantile_cont does,
    including groups of one request, of tied latencies, of zero latency and of none."""
    async with open_store(tmp_path) as store:
        await store.generate_demo("d", rows=4000, seed=3, end=date(2026, 11, 25))
        await store.insert_records("d", [
            record(model="one-request", latency_ms=12.5),
            *(record(model="ties", latency_ms=80.0) for _ in range(7)),
            record(model="ties", latency_ms=80.1),
            *(record(model="zero", latency_ms=0.0) for _ in range(3)),
            record(model="untimed", latency_ms=None),
            record(model="untimed", latency_ms=None),
        ])
        rows = await store.fetch("SELECT * FROM requests WHERE dataset_id = 'd'")
        breakdowns = {by: await spend_breakdown(store, "d", by)
                      for by in ("model", "feature", "provider", "day")}
    key_of = {
        "model": lambda r: r["model"],
        "feature": lambda r: r["feature"] or "(none)",
        "provider": lambda r: r["provider"],
        "day": lambda r: r["ts"].date().isoformat(),
    }
    for by, breakdown in breakdowns.items():
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(key_of[by](r), []).append(r)
        assert {row["key"] for row in breakdown["rows"]} == set(groups)
        for row in breakdown["rows"]:
            members = groups[row["key"]]
            latencies = [r["latency_ms"] for r in members if r["latency_ms"] is not None]
            expected = round_tenth(quantile_cont(latencies, 0.95)) if latencies else None
            errors = sum(r["status"] == "error" for r in members)
            assert (row["key"], row["p95_latency_ms"]) == (row["key"], expected)
            assert row["requests"] == len(members)
            assert row["error_rate"] == round(errors / len(members), 4)


async def test_overview_and_breakdown_p95_agree_to_the_last_bit(tmp_path: Path) -> None:
    """0.95 · 561 is just short of 532.95 in floating point: between 5387 and 5390 the
    p95 is 5389.85 only when weighted as quantile_cont weighs it (lo·(1 − f) + hi·f),
    and 5389.8 instead of 5389.9 otherwise. The overview and the breakdowns say the same."""
    async with open_store(tmp_path) as store:
        await store.insert_records("d", [record(latency_ms=5387.0) for _ in range(533)]
                                   + [record(latency_ms=5390.0) for _ in range(29)])
        overview = await dataset_overview(store, "d")
        [by_model] = (await spend_breakdown(store, "d", "model"))["rows"]
    assert overview["p95_latency_ms"] == by_model["p95_latency_ms"] == 5389.9


async def test_unknown_usage_is_left_out_of_sums_and_per_request_costs(tmp_path: Path) -> None:
    """Requests of unknown usage count as requests (and in latency and errors), never as
    tokens or cost, nor in a request's average cost; failed calls without usage cost $0."""
    measured = [record(feature="chat", latency_ms=100.0) for _ in range(4)]
    failed = [record(feature="chat", status="error", error_type="rate_limit", latency_ms=10.0,
                     input_tokens=None, output_tokens=None) for _ in range(2)]  # fmt: skip
    unknown = [record(feature="chat", latency_ms=900.0, input_tokens=None, output_tokens=None)
               for _ in range(2)]  # fmt: skip
    async with open_store(tmp_path) as store:
        await store.insert_records("d", measured + failed + unknown)
        overview = await dataset_overview(store, "d")
        breakdowns = [(await spend_breakdown(store, "d", by))["rows"][0]
                      for by in ("model", "feature", "day")]  # fmt: skip
        summary = await summarise(store, "d")
    one = (1000 * 2.5 + 100 * 10) / 1e6  # gpt-4o: $2.50 / $10 per MTok
    assert overview["requests"] == 8
    assert (overview["input_tokens"], overview["output_tokens"]) == (4000, 400)
    assert overview["spend_usd"] == pytest.approx(4 * one)
    assert overview["error_rate"] == 0.25
    assert overview["p50_latency_ms"] == 100.0
    counts = ("usage_unknown_requests", "failed_without_usage_requests", "unpriced_requests")
    assert [overview[name] for name in counts] == [2, 2, 0]
    assert overview["unpriced_models"] == []
    for row in breakdowns:
        assert row["requests"] == 8 and row["spend_usd"] == pytest.approx(4 * one)
        assert row["cost_per_request_usd"] == pytest.approx(4 * one / 6, abs=1e-8)
    assert summary["overview"]["usage_unknown_requests"] == 2
    assert summary["reported_cost"]["usage_unknown_requests"] == 0
