"""provider_switch: the same model served cheaper by another provider.

The catalogue's `family` ties one model's ids across providers (claude-sonnet-4-5 at
Anthropic, Vertex AI and Bedrock; Llama 3.3 70B at Groq and Together…). Every request of
a model with such equivalents is re-priced, in SQL, at each equivalent's catalogue rates
for its day, tier and batch mode, with the same token counts (cached tokens at the
other provider's cache-read rate); the cheapest fully priced alternative becomes the
proposal when it saves at least MIN_SAVINGS_PCT.
"""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.analysis.catalog import equivalents, pricing_sources
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

MIN_SAVINGS_PCT = 5.0
HIGH_REQUESTS, HIGH_SAVINGS_PCT = 200, 10.0
MEDIUM_REQUESTS = 50

QUERY = """
WITH {window},
alts AS (
  SELECT * FROM (VALUES {alts}) AS a(provider, model, alt_provider, alt_model)
),
q AS (
  SELECT coalesce(r.feature, '(none)') AS feature, a.alt_provider, a.alt_model,
    r.* EXCLUDE (feature)
  FROM requests AS r JOIN alts AS a USING (provider, model)
  WHERE r.dataset_id = ? AND r.cost_usd IS NOT NULL
),
priced AS (
  SELECT q.feature, q.provider, q.model, q.alt_provider, q.alt_model, q.ts, q.cost_usd,
    {cost} AS alt_cost
  FROM q LEFT JOIN {rates} AS r
    ON r.provider = q.alt_provider AND r.model = q.alt_model AND {join}
)
SELECT feature, provider, model, alt_provider AS suggested_provider,
  alt_model AS suggested_model, count(*) AS affected_requests,
  count(alt_cost) AS priced_requests, max(ts)::DATE AS last_day,
  round(sum(cost_usd), 6) AS current_cost_usd, round(sum(alt_cost), 6) AS projected_cost_usd,
  any_value(win.days) AS window_days,
  round(sum(cost_usd) {month}, 6) AS current_cost_usd_month,
  round(sum(alt_cost) {month}, 6) AS projected_cost_usd_month,
  round((sum(cost_usd) - sum(alt_cost)) {month}, 6) AS savings_usd_month,
  round(100 * (sum(cost_usd) - sum(alt_cost)) / nullif(sum(cost_usd), 0), 2) AS savings_pct
FROM priced, win
GROUP BY feature, provider, model, alt_provider, alt_model
"""


def _rate_spans(keys: set[_rates.Key]) -> list[tuple[bool, Any, Any, int, int, pricing.Rates]]:
    rows, _ = pricing.rate_rows(keys)
    return [(r.batch, r.starts, r.ends, r.band.above, r.band.up_to, r.band.rates) for r in rows]


def _can_be_cheaper(keys: list[_rates.Key], alt_provider: str, alt_model: str) -> bool:
    """Whether the alternative undercuts any rate of these keys (same batch, time, band)."""
    current = _rate_spans(set(keys))
    alternative = _rate_spans({(alt_provider, alt_model, k[2], k[3]) for k in keys})
    for batch, starts, ends, above, up_to, rates in current:
        for a_batch, a_starts, a_ends, a_above, a_up_to, a_rates in alternative:
            overlaps = a_starts < ends and starts < a_ends and a_above < up_to and above < a_up_to
            if (
                a_batch == batch
                and overlaps
                and any(
                    getattr(a_rates, part) < getattr(rates, part)
                    for part in ("input", "cached_input", "cache_write", "output")
                )
            ):
                return True
    return False


def _alternatives(keys: list[_rates.Key]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(provider, model) in the dataset → the same model at other providers, where one of
    its rates is lower (an alternative no cheaper anywhere cannot save, so is not priced)."""
    found = {}
    for provider, model in sorted({(k[0], k[1]) for k in keys}):
        own = [k for k in keys if (k[0], k[1]) == (provider, model)]
        others = [
            (s.provider, s.model)
            for s in equivalents(provider, model)
            if _can_be_cheaper(own, s.provider, s.model)
        ]
        if others:
            found[(provider, model)] = others
    return found


def _confidence(row: dict[str, Any]) -> str:
    if row["affected_requests"] >= HIGH_REQUESTS and row["savings_pct"] >= HIGH_SAVINGS_PCT:
        return "high"
    return "medium" if row["affected_requests"] >= MEDIUM_REQUESTS else "low"


async def find_provider_switch(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) with a cheaper provider of the same model."""
    keys = await _rates.dataset_keys(store, dataset_id)
    alternatives = _alternatives(keys)
    if not alternatives:
        return []
    wanted = {
        (alt_provider, alt_model, batch, day)
        for provider, model, batch, day in keys
        for alt_provider, alt_model in alternatives.get((provider, model), [])
    }
    rates, rate_params, _ = _rates.rate_table(wanted)
    pairs = [(p, m, ap, am) for (p, m), alts in alternatives.items() for ap, am in alts]
    sql = QUERY.format(
        window=WINDOW_VALUE_CTE,
        alts=", ".join(["(?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::VARCHAR)"] * len(pairs)),
        cost=pricing.cost_sql("q", "r"), rates=rates,
        join=pricing.rate_join("q", "r", same_model=False), month=_rates.MONTH,
    )  # fmt: skip
    days = await _rates.window_days(store, dataset_id)
    params = [days, *[v for pair in pairs for v in pair], dataset_id, *rate_params]
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    options: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in await store.fetch(sql, params):
        key = (row["feature"], row["provider"], row["model"])
        options.setdefault(key, []).append(row)
        if row["priced_requests"] != row["affected_requests"]:
            continue  # the alternative lacks a price on some day: no honest estimate
        if row["savings_pct"] is None or row["savings_pct"] < MIN_SAVINGS_PCT:
            continue
        if key not in best or row["savings_usd_month"] > best[key]["savings_usd_month"]:
            best[key] = row
    findings = [_finding(row, options[key], sql) for key, row in best.items()]
    return sorted(findings, key=lambda f: -f["savings_usd_month"])


def _finding(row: dict[str, Any], options: list[dict[str, Any]], sql: str) -> dict[str, Any]:
    feature, provider, model = row["feature"], row["provider"], row["model"]
    to_provider, to_model = row["suggested_provider"], row["suggested_model"]
    day = row["last_day"]
    now = _rates.rates_evidence(provider, model, day)
    then = _rates.rates_evidence(to_provider, to_model, day)
    return finding(
        id=slug("provider_switch", feature, model, to_provider),
        title=f"Serve '{feature}' from {to_provider} instead of {provider}",
        category="provider_switch",
        numbers=row,
        confidence=_confidence(row),
        evidence={
            **row,
            "last_day": day.isoformat(),
            "current_rates_per_mtok": now,
            "suggested_rates_per_mtok": then,
            "price_sources": list(pricing_sources(to_provider)),
            "alternatives": [
                {
                    k: o[k]
                    for k in (
                        "suggested_provider",
                        "suggested_model",
                        "savings_usd_month",
                        "savings_pct",
                        "priced_requests",
                    )
                }
                for o in sorted(options, key=lambda o: -(o["savings_usd_month"] or 0))
            ],  # fmt: skip
            "query": sql.strip(),
        },
        action=(
            f"Send '{feature}' to {to_provider} {to_model}, the same model as {provider} "
            f"{model}, for ${then.get('input', 0):g}/${then.get('output', 0):g} per million "
            f"input/output tokens instead of ${now.get('input', 0):g}/"
            f"${now.get('output', 0):g}. Point the route at {to_provider} (e.g. a LiteLLM "
            f"model entry {to_provider}/{to_model}), then compare latency, rate limits and a "
            "sample of answers for a week before moving all traffic: hosts can differ in "
            "quantisation and context limits."
        ),
    )
