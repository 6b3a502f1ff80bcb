"""Each finder on small hand-written traffic, its savings worked out here by hand from the
catalogue's rates: the rules it must respect, and what it must leave alone."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from netra.analysis.batch_api import find_batch_api
from netra.analysis.context_growth import SUMMARY_TOKENS, WINDOW_TURNS, find_context_growth
from netra.analysis.model_rightsizing import MAX_P50_INPUT, find_model_rightsizing
from netra.analysis.output_limits import find_output_limits
from netra.analysis.prompt_caching import find_prompt_caching
from netra.analysis.provider_switch import find_provider_switch
from netra.analysis.retry_waste import find_retry_waste
from netra.telemetry import pricing
from netra.telemetry.store.duckdb_store import DuckDBStore

START = datetime(2026, 11, 2, 9, 0)
DAY = START.date()
MONTH = 30.0  # every dataset here spans less than a day, which counts as one day
_ids = itertools.count()


def rec(at: datetime, **fields: Any) -> dict[str, Any]:
    base = {"provider": "anthropic", "model": "claude-sonnet-4-5", "input_tokens": 1000,
            "output_tokens": 100, "feature": "f", "request_id": f"r{next(_ids)}"}  # fmt: skip
    return {**base, **fields, "ts": at.isoformat() + "Z"}


async def load(store: DuckDBStore, records: list[dict[str, Any]], name: str = "d") -> None:
    result = await store.insert_records(name, records)
    assert result.rejected_rows == 0 and result.unpriced_models == []


def rates(provider: str, model: str, *, batch: bool = False) -> pricing.Rates:
    found = pricing.price_per_mtok(provider, model, DAY, batch=batch)
    assert found is not None
    return found


# -- prompt_caching ---------------------------------------------------------------------


def _chat(prefix_tokens: int, gap_s: float, count: int = 60, **fields: Any) -> list[dict[str, Any]]:
    """Requests sharing one prefix, the shortest being the prefix plus nothing."""
    return [
        rec(START + timedelta(seconds=gap_s * n), input_tokens=prefix_tokens + (n % 3) * 10,
            prefix_hash="px-system", **fields)
        for n in range(count)
    ]  # fmt: skip


async def test_prompt_caching_reads_within_the_lifetime_and_pays_the_write_premium(
    store: DuckDBStore,
) -> None:
    await load(store, _chat(2000, gap_s=60))
    [found] = await find_prompt_caching(store, "d")
    r = rates("anthropic", "claude-sonnet-4-5")
    hits, writes = 59, 1  # each request follows the previous one within 5 minutes
    saving = hits * 2000 * (r.input - r.cached_input) - writes * 2000 * (r.cache_write - r.input)
    assert r.cache_write > r.input  # Anthropic's write premium
    assert found["evidence"]["cache_hits"] == hits
    assert found["evidence"]["avg_cached_prefix_tokens"] == 2000
    assert found["savings_usd_month"] == pytest.approx(saving / 1e6 * MONTH, rel=1e-6)
    assert found["confidence"] == "medium"  # 60 requests: too few to be sure


async def test_prompt_caching_claims_nothing_when_requests_outlive_the_cache(
    store: DuckDBStore,
) -> None:
    await load(store, _chat(2000, gap_s=600))  # 10 minutes apart: every request a write
    assert await find_prompt_caching(store, "d") == []


async def test_prompt_caching_respects_the_minimum_cacheable_prompt(store: DuckDBStore) -> None:
    await load(store, _chat(900, gap_s=30))  # Anthropic caches prompts of 1024+ tokens
    assert await find_prompt_caching(store, "d") == []


async def test_prompt_caching_rounds_openai_prefixes_to_128_tokens(store: DuckDBStore) -> None:
    await load(store, _chat(1500, gap_s=60, provider="openai", model="gpt-4o"))
    [found] = await find_prompt_caching(store, "d")
    r = rates("openai", "gpt-4o")
    assert r.cache_write == r.input  # no write premium
    assert found["evidence"]["avg_cached_prefix_tokens"] == 1408  # 11 × 128
    saving = 59 * 1408 * (r.input - r.cached_input) / 1e6 * MONTH
    assert found["savings_usd_month"] == pytest.approx(saving, rel=1e-6)


async def test_prompt_caching_leaves_cached_traffic_and_unknown_prefix_lengths_alone(
    store: DuckDBStore,
) -> None:
    cached = [{**r, "cached_input_tokens": 2000} for r in _chat(2000, gap_s=60)]
    # every prompt carries a long, varying document: the shared part's length is unknown
    documents = [
        rec(START + timedelta(seconds=60 * n), input_tokens=5000 + 400 * n,
            prefix_hash="px-docs", feature="docs")
        for n in range(60)
    ]  # fmt: skip
    await load(store, cached + documents)
    assert await find_prompt_caching(store, "d") == []


# -- model_rightsizing --------------------------------------------------------------------


def _work(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [rec(START + timedelta(minutes=n), **fields) for n in range(count)]


async def test_rightsizing_targets_the_catalogues_smaller_tier(store: DuckDBStore) -> None:
    await load(store, _work(300, provider="google", model="gemini-2.5-flash",
                            input_tokens=400, output_tokens=20, feature="tagger"))  # fmt: skip
    [found] = await find_model_rightsizing(store, "d")
    assert found["evidence"]["suggested_model"] == "gemini-2.5-flash-lite"
    assert (found["evidence"]["current_tier"], found["evidence"]["suggested_tier"]) == (2, 1)
    assert found["evidence"]["catalog_source"].startswith("https://")
    now, then = rates("google", "gemini-2.5-flash"), rates("google", "gemini-2.5-flash-lite")
    saving = 300 * (now.cost_usd(400, 20) - then.cost_usd(400, 20)) * MONTH
    assert found["savings_usd_month"] == pytest.approx(saving, rel=1e-6)
    assert found["confidence"] == "high"


async def test_rightsizing_leaves_long_work_and_the_smallest_models_alone(
    store: DuckDBStore,
) -> None:
    long_prompts = _work(300, model="claude-sonnet-4-5", input_tokens=6000, output_tokens=20)
    long_answers = _work(300, model="claude-sonnet-4-5", input_tokens=500, output_tokens=900,
                         feature="g")  # fmt: skip
    smallest = _work(300, provider="openai", model="gpt-4o-mini", input_tokens=300,
                     output_tokens=10, feature="h")  # fmt: skip
    await load(store, long_prompts + long_answers + smallest)
    assert await find_model_rightsizing(store, "d") == []


async def test_rightsizing_keeps_a_slice_exactly_at_its_limits(store: DuckDBStore) -> None:
    """Slices are pruned before quantiles are computed; one whose median prompt is exactly
    the limit (51 of 101 requests at it) must survive the pruning, one just past it not."""
    at_limit = _work(51, model="claude-sonnet-4-5", input_tokens=MAX_P50_INPUT,
                     output_tokens=20, feature="edge")  # fmt: skip
    at_limit += _work(50, model="claude-sonnet-4-5", input_tokens=5000, output_tokens=20,
                      feature="edge")  # fmt: skip
    past = _work(50, model="claude-sonnet-4-5", input_tokens=MAX_P50_INPUT, output_tokens=20,
                 feature="past")  # fmt: skip
    past += _work(51, model="claude-sonnet-4-5", input_tokens=MAX_P50_INPUT + 1,
                  output_tokens=20, feature="past")  # fmt: skip
    await load(store, at_limit + past)
    [found] = await find_model_rightsizing(store, "d")
    assert found["evidence"]["feature"] == "edge"
    assert found["evidence"]["p50_input_tokens"] == MAX_P50_INPUT


# -- retry_waste ----------------------------------------------------------------------------


def _retries(gap_s: float, chains: int = 12, failures: int = 3) -> list[dict[str, Any]]:
    """Requests that fail `failures` times, each retry `gap_s` later, then succeed."""
    records = []
    for chain in range(chains):
        at = START + timedelta(minutes=30 * chain)
        for attempt in range(failures + 1):
            failed = attempt < failures
            records.append(rec(
                at + timedelta(seconds=gap_s * attempt), provider="openai", model="gpt-4o",
                input_tokens=4000, output_tokens=0 if failed else 300,
                status="error" if failed else "ok", error_type="timeout" if failed else None,
                end_user="u1", prompt_hash=f"p{chain}", feature="extract",
            ))  # fmt: skip
    return records


async def test_retry_waste_counts_the_retries_that_fail_again(store: DuckDBStore) -> None:
    await load(store, _retries(gap_s=10))
    [found] = await find_retry_waste(store, "d")
    r = rates("openai", "gpt-4o")
    # per request: the first failure is unavoidable, the two failed retries are waste
    waste = 12 * 2 * r.cost_usd(4000, 0) * MONTH
    assert found["affected_requests"] == 24
    assert found["evidence"]["retries"] == 36
    assert found["evidence"]["failed_requests"] == 36
    assert found["savings_usd_month"] == pytest.approx(waste, rel=1e-6)
    assert found["evidence"]["p50_seconds_to_retry"] == 10
    assert "backoff" in found["action"] and "timeout" in found["action"]


async def test_retry_waste_sees_failed_calls_without_usage(store: DuckDBStore) -> None:
    # Each chain's first failure is a rate limit the source recorded no usage for (0
    # tokens, $0); its two retries time out after reading the prompt, then one succeeds.
    records = _retries(gap_s=10)
    for first in records[::4]:
        first.update(input_tokens=None, output_tokens=None, error_type="rate_limit")
    await load(store, records)
    [found] = await find_retry_waste(store, "d")
    r = rates("openai", "gpt-4o")
    assert found["evidence"]["failed_requests"] == 36  # the 12 without usage among them
    assert found["evidence"]["retries"] == 36 and found["affected_requests"] == 24
    assert found["evidence"]["error_types"] == {"rate_limit": 12, "timeout": 24}
    assert found["evidence"]["failed_cost_usd"] == pytest.approx(24 * r.cost_usd(4000, 0))
    assert found["savings_usd_month"] == pytest.approx(24 * r.cost_usd(4000, 0) * MONTH)


async def test_retry_waste_ignores_late_retries_and_transient_failures(
    store: DuckDBStore,
) -> None:
    late = _retries(gap_s=600)  # ten minutes later: a new attempt, not a storm
    transient = [{**r, "feature": "g", "prompt_hash": "t" + r["prompt_hash"]}
                 for r in _retries(gap_s=5, failures=1)]  # fmt: skip
    await load(store, late + transient)
    assert await find_retry_waste(store, "d") == []


# -- context_growth ---------------------------------------------------------------------------


def _conversations(prompt: Any, count: int = 40, turns: int = 12) -> list[dict[str, Any]]:
    return [
        rec(START + timedelta(minutes=20 * c, seconds=60 * t), input_tokens=prompt(t),
            output_tokens=300, conversation_id=f"c{c}", feature="assistant")
        for c in range(count) for t in range(1, turns + 1)
    ]  # fmt: skip


async def test_context_growth_caps_history_after_the_window(store: DuckDBStore) -> None:
    await load(store, _conversations(lambda turn: 500 + 1000 * (turn - 1)))
    [found] = await find_context_growth(store, "d")
    cap = 500 + 1000 * (WINDOW_TURNS - 1) + SUMMARY_TOKENS
    trimmed = sum(500 + 1000 * (t - 1) - cap for t in range(WINDOW_TURNS + 1, 13))
    saving = 40 * trimmed * rates("anthropic", "claude-sonnet-4-5").input / 1e6 * MONTH
    assert found["affected_requests"] == 40 * (12 - WINDOW_TURNS)
    assert found["evidence"]["tokens_added_per_turn"] == 1000
    assert found["savings_usd_month"] == pytest.approx(saving, rel=1e-6)
    assert found["confidence"] == "high"


async def test_context_growth_leaves_windowed_conversations_alone(store: DuckDBStore) -> None:
    await load(store, _conversations(lambda turn: 500 + 1000 * min(turn - 1, 3)))
    assert await find_context_growth(store, "d") == []


# -- provider_switch --------------------------------------------------------------------------


async def test_provider_switch_finds_the_same_model_cheaper_elsewhere(store: DuckDBStore) -> None:
    together = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    await load(store, _work(250, provider="together", model=together, input_tokens=2000,
                            output_tokens=100))  # fmt: skip
    [found] = await find_provider_switch(store, "d")
    evidence = found["evidence"]
    assert (evidence["suggested_provider"], evidence["suggested_model"]) == (
        "groq",
        "llama-3.3-70b-versatile",
    )
    now, then = rates("together", together), rates("groq", "llama-3.3-70b-versatile")
    saving = 250 * (now.cost_usd(2000, 100) - then.cost_usd(2000, 100)) * MONTH
    assert found["savings_usd_month"] == pytest.approx(saving, rel=1e-6)
    assert found["confidence"] == "high"


async def test_provider_switch_leaves_the_cheapest_host_and_equal_prices_alone(
    store: DuckDBStore,
) -> None:
    groq = _work(250, provider="groq", model="llama-3.3-70b-versatile", input_tokens=2000)
    claude = _work(250, feature="g")  # Vertex AI and Bedrock charge what Anthropic does
    await load(store, groq + claude)
    assert await find_provider_switch(store, "d") == []


# -- output_limits ----------------------------------------------------------------------------


def _drafts(**fields: Any) -> list[dict[str, Any]]:
    lengths = [200] * 100 + [3000] * 10  # a tenth of the answers loop on
    return [
        rec(START + timedelta(minutes=n), provider="openai", model="gpt-4.1",
            output_tokens=length, feature="drafts", **fields)
        for n, length in enumerate(lengths)
    ]  # fmt: skip


async def test_output_limits_caps_runaway_answers(store: DuckDBStore) -> None:
    await load(store, _drafts())
    [found] = await find_output_limits(store, "d")
    cap = 832  # four times the median, rounded up to 64 tokens
    saving = 10 * (3000 - cap) * rates("openai", "gpt-4.1").output / 1e6 * MONTH
    assert found["evidence"]["proposed_cap"] == cap
    assert found["affected_requests"] == 10
    assert found["savings_usd_month"] == pytest.approx(saving, rel=1e-6)


async def test_output_limits_leaves_a_tight_cap_alone(store: DuckDBStore) -> None:
    await load(store, _drafts(max_tokens=800))
    assert await find_output_limits(store, "d") == []


# -- batch_api ----------------------------------------------------------------------------------


async def test_batch_api_reprices_a_nightly_job_at_batch_rates(store: DuckDBStore) -> None:
    nightly = [
        rec(datetime(2026, 11, 1, 2, 0) + timedelta(days=d, minutes=m), provider="openai",
            model="gpt-4o", input_tokens=8000, output_tokens=1000, feature="report")
        for d in range(10) for m in range(0, 60, 5)
    ]  # fmt: skip
    daytime = [
        rec(datetime(2026, 11, 1, 0, 0) + timedelta(days=d, hours=h), provider="openai",
            model="gpt-4o", feature="chat")
        for d in range(10) for h in range(24)
    ]  # fmt: skip
    await load(store, nightly + daytime)
    [found] = await find_batch_api(store, "d")
    assert found["evidence"]["feature"] == "report"
    [window] = await store.fetch(
        "SELECT date_diff('second', min(ts), max(ts)) / 86400.0 AS days FROM requests"
    )
    now, then = rates("openai", "gpt-4o"), rates("openai", "gpt-4o", batch=True)
    assert then.input < now.input
    saving = len(nightly) * (now.cost_usd(8000, 1000) - then.cost_usd(8000, 1000))
    assert found["savings_usd_month"] == pytest.approx(saving * 30 / window["days"], rel=1e-6)
