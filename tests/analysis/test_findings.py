"""Findings on the demo find the planted cases, with savings re-computed in Python."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from netra.analysis.model_rightsizing import CHEAPER_MODEL, cheaper_model, find_model_rightsizing
from netra.analysis.response_caching import find_response_caching
from netra.telemetry import pricing, synthetic
from netra.telemetry.store.duckdb_store import DuckDBStore

END = date(2026, 11, 25)
FIELDS = {"id", "title", "category", "affected_requests", "current_cost_usd_month",
          "projected_cost_usd_month", "savings_usd_month", "savings_pct", "confidence",
          "evidence", "action"}  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    store = DuckDBStore(tmp_path / "analytics.duckdb")
    await store.open()
    await store.generate_demo("demo", rows=20_000, seed=42, end=END)
    yield store
    await store.close()


async def _rows(store: DuckDBStore, feature: str) -> list[dict[str, Any]]:
    return await store.fetch(
        "SELECT * FROM requests WHERE dataset_id = 'demo' AND feature = ?", [feature]
    )


async def _window_days(store: DuckDBStore) -> float:
    [row] = await store.fetch(
        "SELECT min(ts) AS a, max(ts) AS b FROM requests WHERE dataset_id = 'demo'"
    )
    return max((row["b"] - row["a"]).total_seconds() / 86400, 1.0)


def _cost(provider: str, model: str, row: dict[str, Any]) -> float:
    rates = pricing.price_per_mtok(
        provider, model, row["ts"].date(), input_tokens=row["input_tokens"]
    )
    assert rates is not None
    return rates.cost_usd(row["input_tokens"], row["output_tokens"],
                          row["cached_input_tokens"], row["cache_write_tokens"])  # fmt: skip


async def test_rightsizing_finds_the_planted_case_with_matching_savings(store: DuckDBStore) -> None:
    [planted] = synthetic.planted_cases()["model_rightsizing"]
    findings = await find_model_rightsizing(store, "demo")
    assert [(f["evidence"]["feature"], f["evidence"]["model"]) for f in findings] == [
        (planted["feature"], planted["model"])
    ]
    [found] = findings
    assert set(found) == FIELDS and found["confidence"] == "high"
    assert found["evidence"]["suggested_model"] == planted["suggested_model"]
    rows = await _rows(store, planted["feature"])
    scale = 30 / await _window_days(store)
    current = sum(_cost("openai", "gpt-4o", r) for r in rows) * scale
    projected = sum(_cost("openai", "gpt-4o-mini", r) for r in rows) * scale
    assert found["affected_requests"] == len(rows)
    assert found["current_cost_usd_month"] == pytest.approx(current, rel=1e-6)
    assert found["projected_cost_usd_month"] == pytest.approx(projected, rel=1e-6)
    assert found["savings_usd_month"] == pytest.approx(current - projected, rel=1e-6)
    assert found["savings_pct"] == pytest.approx(100 * (current - projected) / current, abs=0.01)
    assert "SELECT" in found["evidence"]["query"]


async def test_response_caching_finds_the_planted_case_with_matching_savings(
    store: DuckDBStore,
) -> None:
    [planted] = synthetic.planted_cases()["response_caching"]
    findings = await find_response_caching(store, "demo")
    assert [f["evidence"]["feature"] for f in findings] == [planted["feature"]]
    [found] = findings
    assert set(found) == FIELDS and found["confidence"] == "high"
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await _rows(store, planted["feature"]):
        if row["status"] == "ok":
            groups[row["prompt_hash"]].append(row)
    repeats = [
        r for g in groups.values() for r in sorted(g, key=lambda r: (r["ts"], r["request_id"]))[1:]
    ]
    scale = 30 / await _window_days(store)
    assert found["affected_requests"] == len(repeats)
    assert found["savings_usd_month"] == pytest.approx(
        sum(r["cost_usd"] for r in repeats) * scale, rel=1e-6
    )


def _clean_records(count: int) -> list[dict[str, Any]]:
    """Efficient traffic: big models on long work, small models on short work, no repeats."""
    start = datetime(2026, 11, 1)
    records = []
    for n in range(count):
        ts = (start + timedelta(minutes=7 * n)).isoformat() + "Z"
        if n % 2:
            record = {"provider": "openai", "model": "gpt-4o", "input_tokens": 6000 + n,
                      "output_tokens": 900, "feature": "analyst"}  # fmt: skip
        else:
            record = {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 300,
                      "output_tokens": 10, "feature": "triage"}  # fmt: skip
        records.append({**record, "ts": ts, "prompt_hash": f"p{n}", "request_id": f"r{n}"})
    return records


async def test_a_clean_dataset_has_no_high_confidence_findings(store: DuckDBStore) -> None:
    result = await store.insert_records("clean", _clean_records(2000))
    assert result.rejected_rows == 0
    for find in (find_model_rightsizing, find_response_caching):
        assert [f for f in await find(store, "clean") if f["confidence"] == "high"] == []


async def test_findings_never_read_another_datasets_rows(store: DuckDBStore) -> None:
    before = await find_response_caching(store, "demo"), await find_model_rightsizing(store, "demo")
    await store.generate_demo("other", rows=5000, seed=9, end=END + timedelta(days=40))
    after = await find_response_caching(store, "demo"), await find_model_rightsizing(store, "demo")
    for old, new in zip(before, after, strict=True):
        assert [f["id"] for f in old] == [f["id"] for f in new]
        for a, b in zip(old, new, strict=True):
            assert a["affected_requests"] == b["affected_requests"]
            assert a["savings_usd_month"] == pytest.approx(b["savings_usd_month"], abs=1e-6)
    assert await find_model_rightsizing(store, "missing") == []


def test_cheaper_model_catalogue() -> None:
    assert cheaper_model("openai", "gpt-4o-2024-08-06") == "gpt-4o-mini"
    assert cheaper_model("openai", "gpt-4o-mini") is None
    assert cheaper_model("google", "gemini-2.5-pro") == "gemini-2.5-flash"
    for (provider, _), target in CHEAPER_MODEL.items():
        assert pricing.price_per_mtok(provider, target, END) is not None, target
