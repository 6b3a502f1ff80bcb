"""All eight categories on generated data: every planted case found, with the savings the
generator's ground truth says; nothing confident on clean data; totals without overlap."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest

from netra.analysis.findings import ALL_FINDERS, combined_savings, find_all
from netra.analysis.model_rightsizing import find_model_rightsizing
from netra.analysis.response_caching import find_response_caching
from netra.errors import ValidationFailed
from netra.telemetry import pricing, synthetic
from netra.telemetry.store.duckdb_store import DuckDBStore

END = date(2026, 11, 25)
FIELDS = {"id", "title", "category", "affected_requests", "current_cost_usd_month",
          "projected_cost_usd_month", "savings_usd_month", "savings_pct", "confidence",
          "evidence", "action"}  # fmt: skip
CATEGORIES = ["model_rightsizing", "response_caching", "prompt_caching", "batch_api",
              "output_limits", "retry_waste", "context_growth", "provider_switch"]  # fmt: skip
ROUTING = {"model_rightsizing", "provider_switch"}


async def _demo(store: DuckDBStore, name: str, *, rows: int = 20_000, seed: int = 42,
                clean: bool = False) -> None:  # fmt: skip
    result = await store.generate_demo(name, rows=rows, seed=seed, end=END, clean=clean)
    assert result.rows == rows and result.unpriced_models == []


def _planted_finding(findings: list[dict[str, Any]], category: str, case: dict[str, Any]
                     ) -> dict[str, Any]:  # fmt: skip
    matches = [
        f for f in findings
        if f["category"] == category and f["evidence"].get("feature") == case["feature"]
    ]  # fmt: skip
    assert len(matches) == 1, f"{category}: planted case on {case['feature']} not found once"
    return matches[0]


def test_the_eight_categories_in_order() -> None:
    assert list(ALL_FINDERS) == CATEGORIES


@pytest.mark.parametrize("seed", [42, 7])
async def test_every_planted_case_is_found_with_the_ground_truth_savings(
    store: DuckDBStore, seed: int
) -> None:
    await _demo(store, "demo", seed=seed)
    truth = await synthetic.ground_truth(store, "demo")
    findings = await find_all(store, "demo")
    assert set(truth) == set(CATEGORIES)
    for category, cases in synthetic.planted_cases().items():
        [case] = cases
        found = _planted_finding(findings, category, case)
        assert set(found) == FIELDS
        assert truth[category] > 0
        assert found["savings_usd_month"] == pytest.approx(truth[category], rel=0.10), category
        assert found["confidence"] == "high", category
        evidence = found["evidence"]
        assert (evidence["provider"], evidence["model"]) == (case["provider"], case["model"])
        assert "SELECT" in evidence["query"] and found["action"]
        if category in ROUTING:
            assert evidence["suggested_model"] == case["suggested_model"]
            assert evidence["suggested_provider"] == case.get("suggested_provider",
                                                              case["provider"])  # fmt: skip


@pytest.mark.parametrize("seed", [42, 7])
async def test_a_clean_demo_has_no_confident_finding(store: DuckDBStore, seed: int) -> None:
    await _demo(store, "clean", seed=seed, clean=True)
    assert await synthetic.ground_truth(store, "clean", clean=True) == {}
    findings = await find_all(store, "clean")
    assert [f["id"] for f in findings if f["confidence"] == "high"] == []


async def test_findings_are_well_formed_ranked_and_add_up(store: DuckDBStore) -> None:
    await _demo(store, "demo")
    findings = await find_all(store, "demo")
    savings = [f["savings_usd_month"] for f in findings]
    assert savings == sorted(savings, reverse=True)
    assert len({f["id"] for f in findings}) == len(findings)
    for f in findings:
        assert set(f) == FIELDS and f["confidence"] in ("high", "medium", "low")
        assert f["savings_usd_month"] > 0 and f["affected_requests"] > 0
        assert f["current_cost_usd_month"] == pytest.approx(
            f["projected_cost_usd_month"] + f["savings_usd_month"], abs=1e-5
        )
        assert f["savings_pct"] == pytest.approx(
            100 * f["savings_usd_month"] / f["current_cost_usd_month"], abs=0.01
        )
        assert {"feature", "provider", "model", "query"} <= set(f["evidence"])
    json.dumps(findings)  # sent as is over the WebSocket and stored with the run
    total = combined_savings(findings)
    assert max(savings) <= total["savings_usd_month"] <= sum(savings) + 1e-6
    assert total["rule"] and total["gross_savings_usd_month"] == pytest.approx(sum(savings))
    only = await find_all(store, "demo", ["batch_api", "retry_waste"])
    assert {f["category"] for f in only} == {"batch_api", "retry_waste"}
    with pytest.raises(ValidationFailed, match="unknown finding categories"):
        await find_all(store, "demo", ["cheaper_vibes"])


# -- exact savings, re-computed row by row in Python ----------------------------------


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


async def test_rightsizing_reprices_every_request_of_the_feature(store: DuckDBStore) -> None:
    await _demo(store, "demo")
    [planted] = synthetic.planted_cases()["model_rightsizing"]
    findings = await find_model_rightsizing(store, "demo")
    assert [(f["evidence"]["feature"], f["evidence"]["model"]) for f in findings] == [
        (planted["feature"], planted["model"])
    ]
    [found] = findings
    rows = await _rows(store, planted["feature"])
    scale = 30 / await _window_days(store)
    current = sum(_cost("openai", "gpt-4o", r) for r in rows) * scale
    projected = sum(_cost("openai", "gpt-4o-mini", r) for r in rows) * scale
    assert found["affected_requests"] == len(rows)
    assert found["current_cost_usd_month"] == pytest.approx(current, rel=1e-6)
    assert found["projected_cost_usd_month"] == pytest.approx(projected, rel=1e-6)
    assert found["savings_usd_month"] == pytest.approx(current - projected, rel=1e-6)


async def test_response_caching_saves_exactly_the_repeats(store: DuckDBStore) -> None:
    await _demo(store, "demo")
    [planted] = synthetic.planted_cases()["response_caching"]
    [found] = await find_response_caching(store, "demo")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await _rows(store, planted["feature"]):
        if row["status"] == "ok":
            groups[row["prompt_hash"]].append(row)
    repeats = [r for g in groups.values() for r in sorted(g, key=lambda r: r["ts"])[1:]]
    scale = 30 / await _window_days(store)
    assert found["evidence"]["feature"] == planted["feature"]
    assert found["affected_requests"] == len(repeats)
    assert found["savings_usd_month"] == pytest.approx(
        sum(r["cost_usd"] for r in repeats) * scale, rel=1e-6
    )


async def test_findings_never_read_another_datasets_rows(store: DuckDBStore) -> None:
    await _demo(store, "demo")
    before = await find_all(store, "demo")
    await store.generate_demo("other", rows=5000, seed=9, end=END + timedelta(days=40))
    after = await find_all(store, "demo")
    assert [(f["id"], f["affected_requests"]) for f in before] == [
        (f["id"], f["affected_requests"]) for f in after
    ]
    for a, b in zip(before, after, strict=True):
        assert a["savings_usd_month"] == pytest.approx(b["savings_usd_month"], abs=1e-6)
    assert await find_all(store, "missing") == []
