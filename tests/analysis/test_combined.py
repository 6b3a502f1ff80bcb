"""Totals of overlapping findings: each slice of traffic saved from once."""

from __future__ import annotations

from typing import Any

import pytest

from netra.analysis.findings import combined_savings


def f(id: str, category: str, cost: float, saving: float, feature: str | None = "chat",
      model: str = "gpt-4o") -> dict[str, Any]:  # fmt: skip
    evidence = {"provider": "openai", "model": model}
    if feature is not None:
        evidence["feature"] = feature
    return {"id": id, "category": category, "current_cost_usd_month": cost,
            "savings_usd_month": saving, "evidence": evidence}  # fmt: skip


def test_savings_on_the_same_traffic_apply_to_what_is_left() -> None:
    # a cache saving 30% and a cap saving 20% of the same $100 leave $100 × 0.7 × 0.8
    total = combined_savings([f("a", "prompt_caching", 100, 30), f("b", "output_limits", 100, 20)])
    assert total["savings_usd_month"] == pytest.approx(44.0)
    assert total["gross_savings_usd_month"] == pytest.approx(50.0)
    assert total["overlap_usd_month"] == pytest.approx(6.0)
    assert "same traffic" in total["rule"]


def test_alternative_model_changes_count_once_the_larger() -> None:
    total = combined_savings([f("a", "model_rightsizing", 100, 60),
                              f("b", "provider_switch", 100, 10)])  # fmt: skip
    assert total["savings_usd_month"] == pytest.approx(60.0)
    mixed = combined_savings([f("a", "model_rightsizing", 100, 60),
                              f("b", "provider_switch", 100, 10),
                              f("c", "response_caching", 80, 40)])  # fmt: skip
    # the larger routing change (60 of 100) then caching half of what is left
    assert mixed["savings_usd_month"] == pytest.approx(100 * (1 - 0.4 * 0.6))


def test_different_traffic_adds_up_and_bounds_hold() -> None:
    findings = [f("a", "batch_api", 100, 50, feature="report"),
                f("b", "retry_waste", 40, 5, feature="extract"),
                f("c", "context_growth", 10, 2, feature=None),
                f("d", "output_limits", 100, 20, feature="report")]  # fmt: skip
    total = combined_savings(findings)
    assert total["savings_usd_month"] == pytest.approx(100 * (1 - 0.5 * 0.8) + 5 + 2)
    savings = [x["savings_usd_month"] for x in findings]
    assert max(savings) <= total["savings_usd_month"] <= sum(savings)
    assert {tuple(s["findings"]) for s in total["slices"]} == {("a", "d"), ("b",), ("c",)}


def test_no_findings_save_nothing() -> None:
    assert combined_savings([])["savings_usd_month"] == 0
