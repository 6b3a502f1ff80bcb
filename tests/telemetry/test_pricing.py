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


@pytest.mark.parametrize("input_tokens", [200_000, 200_001])
async def test_the_tier_threshold_is_exclusive_as_in_the_catalogue(
    tmp_path: Path, input_tokens: int
) -> None:
    cost = await _cost(tmp_path, provider="google", model="gemini-2.5-pro",
                       input_tokens=input_tokens, output_tokens=1_000)  # fmt: skip
    catalog = calc_price(Usage(input_tokens=input_tokens, output_tokens=1_000),
                         "gemini-2.5-pro", provider_id="google")  # fmt: skip
    assert cost == pytest.approx(float(catalog.total_price))
    rate = 1.25 if input_tokens == 200_000 else 2.5
    assert cost == pytest.approx((input_tokens * rate + 1_000 * (10 if rate == 1.25 else 15)) / 1e6)


async def test_a_file_is_priced_per_request_like_the_api(tmp_path: Path) -> None:
    content = (
        "ts,provider,model,input_tokens,output_tokens,cached_input_tokens,cache_write_tokens,"
        "batch,cost_usd\n"
        "2025-06-09T12:00:00Z,openai,o3,1000,100,0,0,false,\n"
        "2025-06-10T12:00:00Z,openai,o3,1000,100,0,0,false,0.01\n"
        "2026-11-01T00:00:00Z,openai,gpt-4o,1000,100,0,0,true,\n"
        "2026-11-01T00:00:00Z,anthropic,claude-sonnet-4-5,10000,500,6000,1000,false,\n"
        "2026-11-01T00:00:00Z,acme,acme-1,10,10,0,0,false,0.5\n"
    )
    path = tmp_path / "priced.csv"
    path.write_text(content)
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        rows = await store.fetch("SELECT cost_usd FROM requests ORDER BY ts, model")
    expected = [
        (1000 * 10 + 100 * 40) / 1e6,  # o3 before its price cut
        (1000 * 2 + 100 * 8) / 1e6,  # and after
        None,  # acme-1: unpriced, never free
        (3_000 * 3 + 6_000 * 0.30 + 1_000 * 3.75 + 500 * 15) / 1e6,  # cache reads, writes
        (1000 * 1.25 + 100 * 5) / 1e6,  # gpt-4o through the batch API
    ]
    costs = [r["cost_usd"] for r in rows]
    assert costs[2] is None and result.unpriced_models == ["acme-1"]
    assert [c for c in costs if c is not None] == pytest.approx(
        [c for c in expected if c is not None]
    )
    assert result.source_cost_usd == pytest.approx(0.51)


@pytest.mark.parametrize(
    ("provider", "model"),
    [("openai", "text-embedding-3-small"), ("openai", "text-embedding-3-large"),
     ("google", "gemini-embedding-2"), ("mistral", "codestral-embed-2505")],
)  # fmt: skip
async def test_embedding_models_are_priced_as_genai_prices_prices_them(
    tmp_path: Path, provider: str, model: str
) -> None:
    # Embedding models have an input price only: their input tokens at it, no output.
    cost = await _cost(tmp_path, provider=provider, model=model, input_tokens=123_456,
                       output_tokens=0, ts="2026-11-01T10:00:00Z")  # fmt: skip
    catalog = calc_price(Usage(input_tokens=123_456, output_tokens=0), model,
                         provider_id=provider)  # fmt: skip
    assert float(catalog.total_price) > 0
    assert cost == pytest.approx(float(catalog.total_price), rel=0.005)


async def test_an_embeddings_file_is_priced_and_named_unpriced_only_when_unknown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "embeddings.csv"
    path.write_text(
        "ts,provider,model,input_tokens,output_tokens\n"
        "2026-11-01T10:00:00Z,openai,text-embedding-3-small,2000000,0\n"
        "2026-11-01T10:00:01Z,openai,moderation,1000,0\n"  # listed without a price: free
        "2026-11-01T10:00:02Z,groq,whisper-large-v3,1000,0\n"  # priced per audio hour
        "2026-11-01T10:00:03Z,acme,acme-embed,1000,0\n"
    )
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        costs = {r["model"]: r["cost_usd"]
                 for r in await store.fetch("SELECT model, cost_usd FROM requests")}  # fmt: skip
    small = calc_price(Usage(input_tokens=2_000_000), "text-embedding-3-small",
                       provider_id="openai")  # fmt: skip
    assert costs["text-embedding-3-small"] == pytest.approx(float(small.total_price), rel=0.005)
    assert costs["moderation"] == 0.0
    assert costs["whisper-large-v3"] is None and costs["acme-embed"] is None
    assert result.unpriced_models == ["acme-embed", "whisper-large-v3"]
    rates = pricing.price_per_mtok("openai", "text-embedding-3-small", date(2026, 11, 1))
    assert rates is not None and rates.output == 0.0 and rates.input > 0
