"""What-if replay equals an independent re-pricing of the same records in Python, with the
catalogue rates of pricing.price_per_mtok for each request's day, tier and batch flag."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from netra.analysis.catalog import cache_rule
from netra.analysis.whatif import RESPONSE_CACHE_TTL_S, Scenario, simulate
from netra.errors import ValidationFailed
from netra.telemetry import pricing
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import open_store

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
Record = dict[str, Any]


def _workload() -> list[Record]:
    records: list[Record] = []

    def add(i: int, provider: str, model: str, feature: str, **extra: Any) -> None:
        records.append({
            "ts": (START + timedelta(minutes=37 * len(records))).isoformat(),
            "provider": provider, "model": model, "feature": feature,
            "input_tokens": 800 + 53 * i, "output_tokens": 40 + 7 * i,
            "request_id": f"r{len(records)}", **extra,
        })  # fmt: skip

    for i in range(20):
        extra = {"cached_input_tokens": 128} if i % 5 == 0 else {}
        add(i, "openai", "gpt-4o", "triage" if i % 2 else "chat", batch=i % 7 == 3, **extra)
    for i in range(12):
        add(i, "anthropic", "claude-sonnet-4-5", "summaries")
    for i in range(4):
        add(i, "acme", "mystery-1", "triage")
    return records


RECORDS = _workload()


def _ts(record: Record) -> datetime:
    return datetime.fromisoformat(record["ts"]).astimezone(UTC).replace(tzinfo=None)


def price(
    record: Record, provider: str, model: str, *, batch: bool | None = None,
    cached: int | None = None, written: int = 0,
) -> float | None:  # fmt: skip
    """The record's cost at a model's rates (None: the catalogue does not know it)."""
    rates = pricing.price_per_mtok(
        provider, model, _ts(record).date(), input_tokens=record["input_tokens"],
        batch=bool(record.get("batch")) if batch is None else batch,
    )  # fmt: skip
    if rates is None:
        return None
    cached = record.get("cached_input_tokens", 0) if cached is None else cached
    return rates.cost_usd(record["input_tokens"], record["output_tokens"], cached, written)


def own(record: Record) -> float | None:
    return price(record, record["provider"], record["model"])


def window_days(records: list[Record]) -> float:
    stamps = [_ts(r) for r in records]
    return max((max(stamps) - min(stamps)).total_seconds() / 86400, 1.0)


def expected(
    records: list[Record], moved: list[Record], new_cost: Callable[[Record], float | None]
) -> dict[str, Any]:
    """Totals over the moved records that can be priced before and after."""
    current = simulated = 0.0
    by_feature: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    unpriced = 0
    for r in moved:
        before, after = own(r), new_cost(r)
        if before is None or after is None:
            unpriced += 1
            continue
        current, simulated = current + before, simulated + after
        by_feature[r["feature"]][0] += before
        by_feature[r["feature"]][1] += after
    savings = current - simulated
    return {
        "affected_requests": len(moved),
        "unpriced_requests": unpriced,
        "current_cost_usd": current,
        "simulated_cost_usd": simulated,
        "savings_usd": savings,
        "savings_usd_month": savings * 30 / window_days(records),
        "savings_pct": 100 * savings / current if current else 0.0,
        "by_feature": dict(by_feature),
        "features": {r["feature"] for r in moved},
    }


def check(result: dict[str, Any], truth: dict[str, Any]) -> None:
    assert result["affected_requests"] == truth["affected_requests"]
    assert result["unpriced_requests"] == truth["unpriced_requests"]
    for key in ("current_cost_usd", "simulated_cost_usd", "savings_usd", "savings_usd_month"):
        assert result[key] == pytest.approx(truth[key], abs=2e-6), key
    assert result["savings_pct"] == pytest.approx(truth["savings_pct"], abs=0.01)
    by_feature = {r["feature"]: r for r in result["by_feature"]}
    assert set(by_feature) == truth["features"]
    for feature, (current, simulated) in truth["by_feature"].items():
        assert by_feature[feature]["current_cost_usd"] == pytest.approx(current, abs=2e-6)
        assert by_feature[feature]["simulated_cost_usd"] == pytest.approx(simulated, abs=2e-6)
    assert result["description"] and result["assumptions"]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    async with open_store(tmp_path) as store:
        assert (await store.insert_records("d", RECORDS)).rows == len(RECORDS)
        yield store


async def test_model_map_reprices_at_the_new_model(store: DuckDBStore) -> None:
    result = await simulate(store, "d", Scenario(model_map={"gpt-4o": "gpt-4o-mini"}))
    moved = [r for r in RECORDS if r["model"] == "gpt-4o"]
    check(result, expected(RECORDS, moved, lambda r: price(r, "openai", "gpt-4o-mini")))
    assert result["savings_usd"] > 0 and result["unpriced"] == []
    assert [(m["to_provider"], m["to_model"]) for m in result["by_model"]] == [
        ("openai", "gpt-4o-mini")
    ]


async def test_a_model_of_another_provider_moves_there(store: DuckDBStore) -> None:
    result = await simulate(store, "d", Scenario(model_map={"gpt-4o": "claude-haiku-4-5"}))
    moved = [r for r in RECORDS if r["model"] == "gpt-4o"]
    check(result, expected(RECORDS, moved, lambda r: price(r, "anthropic", "claude-haiku-4-5")))
    assert result["by_model"][0]["to_provider"] == "anthropic"


async def test_provider_map_reprices_the_same_model_elsewhere(store: DuckDBStore) -> None:
    result = await simulate(store, "d", Scenario(provider_map={"Anthropic": "google"}))
    moved = [r for r in RECORDS if r["provider"] == "anthropic"]
    check(result, expected(RECORDS, moved, lambda r: price(r, "google", "claude-sonnet-4-5")))


async def test_batch_on_for_one_feature_leaves_unknown_models_out(store: DuckDBStore) -> None:
    result = await simulate(store, "d", Scenario(batch=True, features=("triage",)))
    moved = [r for r in RECORDS if r["feature"] == "triage"]
    truth = expected(RECORDS, moved, lambda r: price(r, r["provider"], r["model"], batch=True))
    check(result, truth)
    assert truth["unpriced_requests"] == 4 and result["unpriced"] == ["mystery-1"]
    assert result["savings_usd"] > 0
    assert any("mystery-1" in note for note in result["assumptions"])


async def test_batch_off_prices_batch_requests_normally(store: DuckDBStore) -> None:
    result = await simulate(store, "d", Scenario(batch=False, model_map={"gpt-4o": "gpt-4o"}))
    moved = [r for r in RECORDS if r["model"] == "gpt-4o"]
    check(result, expected(RECORDS, moved, lambda r: price(r, "openai", "gpt-4o", batch=False)))
    assert result["savings_usd"] < 0  # the batch discount is lost


async def test_half_the_traffic_moves_evenly_in_time(store: DuckDBStore) -> None:
    scenario = Scenario(model_map={"gpt-4o": "gpt-4o-mini"}, share_pct=50)
    result = await simulate(store, "d", scenario)
    again = await simulate(store, "d", scenario)
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in RECORDS:
        if r["model"] == "gpt-4o":
            groups[(r["feature"], r["model"])].append(r)
    # Of each feature's requests in time order, every second one (k = 2, 4, …) moves.
    moved = [r for rows in groups.values()
             for k, r in enumerate(sorted(rows, key=_ts), start=1) if k % 2 == 0]  # fmt: skip
    check(result, expected(RECORDS, moved, lambda r: price(r, "openai", "gpt-4o-mini")))
    assert result == again
    assert result["affected_requests"] == sum(len(rows) // 2 for rows in groups.values())


async def test_unknown_names_are_clear_errors(store: DuckDBStore) -> None:
    with pytest.raises(ValidationFailed, match="model_map: the price catalogue.*gpt-17-ultra"):
        await simulate(store, "d", Scenario(model_map={"gpt-4o": "gpt-17-ultra"}))
    with pytest.raises(ValidationFailed, match="model_map: 'gpt-9' is not a model"):
        await simulate(store, "d", Scenario(model_map={"gpt-9": "gpt-4o-mini"}))
    with pytest.raises(ValidationFailed, match="provider_map: .*'gpt-4o' at provider 'nowhere'"):
        await simulate(store, "d", Scenario(provider_map={"openai": "nowhere"}))
    with pytest.raises(ValidationFailed, match="features: 'nope'"):
        await simulate(store, "d", Scenario(features=("nope",)))
    with pytest.raises(ValidationFailed, match="share_pct"):
        await simulate(store, "d", Scenario(share_pct=0))


async def test_an_unknown_source_model_is_never_free(store: DuckDBStore) -> None:
    result = await simulate(store, "d", Scenario(model_map={"mystery-1": "gpt-4o-mini"}))
    assert result["affected_requests"] == 4 and result["unpriced_requests"] == 4
    assert result["unpriced"] == ["mystery-1"]
    assert result["current_cost_usd"] == result["simulated_cost_usd"] == 0


def _at(minutes: float, **fields: Any) -> Record:
    return {"ts": (START + timedelta(minutes=minutes)).isoformat(), "output_tokens": 100,
            "feature": "rag", **fields}  # fmt: skip


async def test_prompt_cache_follows_the_provider_rule(store: DuckDBStore) -> None:
    sonnet = {"provider": "anthropic", "model": "claude-sonnet-4-5", "prefix_hash": "p"}
    records = [_at(0, input_tokens=5000, **sonnet), _at(1, input_tokens=5200, **sonnet),
               _at(3.5, input_tokens=6000, **sonnet), _at(125, input_tokens=5100, **sonnet),
               _at(126, input_tokens=500, **{**sonnet, "prefix_hash": "short"}),
               _at(127, input_tokens=500, **{**sonnet, "prefix_hash": "short"})]  # fmt: skip
    await store.insert_records("pc", records)
    result = await simulate(store, "pc", Scenario(prompt_cache=True))
    rule = cache_rule("anthropic", "claude-sonnet-4-5")
    assert rule is not None and rule.ttl_s == 300 and rule.min_tokens <= 5000
    prefix = 5000  # the shortest prompt with that prefix
    previous: dict[str, datetime] = {}
    costs = {}
    for r in records:
        gap = (_ts(r) - previous[r["prefix_hash"]]).total_seconds() \
            if r["prefix_hash"] in previous else None  # fmt: skip
        previous[r["prefix_hash"]] = _ts(r)
        if r["input_tokens"] < rule.min_tokens:
            costs[r["ts"]] = own(r)
        elif gap is not None and gap <= rule.ttl_s:
            costs[r["ts"]] = price(r, "anthropic", "claude-sonnet-4-5", cached=prefix)
        else:
            costs[r["ts"]] = price(r, "anthropic", "claude-sonnet-4-5", cached=0, written=prefix)
    check(result, expected(records, records, lambda r: costs[r["ts"]]))
    assert result["prompt_cache_hits"] == 2


async def test_response_cache_answers_repeats_within_its_lifetime(store: DuckDBStore) -> None:
    mini = {"provider": "openai", "model": "gpt-4o-mini", "prompt_hash": "h", "input_tokens": 900}
    hours = RESPONSE_CACHE_TTL_S / 3600
    records = [_at(0, **mini), _at(60, **mini), _at(60 * (hours + 2), **mini),
               _at(60 * (hours + 3), status="error", **mini), _at(60 * (hours + 4), **mini),
               _at(60 * (hours + 5), **{**mini, "prompt_hash": "other"})]  # fmt: skip
    await store.insert_records("rc", records)
    result = await simulate(store, "rc", Scenario(response_cache=True))
    hits = {records[1]["ts"], records[4]["ts"]}  # the failure in between is never cached
    check(result, expected(records, records, lambda r: 0.0 if r["ts"] in hits else own(r)))
    assert result["response_cache_hits"] == 2


async def test_explicit_caches_pay_storage_while_kept(store: DuckDBStore) -> None:
    flash = {"provider": "google", "model": "gemini-2.5-flash", "prefix_hash": "g"}
    records = [_at(0, input_tokens=2000, **flash), _at(10, input_tokens=2300, **flash)]
    await store.insert_records("gemini", records)
    result = await simulate(store, "gemini", Scenario(prompt_cache=True))
    rule = cache_rule("google", "gemini-2.5-flash")
    assert rule is not None and rule.storage_usd_per_mtok_hour > 0 and rule.ttl_s >= 600
    hour_price = 2000 * rule.storage_usd_per_mtok_hour / 1e6  # the 2000-token prefix, one hour
    first = price(records[0], "google", "gemini-2.5-flash", cached=0, written=2000)
    second = price(records[1], "google", "gemini-2.5-flash", cached=2000)
    assert first is not None and second is not None
    costs = {records[0]["ts"]: first + hour_price * 600 / 3600,  # kept until the next use
             records[1]["ts"]: second + hour_price * rule.ttl_s / 3600}  # fmt: skip
    check(result, expected(records, records, lambda r: costs[r["ts"]]))


async def test_requests_of_unknown_usage_are_left_out_not_unpriced(store: DuckDBStore) -> None:
    unmeasured = [{"ts": (START + timedelta(minutes=m)).isoformat(), "provider": "openai",
                   "model": "gpt-4o", "feature": "chat", "request_id": f"u{m}"}
                  for m in range(3)]  # fmt: skip
    await store.insert_records("d", unmeasured)
    result = await simulate(store, "d", Scenario(model_map={"gpt-4o": "gpt-4o-mini"}))
    moved = [r for r in RECORDS if r["model"] == "gpt-4o"]
    current = sum(price(r, "openai", "gpt-4o") or 0 for r in moved)
    assert result["affected_requests"] == len(moved) + 3
    assert (result["priced_requests"], result["unpriced_requests"],
            result["usage_unknown_requests"]) == (len(moved), 0, 3)  # fmt: skip
    assert result["unpriced"] == []
    assert result["current_cost_usd"] == pytest.approx(current, abs=1e-6)
    assert any("3 requests whose token usage" in note for note in result["assumptions"])
