"""Pricing: catalogue rates applied per request, by date, in bulk SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from netra.telemetry import pricing
from tests.telemetry.helpers import open_store, record


async def _cost(tmp_path: Path, **fields: object) -> float | None:
    async with open_store(tmp_path) as store:
        result = await store.insert_records("d", [record(**fields)])
        assert result.rejected_rows == 0, result.rejects
        [row] = await store.fetch("SELECT cost_usd FROM requests WHERE dataset_id = 'd'")
    cost: float | None = row["cost_usd"]
    return cost


async def test_cached_and_cache_write_tokens_are_billed_at_their_own_rates(tmp_path: Path) -> None:
    cost = await _cost(
        tmp_path, provider="anthropic", model="claude-sonnet-4-5", input_tokens=10_000,
        cached_input_tokens=6_000, cache_write_tokens=1_000, output_tokens=500,
    )  # fmt: skip
    expected = (3_000 * 3 + 6_000 * 0.30 + 1_000 * 3.75 + 500 * 15) / 1e6
    assert cost == pytest.approx(expected)
    usage = Usage(input_tokens=10_000, cache_read_tokens=6_000, cache_write_tokens=1_000,
                  output_tokens=500)  # fmt: skip
    catalog = calc_price(usage, "claude-sonnet-4-5", provider_id="anthropic")
    assert cost == pytest.approx(float(catalog.total_price))


async def test_a_price_change_applies_from_its_date(tmp_path: Path) -> None:
    # o3's price fell from $10/$40 to $2/$8 per million tokens on 2025-06-10.
    before = pricing.price_per_mtok("openai", "o3", date(2025, 6, 9))
    after = pricing.price_per_mtok("openai", "o3", date(2025, 6, 10))
    assert before is not None and after is not None
    assert (before.input, before.output) == (10.0, 40.0)
    assert (after.input, after.output) == (2.0, 8.0)
    old = await _cost(tmp_path / "a", model="o3", ts="2025-06-09T23:59:59Z")
    new = await _cost(tmp_path / "b", model="o3", ts="2025-06-10T00:00:00Z")
    assert old == pytest.approx((1000 * 10 + 100 * 40) / 1e6)
    assert new == pytest.approx((1000 * 2 + 100 * 8) / 1e6)


async def test_batch_requests_use_the_catalogue_batch_price(tmp_path: Path) -> None:
    cost = await _cost(tmp_path, ts="2026-11-01T00:00:00Z", batch="true")
    assert cost == pytest.approx((1000 * 1.25 + 100 * 5) / 1e6)


async def test_tiered_prices_follow_the_request_size(tmp_path: Path) -> None:
    cost = await _cost(tmp_path, provider="google", model="gemini-2.5-pro",
                       input_tokens=300_000, output_tokens=1_000)  # fmt: skip
    assert cost == pytest.approx((300_000 * 2.5 + 1_000 * 15) / 1e6)


async def test_unknown_models_are_unpriced_and_named(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        result = await store.insert_records(
            "d", [record(model="acme-llm-9000"), record(provider="nobody", model="x1"), record()]
        )
        rows = await store.fetch("SELECT model, cost_usd FROM requests ORDER BY model")
    assert result.unpriced_models == ["acme-llm-9000", "x1"]
    assert {r["model"]: r["cost_usd"] for r in rows}["acme-llm-9000"] is None
    assert result.total_cost_usd == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert pricing.price_per_mtok("openai", "acme-llm-9000", date(2026, 1, 1)) is None


async def test_reported_cost_is_kept_beside_the_computed_one(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.insert_records("d", [record(cost_usd="0.5")])
        [row] = await store.fetch("SELECT cost_usd, source_cost_usd FROM requests")
    assert row["source_cost_usd"] == 0.5
    assert row["cost_usd"] == pytest.approx(0.0035)


def test_rates_are_computed_once_per_run_of_equal_days() -> None:
    keys = {("openai", "o3", False, date(2025, 6, day)) for day in range(1, 21)}
    rows, unpriced = pricing.rate_rows(keys)
    assert unpriced == set()
    assert [(r.starts.date(), r.ends.date(), r.band.rates.input) for r in rows] == [
        (date(2025, 6, 1), date(2025, 6, 10), 10.0),
        (date(2025, 6, 10), date(2025, 6, 21), 2.0),
    ]
