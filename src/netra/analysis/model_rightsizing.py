"""model_rightsizing: expensive models doing simple work a cheaper sibling would do.

A (feature, model) is "simple work" when its successful requests have short prompts and
short outputs (classification, extraction, routing). The proposal is the same
provider's smaller model from an explicit catalogue, and the projected cost re-prices
exactly those requests, in SQL, at that model's catalogue rates for each request's day.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from netra.analysis._common import WINDOW_CTE, finding, slug
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

# (provider, expensive model) -> the cheaper model of the same provider for simple work.
CHEAPER_MODEL: dict[tuple[str, str], str] = {
    ("openai", "gpt-4o"): "gpt-4o-mini",
    ("openai", "gpt-4.1"): "gpt-4.1-mini",
    ("openai", "gpt-4-turbo"): "gpt-4o-mini",
    ("openai", "gpt-4"): "gpt-4o-mini",
    ("anthropic", "claude-sonnet-4-5"): "claude-haiku-4-5",
    ("anthropic", "claude-sonnet-4"): "claude-haiku-4-5",
    ("anthropic", "claude-3-7-sonnet"): "claude-3-5-haiku",
    ("anthropic", "claude-3-5-sonnet"): "claude-3-5-haiku",
    ("anthropic", "claude-opus-4-1"): "claude-haiku-4-5",
    ("google", "gemini-2.5-pro"): "gemini-2.5-flash",
    ("google", "gemini-1.5-pro"): "gemini-1.5-flash",
}
_DATED = re.compile(r"^(?P<base>.+?)(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)?$")

# Simple work: median prompt and 90th-percentile output below these (tokens).
MAX_P50_INPUT = 2000
MAX_P90_OUTPUT = 200
# Clearly classification-like, and enough traffic to trust the pattern.
HIGH_P50_INPUT, HIGH_P90_OUTPUT, HIGH_MIN_REQUESTS = 1500, 50, 200
MEDIUM_MIN_REQUESTS = 50

_PROFILE = """
SELECT coalesce(feature, '(none)') AS feature, provider, model, count(*) AS requests,
  quantile_cont(input_tokens, 0.5) FILTER (WHERE status = 'ok') AS p50_input_tokens,
  quantile_cont(input_tokens, 0.9) FILTER (WHERE status = 'ok') AS p90_input_tokens,
  quantile_cont(output_tokens, 0.5) FILTER (WHERE status = 'ok') AS p50_output_tokens,
  quantile_cont(output_tokens, 0.9) FILTER (WHERE status = 'ok') AS p90_output_tokens,
  list(DISTINCT ts::DATE) AS days, list(DISTINCT batch) AS batch_flags
FROM requests WHERE dataset_id = ? AND cost_usd IS NOT NULL
GROUP BY ALL ORDER BY feature, provider, model
"""

_REPRICE = """
WITH {window},
q AS (
  SELECT * FROM requests WHERE dataset_id = ? AND cost_usd IS NOT NULL
    AND coalesce(feature, '(none)') = ? AND provider = ? AND model = ?
),
priced AS (
  SELECT q.cost_usd, {target_cost} AS target_cost FROM q LEFT JOIN {rates} AS r ON {join}
)
SELECT count(*) AS affected_requests, count(target_cost) AS repriced_requests,
  round(sum(cost_usd), 6) AS current_cost_usd, round(sum(target_cost), 6) AS projected_cost_usd,
  any_value(win.days) AS window_days,
  round(sum(cost_usd) * 30 / any_value(win.days), 6) AS current_cost_usd_month,
  round(sum(target_cost) * 30 / any_value(win.days), 6) AS projected_cost_usd_month,
  round((sum(cost_usd) - sum(target_cost)) * 30 / any_value(win.days), 6) AS savings_usd_month,
  round(100 * (sum(cost_usd) - sum(target_cost)) / nullif(sum(cost_usd), 0), 2) AS savings_pct
FROM priced, win
"""


def cheaper_model(provider: str, model: str) -> str | None:
    """The catalogue's cheaper sibling of a model (dated ids like gpt-4o-2024-08-06 too)."""
    match = _DATED.match(model.lower())
    base = match.group("base") if match else model.lower()
    return CHEAPER_MODEL.get((provider, model.lower())) or CHEAPER_MODEL.get((provider, base))


def _confidence(profile: dict[str, Any]) -> str:
    clearly_simple = (
        profile["p50_input_tokens"] <= HIGH_P50_INPUT
        and profile["p90_output_tokens"] <= HIGH_P90_OUTPUT
    )
    if clearly_simple and profile["requests"] >= HIGH_MIN_REQUESTS:
        return "high"
    return "medium" if profile["requests"] >= MEDIUM_MIN_REQUESTS else "low"


async def _reprice(
    store: AnalyticsStore, dataset_id: str, profile: dict[str, Any], target: str
) -> tuple[dict[str, Any], str, list[Any]]:
    keys = {
        (profile["provider"], target, bool(flag), day)
        for day in profile["days"]
        for flag in profile["batch_flags"]
    }
    rows, _ = pricing.rate_rows(keys)
    rates, rate_params = pricing.rates_sql(rows)
    sql = _REPRICE.format(
        window=WINDOW_CTE,
        target_cost=pricing.cost_sql("q", "r"),
        rates=rates,
        join=pricing.rate_join("q", "r", same_model=False),
    )
    params = [dataset_id, dataset_id, profile["feature"], profile["provider"], profile["model"]]
    [numbers] = await store.fetch(sql, [*params, *rate_params])
    return numbers, sql, [*params, *rate_params]


def _rates_evidence(provider: str, model: str, day: date) -> dict[str, float] | None:
    rates = pricing.price_per_mtok(provider, model, day)
    return None if rates is None else rates.__dict__.copy()


async def find_model_rightsizing(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, expensive model) whose traffic is simple work."""
    findings = []
    for profile in await store.fetch(_PROFILE, [dataset_id]):
        target = cheaper_model(profile["provider"], profile["model"])
        if target is None or profile["p50_input_tokens"] is None:
            continue
        if profile["p50_input_tokens"] > MAX_P50_INPUT:
            continue
        if profile["p90_output_tokens"] > MAX_P90_OUTPUT:
            continue
        numbers, sql, params = await _reprice(store, dataset_id, profile, target)
        if numbers["repriced_requests"] != numbers["affected_requests"]:
            continue  # the cheaper model lacks a price on some day: no honest estimate
        if numbers["savings_usd_month"] is None or numbers["savings_usd_month"] <= 0:
            continue
        findings.append(_finding(profile, target, numbers, sql, params))
    return sorted(findings, key=lambda f: -f["savings_usd_month"])


def _finding(
    profile: dict[str, Any], target: str, numbers: dict[str, Any], sql: str, params: list[Any]
) -> dict[str, Any]:
    feature, provider, model = profile["feature"], profile["provider"], profile["model"]
    last_day = max(profile["days"])
    shape = (
        f"median prompt {profile['p50_input_tokens']:.0f} tokens, 90% of outputs "
        f"≤ {profile['p90_output_tokens']:.0f} tokens"
    )
    return finding(
        id=slug("model_rightsizing", feature, model),
        title=f"Move '{feature}' from {model} to {target}",
        category="model_rightsizing",
        numbers=numbers,
        confidence=_confidence(profile),
        evidence={
            "feature": feature,
            "provider": provider,
            "model": model,
            "suggested_model": target,
            "requests": profile["requests"],
            "p50_input_tokens": profile["p50_input_tokens"],
            "p90_input_tokens": profile["p90_input_tokens"],
            "p50_output_tokens": profile["p50_output_tokens"],
            "p90_output_tokens": profile["p90_output_tokens"],
            "current_cost_usd": numbers["current_cost_usd"],
            "projected_cost_usd": numbers["projected_cost_usd"],
            "window_days": numbers["window_days"],
            "current_rates_per_mtok": _rates_evidence(provider, model, last_day),
            "suggested_rates_per_mtok": _rates_evidence(provider, target, last_day),
            "query": sql.strip(),
            "query_params_count": len(params),
        },
        action=(
            f"Route feature '{feature}' to {provider} {target} instead of {model}: its requests "
            f"are short, classification-like work ({shape}). Replay ~200 recent requests "
            f"through {target}, compare the answers with {model}'s, then switch the model "
            "name behind a feature flag and watch the error and escalation rates for a week."
        ),
    )
