"""The demo generator: deterministic by seed, and shaped like real traffic."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from netra.telemetry import synthetic
from tests.telemetry.helpers import open_store

END = date(2026, 11, 25)
ROWS = "SELECT * EXCLUDE (dataset_id) FROM requests WHERE dataset_id = ? ORDER BY request_id"


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
                 count(DISTINCT request_id) AS request_ids
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
    assert (shape["providers"], shape["models"], shape["features"]) == (3, 6, 8)
    assert 0.01 < shape["errors"] < 0.05 and shape["untyped"] == 0
    assert shape["day_requests"] > 3 * shape["night_requests"]  # diurnal
    assert shape["latency_corr"] > 0.3
    assert shape["request_ids"] == 20_000
    assert faq["prompts"] < faq["n"] / 5  # the planted repeats
    assert result.total_cost_usd > 0


def test_planted_cases_name_demo_features() -> None:
    names = {f.name: (f.provider, f.model) for f in synthetic.FEATURES}
    for cases in synthetic.planted_cases().values():
        for case in cases:
            assert names[case["feature"]] == (case["provider"], case["model"])


def test_window_ends_at_the_given_day() -> None:
    start, stop = synthetic.window(END)
    assert stop == datetime(2026, 11, 25) and (stop - start).days == synthetic.WINDOW_DAYS
