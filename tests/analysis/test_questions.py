"""Focused questions on a small hand-built dataset, checked against Python computations of
the same records (costs re-priced per request with pricing.price_per_mtok)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from netra.analysis import questions
from netra.errors import ValidationFailed
from netra.telemetry import pricing
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import open_store

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5"),
          ("acme", "mystery-1")]  # fmt: skip
FEATURES = ["triage", "chat", "summaries", None]


def _records() -> list[dict[str, Any]]:
    """120 requests over 10 days; fields present on chosen rows only."""
    records = []
    for i in range(120):
        provider, model = MODELS[i % 4]
        record: dict[str, Any] = {
            "ts": (START + timedelta(hours=2 * i, minutes=i % 7)).isoformat(),
            "provider": provider,
            "model": model,
            "input_tokens": 400 + 37 * i,
            "output_tokens": 50 + 11 * (i % 13),
            "feature": FEATURES[i % 3 if i % 10 else 3],
            "request_id": f"r{i}",
        }
        if i % 2 == 0:
            record["latency_ms"] = 300.0 + 97 * (i % 17)
        if i % 4 == 0:
            record["ttft_ms"] = 80.0 + i
        if i % 5 == 0:
            record["prompt_hash"] = f"h{i % 3}"
        if i % 9 == 0:
            record["status"] = "error"
            record["error_type"] = "timeout" if i % 2 else "rate_limit"
        if i % 6 == 0:
            record["cached_input_tokens"] = 100
        records.append(record)
    return records


RECORDS = _records()


def _ts(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["ts"]).astimezone(UTC).replace(tzinfo=None)


def cost(record: dict[str, Any], provider: str | None = None, model: str | None = None) -> float:
    """The record's cost at a model's catalogue rates (its own model by default); 0 if unknown."""
    rates = pricing.price_per_mtok(
        provider or record["provider"], model or record["model"], _ts(record).date(),
        input_tokens=record["input_tokens"],
    )  # fmt: skip
    if rates is None:
        return 0.0
    return rates.cost_usd(
        record["input_tokens"], record["output_tokens"], record.get("cached_input_tokens", 0)
    )


def window_days(records: list[dict[str, Any]]) -> float:
    stamps = [_ts(r) for r in records]
    return max((max(stamps) - min(stamps)).total_seconds() / 86400, 1.0)


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (what quantile_cont computes)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    async with open_store(tmp_path) as store:
        result = await store.insert_records("d", RECORDS)
        assert result.rows == len(RECORDS)
        await store.insert_records("other", RECORDS[:5])  # never counted in "d"
        yield store


async def test_profile_reports_field_shares_features_and_models(store: DuckDBStore) -> None:
    profile = await questions.dataset_profile(store, "d")
    n = len(RECORDS)
    fields = profile["fields"]
    assert profile["requests"] == n
    assert fields["latency_ms"] == pytest.approx(sum("latency_ms" in r for r in RECORDS) / n)
    assert fields["ttft_ms"] == pytest.approx(sum("ttft_ms" in r for r in RECORDS) / n, abs=1e-4)
    assert fields["prompt_hash"] == pytest.approx(sum("prompt_hash" in r for r in RECORDS) / n)
    assert fields["feature"] == pytest.approx(sum(r["feature"] is not None for r in RECORDS) / n)
    assert fields["cached_input_tokens"] == pytest.approx(
        sum("cached_input_tokens" in r for r in RECORDS) / n, abs=1e-4
    )
    assert fields["request_id"] == 1.0 and fields["status"] == 1.0
    for absent in ("prefix_hash", "conversation_id", "max_tokens", "end_user", "batch"):
        assert fields[absent] == 0.0, absent
    assert profile["first_ts"] == START.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    spend: dict[str, float] = defaultdict(float)
    for r in RECORDS:
        if r["feature"]:
            spend[r["feature"]] += cost(r)
    got = [(f["feature"], f["spend_usd"]) for f in profile["features"]]
    expected = sorted(spend.items(), key=lambda kv: -kv[1])
    assert [name for name, _ in got] == [name for name, _ in expected]
    for (_, value), (_, truth) in zip(got, expected, strict=True):
        assert value == pytest.approx(truth, abs=1e-5)
    models = {(m["provider"], m["model"]): m for m in profile["models"]}
    assert set(models) == set(MODELS)
    assert models[("acme", "mystery-1")]["unpriced_requests"] == n // 4
    assert models[("openai", "gpt-4o")]["spend_usd"] == pytest.approx(
        sum(cost(r) for r in RECORDS if r["model"] == "gpt-4o"), abs=1e-5
    )


async def test_status_counts_as_present_only_when_failures_are_recorded(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        clean = [{k: v for k, v in r.items() if k not in ("status", "error_type")}
                 for r in RECORDS]  # fmt: skip
        await store.insert_records("clean", clean)
        profile = await questions.dataset_profile(store, "clean")
        empty = await questions.dataset_profile(store, "nothing")
    assert profile["fields"]["status"] == 0.0
    assert empty["requests"] == 0 and empty["features"] == [] and empty["first_ts"] is None


async def test_spend_slice_covers_the_last_days_of_the_data(store: DuckDBStore) -> None:
    result = await questions.spend_slice(store, "d", "feature", last_days=3)
    by_day = await questions.spend_slice(store, "d", "day", last_days=3)
    last = max(_ts(r) for r in RECORDS)
    first_day = last.date() - timedelta(days=2)
    inside = [r for r in RECORDS if _ts(r).date() >= first_day]
    assert len(inside) < len(RECORDS)
    spend: dict[str, float] = defaultdict(float)
    for r in inside:
        spend[r["feature"] or "(none)"] += cost(r)
    total = sum(spend.values())
    rows = {row["key"]: row for row in result["rows"]}
    assert set(rows) == set(spend)
    days = window_days(inside)
    for key, value in spend.items():
        assert rows[key]["spend_usd"] == pytest.approx(value, abs=1e-5)
        assert rows[key]["share_pct"] == pytest.approx(100 * value / total, abs=0.01)
        assert rows[key]["monthly_spend_usd"] == pytest.approx(value * 30 / days, rel=1e-5)
    assert [r["spend_usd"] for r in result["rows"]] == sorted(
        (r["spend_usd"] for r in result["rows"]), reverse=True
    )
    assert [r["key"] for r in by_day["rows"]] == [
        (first_day + timedelta(days=k)).isoformat() for k in range(3)
    ]
    assert result["from"] == f"{first_day.isoformat()}T00:00:00.000Z"
    assert result["to"].startswith(last.strftime("%Y-%m-%dT%H:%M:%S"))
    with pytest.raises(ValidationFailed, match="colour"):
        await questions.spend_slice(store, "d", "colour", last_days=3)
    with pytest.raises(ValidationFailed, match="last_days"):
        await questions.spend_slice(store, "d", "model", last_days=0)


async def test_latency_by_model_slowest_first(store: DuckDBStore) -> None:
    result = await questions.latency_by_model(store, "d")
    expected = {}
    for provider, model in MODELS:
        mine = [r for r in RECORDS if r["model"] == model and "latency_ms" in r]
        if mine:
            ttfts = [r["ttft_ms"] for r in mine if "ttft_ms" in r]
            lat = [r["latency_ms"] for r in mine]
            expected[(provider, model)] = (len(mine), quantile(lat, 0.5), quantile(lat, 0.95),
                                           quantile(lat, 0.99),
                                           quantile(ttfts, 0.5) if ttfts else None)  # fmt: skip
    rows = result["rows"]
    assert {(r["provider"], r["model"]) for r in rows} == set(expected)
    assert [r["p95_latency_ms"] for r in rows] == sorted(
        (r["p95_latency_ms"] for r in rows), reverse=True
    )
    for row in rows:
        n, p50, p95, p99, ttft = expected[(row["provider"], row["model"])]
        assert row["requests"] == n
        assert row["p50_latency_ms"] == pytest.approx(p50, abs=0.051)
        assert row["p95_latency_ms"] == pytest.approx(p95, abs=0.051)
        assert row["p99_latency_ms"] == pytest.approx(p99, abs=0.051)
        assert row["p50_ttft_ms"] == (None if ttft is None else pytest.approx(ttft, abs=0.051))


async def test_error_cost_totals_and_breakdowns(store: DuckDBStore) -> None:
    result = await questions.error_cost(store, "d")
    failed = [r for r in RECORDS if r.get("status") == "error"]
    paid = sum(cost(r) for r in failed)
    assert result["failed_requests"] == len(failed)
    assert result["cost_usd"] == pytest.approx(paid, abs=1e-5)
    assert result["cost_usd_month"] == pytest.approx(paid * 30 / window_days(RECORDS), rel=1e-4)
    assert result["error_rate_pct"] == pytest.approx(100 * len(failed) / len(RECORDS), abs=0.01)
    assert result["unpriced_failed_requests"] == sum(r["model"] == "mystery-1" for r in failed)
    by_type = {r["error_type"]: r for r in result["by_error_type"]}
    for kind in ("timeout", "rate_limit"):
        mine = [r for r in failed if r["error_type"] == kind]
        assert by_type[kind]["failures"] == by_type[kind]["requests"] == len(mine)
        assert by_type[kind]["cost_usd"] == pytest.approx(sum(cost(r) for r in mine), abs=1e-5)
    by_feature = {r["feature"]: r for r in result["by_feature"]}
    for name in {r["feature"] or "(none)" for r in failed}:
        everything = [r for r in RECORDS if (r["feature"] or "(none)") == name]
        mine = [r for r in everything if r.get("status") == "error"]
        assert by_feature[name]["requests"] == len(everything)
        assert by_feature[name]["failures"] == len(mine)
        assert by_feature[name]["cost_usd"] == pytest.approx(sum(cost(r) for r in mine), abs=1e-5)


async def test_compare_providers_reprices_at_every_equivalent(store: DuckDBStore) -> None:
    everything = await questions.compare_providers(store, "d", None)
    only_4o = await questions.compare_providers(store, "d", "gpt-4o-class")
    nothing = await questions.compare_providers(store, "d", "mystery-1")

    def group(result: dict[str, Any], model: str) -> list[dict[str, Any]]:
        return [r for r in result["rows"] if r["source_model"] == model]

    rows_4o = group(only_4o, "gpt-4o")
    assert rows_4o == group(everything, "gpt-4o") and only_4o["rows"] == rows_4o
    assert [(r["provider"], r["current"]) for r in rows_4o] == [("openai", True), ("azure", False)]
    mine = [r for r in RECORDS if r["model"] == "gpt-4o"]
    paid = sum(cost(r) for r in mine)
    at_azure = sum(cost(r, "azure", "gpt-4o") for r in mine)
    assert rows_4o[0]["cost_usd"] == pytest.approx(paid, abs=1e-5)
    assert rows_4o[1]["cost_usd"] == pytest.approx(at_azure, abs=1e-5)
    assert rows_4o[1]["delta_pct"] == pytest.approx(100 * (at_azure - paid) / paid, abs=0.01)
    assert rows_4o[0]["requests"] == len(mine)

    sonnet = group(everything, "claude-sonnet-4-5")
    assert sonnet[0]["current"] and sonnet[0]["provider"] == "anthropic"
    assert {r["provider"] for r in sonnet[1:]} == {"aws", "google"}
    traffic = [r for r in RECORDS if r["model"] == "claude-sonnet-4-5"]
    for row in sonnet[1:]:
        assert row["cost_usd"] == pytest.approx(
            sum(cost(r, row["provider"], row["model"]) for r in traffic), abs=1e-5
        )
    assert [r["cost_usd"] for r in sonnet[1:]] == sorted(r["cost_usd"] for r in sonnet[1:])
    # Models with no equivalent elsewhere, or unknown to the catalogue, get no rows.
    assert not group(everything, "mystery-1") and nothing["rows"] == []
