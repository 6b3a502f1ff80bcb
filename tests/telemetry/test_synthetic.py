"""The demo generator: deterministic by seed, shaped like real traffic, with one planted
inefficiency per finding category (none when clean) and ground truth for each."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from netra.telemetry import pricing, synthetic
from tests.telemetry.helpers import open_store

END = date(2026, 11, 25)
ROWS = "SELECT * EXCLUDE (dataset_id) FROM requests WHERE dataset_id = ? ORDER BY request_id"
CATEGORIES = {"model_rightsizing", "response_caching", "prompt_caching", "batch_api",
              "output_limits", "retry_waste", "context_growth", "provider_switch"}  # fmt: skip


async def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        for name, seed in (("a", 7), ("b", 7), ("c", 8)):
            await store.generate_demo(name, rows=3000, seed=seed, end=END)
        a, b, c = [await store.fetch(ROWS, [name]) for name in "abc"]
    assert a == b
    assert len(a) == len(c) == 3000
    assert [r["input_tokens"] for r in a] != [r["input_tokens"] for r in c]


async def test_demo_is_realistic(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        result = await store.generate_demo("d", rows=20_000, seed=42, end=END)
        [shape] = await store.fetch(
            """SELECT count(DISTINCT provider) AS providers, count(DISTINCT model) AS models,
                 count(DISTINCT feature) AS features, avg((status = 'error')::INT) AS errors,
                 count(*) FILTER (WHERE status = 'error' AND error_type IS NULL) AS untyped,
                 count(*) FILTER (WHERE hour(ts) BETWEEN 9 AND 17) AS day_requests,
                 count(*) FILTER (WHERE hour(ts) IN (21, 22, 23, 4, 5, 6)) AS night_requests,
                 corr(latency_ms, output_tokens) FILTER (WHERE status = 'ok') AS latency_corr,
                 count(DISTINCT request_id) AS request_ids,
                 count(DISTINCT conversation_id) AS conversations
               FROM requests WHERE dataset_id = 'd'"""
        )
        [faq] = await store.fetch(
            "SELECT count(*) AS n, count(DISTINCT prompt_hash) AS prompts FROM requests "
            "WHERE dataset_id = 'd' AND feature = 'faq-bot'"
        )
    start, stop = synthetic.window(END)
    assert result.rows == 20_000 and result.unpriced_models == []
    assert result.first_ts is not None and result.last_ts is not None
    assert (
        start <= result.first_ts.replace(tzinfo=None) < result.last_ts.replace(tzinfo=None) < stop
    )
    assert (shape["providers"], shape["models"], shape["features"]) == (4, 7, 12)
    assert 0.01 < shape["errors"] < 0.08 and shape["untyped"] == 0
    assert shape["day_requests"] > 3 * shape["night_requests"]  # diurnal
    assert shape["latency_corr"] > 0.3
    assert shape["request_ids"] == 20_000
    assert shape["conversations"] > 300
    assert faq["prompts"] < faq["n"] / 5  # the planted repeats
    assert result.total_cost_usd > 0


async def test_chains_look_like_conversations_jobs_and_retries(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.generate_demo("d", rows=20_000, seed=42, end=END)
        await store.generate_demo("c", rows=20_000, seed=42, end=END, clean=True)
        turns = """
          SELECT dataset_id, avg(input_tokens) FILTER (WHERE turn = 6) AS sixth,
            avg(input_tokens) FILTER (WHERE turn >= 10) AS late,
            bool_and(gap_s BETWEEN 15 AND 300) AS paced
          FROM (SELECT dataset_id, input_tokens,
                  row_number() OVER w AS turn, epoch(ts - lag(ts) OVER w) AS gap_s
                FROM requests WHERE feature = 'research-assistant'
                WINDOW w AS (PARTITION BY dataset_id, conversation_id ORDER BY ts))
          GROUP BY 1 ORDER BY 1"""
        clean, demo = await store.fetch(turns)
        storms = await store.fetch(
            """SELECT dataset_id, count(*) FILTER (WHERE status = 'error') AS failed,
                 count(*) FILTER (WHERE metadata LIKE '{"attempt": 1}') AS requests,
                 count(DISTINCT prompt_hash) AS prompts
               FROM requests WHERE feature = 'invoice-extract' GROUP BY 1 ORDER BY 1"""
        )
        [night] = await store.fetch(
            "SELECT min(hour(ts)) AS first, max(hour(ts)) AS last, bool_and(batch) AS batch, "
            "count(*) FILTER (WHERE cached_input_tokens > 0) AS cached FROM requests "
            "WHERE dataset_id = 'd' AND feature = 'nightly-report'"
        )
    assert demo["late"] > 1.5 * demo["sixth"]  # the whole history resent every turn
    assert clean["late"] < 1.1 * clean["sixth"]  # only the last four exchanges kept
    assert demo["paced"] and clean["paced"]
    clean_storms, demo_storms = storms
    assert demo_storms["failed"] > 5 * clean_storms["failed"]
    for row in storms:  # every attempt of a request repeats its prompt
        assert row["prompts"] == row["requests"]
    assert (night["first"], night["last"], night["batch"]) == (1, 3, False)
    assert night["cached"] > 0  # OpenAI caches the long report prompt by itself


async def test_clean_mode_fixes_every_planted_case(tmp_path: Path) -> None:
    assert synthetic.planted_cases(clean=True) == {}
    async with open_store(tmp_path) as store:
        result = await store.generate_demo("c", rows=20_000, seed=42, end=END, clean=True)
        assert result.rows == 20_000 and result.unpriced_models == []
        rows = await store.fetch(
            "SELECT feature, any_value(provider) AS provider, any_value(model) AS model, "
            "bool_and(batch) AS batch, count(DISTINCT prompt_hash) AS prompts, count(*) AS n, "
            "max(output_tokens) AS longest, sum(cached_input_tokens) AS cached "
            "FROM requests WHERE dataset_id = 'c' GROUP BY 1"
        )
        assert await synthetic.ground_truth(store, "c", clean=True) == {}
    by = {r["feature"]: r for r in rows}
    assert by["ticket-triage"]["model"] == "gpt-4o-mini"
    assert by["product-tagging"]["provider"] == "groq"
    assert by["nightly-report"]["batch"] is True
    assert by["faq-bot"]["prompts"] == by["faq-bot"]["n"]
    assert by["email-drafts"]["longest"] <= 800
    assert by["support-chat"]["cached"] > 0


def test_planted_cases_name_demo_features() -> None:
    cases = synthetic.planted_cases()
    assert set(cases) == CATEGORIES
    names = {f.name: (f.provider, f.model) for f in synthetic.FEATURES}
    for category, planted in cases.items():
        [case] = planted
        assert names[case["feature"]] == (case["provider"], case["model"]), category
        assert case["requests"]
    assert {f.name for f in synthetic.CLEAN_FEATURES} == set(names)


@pytest.mark.parametrize("clean", [False, True])
def test_price_keys_cover_every_model_of_both_modes(clean: bool) -> None:
    keys = synthetic.price_keys(END)
    start, _ = synthetic.window(END)
    produced = duckdb.sql(
        "SELECT DISTINCT provider, model, batch, ts::DATE AS day FROM "
        f"({synthetic.demo_sql(5000, 3, END, clean=clean)})"
    ).fetchall()
    assert produced and {(p, m, b, d) for p, m, b, d in produced} <= keys
    _, unpriced = pricing.rate_rows(keys)
    assert unpriced == set() and min(k[3] for k in keys) == start.date()


async def test_ground_truth_reprices_the_planted_requests(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.generate_demo("d", rows=5000, seed=5, end=END)
        truth = await synthetic.ground_truth(store, "d")
        rows = await store.fetch(
            "SELECT * FROM requests WHERE dataset_id = 'd' AND feature = 'product-tagging'"
        )
        [window] = await store.fetch(
            "SELECT date_diff('second', min(ts), max(ts)) / 86400.0 AS days FROM requests "
            "WHERE dataset_id = 'd'"
        )
    assert set(truth) == CATEGORIES and all(v > 0 for v in truth.values())
    together = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    saving = 0.0
    for r in rows:
        now = pricing.price_per_mtok("together", together, r["ts"].date())
        then = pricing.price_per_mtok("groq", "llama-3.3-70b-versatile", r["ts"].date())
        assert now is not None and then is not None
        saving += now.cost_usd(r["input_tokens"], r["output_tokens"])
        saving -= then.cost_usd(r["input_tokens"], r["output_tokens"])
    assert truth["provider_switch"] == pytest.approx(saving * 30 / window["days"], rel=1e-6)


def test_window_ends_at_the_given_day() -> None:
    start, stop = synthetic.window(END)
    assert stop == datetime(2026, 11, 25) and (stop - start).days == synthetic.WINDOW_DAYS
