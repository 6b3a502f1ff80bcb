"""model_rightsizing: expensive models doing simple work a cheaper sibling would do.

A (feature, model) is "simple work" when its successful requests have short prompts and
short outputs (classification, extraction, routing). The proposal is the same
provider's next smaller model of the same line in the catalogue (capability tiers with
their public sources, catalog.smaller_sibling), and the projected cost re-prices exactly
those requests, in one SQL pass, at that model's catalogue rates for each request's day.
"""

from __future__ import annotations

import math
from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.analysis.catalog import smaller_sibling, spec
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

# Simple work: median prompt and 90th-percentile output below these (tokens).
MAX_P50_INPUT = _rates.SHORT_PROMPT_TOKENS
MAX_P90_OUTPUT = _rates.SHORT_ANSWER_TOKENS
# Clearly classification-like, and enough traffic to trust the pattern.
HIGH_P50_INPUT, HIGH_P90_OUTPUT, HIGH_MIN_REQUESTS = 1500, 50, 200
MEDIUM_MIN_REQUESTS = 50

# The priced requests of models with a smaller sibling. Each use reads the table afresh:
# a scan is cheap, while a CTE used twice is materialised, strings and all (slow).
_REQUESTS = """
  SELECT coalesce(r.feature, '(none)') AS feature, t.target, r.* EXCLUDE (feature)
  FROM requests AS r JOIN targets AS t ON t.provider = r.provider AND t.model = r.model
    AND t.feature = coalesce(r.feature, '(none)')
  WHERE r.dataset_id = ? AND r.cost_usd IS NOT NULL
"""

QUERY = """
WITH {window},
targets AS (SELECT * FROM (VALUES {targets}) AS t(feature, provider, model, target)),
profiles AS (
  SELECT feature, provider, model, suggested_model, requests,
    inputs[1] AS p50_input_tokens, inputs[2] AS p90_input_tokens,
    outputs[1] AS p50_output_tokens, outputs[2] AS p90_output_tokens, last_day
  FROM (
    SELECT feature, provider, model, any_value(target) AS suggested_model,
      count(*) AS requests, max(ts)::DATE AS last_day,
      quantile_cont(input_tokens, [0.5, 0.9]) FILTER (WHERE status = 'ok') AS inputs,
      quantile_cont(output_tokens, [0.5, 0.9]) FILTER (WHERE status = 'ok') AS outputs
    FROM ({requests}) AS q GROUP BY ALL)
  -- simple work only: short prompts, short answers
  WHERE inputs[1] <= {max_input} AND outputs[2] <= {max_output}
),
priced AS (
  SELECT q.feature, q.provider, q.model, q.cost_usd, {target_cost} AS target_cost
  FROM ({requests}) AS q SEMI JOIN profiles AS p USING (feature, provider, model)
  LEFT JOIN {rates} AS r ON r.provider = q.provider AND r.model = q.target AND {join}
),
sums AS (
  SELECT feature, provider, model, count(*) AS affected_requests,
    count(target_cost) AS repriced_requests, sum(cost_usd) AS cost,
    sum(target_cost) AS target_cost
  FROM priced GROUP BY ALL
)
SELECT p.*, s.affected_requests, s.repriced_requests,
  round(s.cost, 6) AS current_cost_usd, round(s.target_cost, 6) AS projected_cost_usd,
  win.days AS window_days,
  round(s.cost * 30 / win.days, 6) AS current_cost_usd_month,
  round(s.target_cost * 30 / win.days, 6) AS projected_cost_usd_month,
  round((s.cost - s.target_cost) * 30 / win.days, 6) AS savings_usd_month,
  round(100 * (s.cost - s.target_cost) / nullif(s.cost, 0), 2) AS savings_pct
FROM profiles AS p JOIN sums AS s USING (feature, provider, model), win
ORDER BY feature, provider, model
"""


def _confidence(profile: dict[str, Any]) -> str:
    clearly_simple = (
        profile["p50_input_tokens"] <= HIGH_P50_INPUT
        and profile["p90_output_tokens"] <= HIGH_P90_OUTPUT
    )
    if clearly_simple and profile["requests"] >= HIGH_MIN_REQUESTS:
        return "high"
    return "medium" if profile["requests"] >= MEDIUM_MIN_REQUESTS else "low"


async def find_model_rightsizing(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, expensive model) whose traffic is simple work."""
    keys = await _rates.dataset_keys(store, dataset_id)
    targets = {}
    for provider, model in {(k[0], k[1]) for k in keys}:
        sibling = smaller_sibling(provider, model)
        if sibling is not None:
            targets[(provider, model)] = sibling.model
    if not targets:
        return []
    slices = await _candidates(store, dataset_id, set(targets))
    if not slices:
        return []
    wanted = {(p, targets[(p, m)], batch, day) for p, m, batch, day in keys if (p, m) in targets}
    rates, rate_params, _ = _rates.rate_table(wanted)
    sql = QUERY.format(
        window=WINDOW_VALUE_CTE, requests=_REQUESTS,
        targets=", ".join(["(?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::VARCHAR)"] * len(slices)),
        target_cost=pricing.cost_sql("q", "r"), rates=rates,
        join=pricing.rate_join("q", "r", same_model=False),
        max_input=MAX_P50_INPUT, max_output=MAX_P90_OUTPUT,
    )  # fmt: skip
    target_params = [v for f, p, m in sorted(slices) for v in (f, p, m, targets[(p, m)])]
    findings = []
    # the query keeps simple work only (MAX_P50_INPUT, MAX_P90_OUTPUT)
    days = await _rates.window_days(store, dataset_id)
    params = [days, *target_params, dataset_id, dataset_id, *rate_params]
    for row in await store.fetch(sql, params):
        if row["repriced_requests"] != row["affected_requests"]:
            continue  # the cheaper model lacks a price on some day: no honest estimate
        if row["savings_usd_month"] is None or row["savings_usd_month"] <= 0:
            continue
        findings.append(_finding(row, sql))
    return sorted(findings, key=lambda f: -f["savings_usd_month"])


async def _candidates(
    store: AnalyticsStore, dataset_id: str, models: set[tuple[str, str]]
) -> set[tuple[str, str, str]]:
    """(feature, provider, model) slices whose quantiles can meet the limits.

    quantile_cont at q lies between the sorted values at floor and ceil of q·(n − 1), so
    it exceeds a limit whenever fewer than floor(q·(n − 1)) + 1 values are within it:
    those slices are out without sorting their requests.
    """
    ok = _rates.slice_totals(
        await _rates.traffic(store, dataset_id),
        lambda r: (
            (r["requests"], r["short_prompts"], r["short_answers"])
            if r["status"] == "ok" and r["priced"] and (r["provider"], r["model"]) in models
            else None
        ),
    )
    return {
        key
        for key, (n, short_prompts, short_answers) in ok.items()
        if short_prompts > math.floor(0.5 * (n - 1)) and short_answers > math.floor(0.9 * (n - 1))
    }


def _finding(row: dict[str, Any], sql: str) -> dict[str, Any]:
    feature, provider, model = row["feature"], row["provider"], row["model"]
    target, day = row["suggested_model"], row["last_day"]
    shape = (
        f"median prompt {row['p50_input_tokens']:.0f} tokens, 90% of outputs "
        f"≤ {row['p90_output_tokens']:.0f} tokens"
    )
    current, suggested = spec(provider, model), spec(provider, target)
    assert current is not None and suggested is not None  # targets come from the catalogue
    return finding(
        id=slug("model_rightsizing", feature, model),
        title=f"Move '{feature}' from {model} to {target}",
        category="model_rightsizing",
        numbers=row,
        confidence=_confidence(row),
        evidence={
            **row,
            "suggested_provider": provider,
            "last_day": day.isoformat(),
            "current_rates_per_mtok": _rates.rates_evidence(provider, model, day),
            "suggested_rates_per_mtok": _rates.rates_evidence(provider, target, day),
            "current_tier": current.tier,
            "suggested_tier": suggested.tier,
            "catalog_source": suggested.source,
            "query": sql.strip(),
        },
        action=(
            f"Route feature '{feature}' to {provider} {target} instead of {model}: its requests "
            f"are short, classification-like work ({shape}). Replay ~200 recent requests "
            f"through {target}, compare the answers with {model}'s, then switch the model "
            "name behind a feature flag and watch the error and escalation rates for a week."
        ),
    )
