"""response_caching: identical prompts (prompt_hash) answered again and again.

An exact response cache keyed on (model, prompt) would answer every repeat of a prompt
after its first successful answer; the saving is the cost of those repeats within the
dataset's window, scaled to a month.
"""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.telemetry.store import AnalyticsStore

MIN_REPEATS = 5
HIGH_SHARE, HIGH_REPEATS = 0.30, 100
MEDIUM_SHARE, MEDIUM_REPEATS = 0.10, 20

# The successful, priced requests with a prompt. Each use reads the table afresh: a
# scan is cheap, while a CTE used twice is materialised, strings and all (much slower).
_ANSWERED = """
  SELECT coalesce(feature, '(none)') AS feature, provider, model, prompt_hash, ts, cost_usd,
    -- 64-bit key of (feature, model, prompt): grouping on it is far faster than on the
    -- strings, and a collision would take billions of distinct prompts
    hash(feature, provider, model, prompt_hash) AS prompt_key
  FROM requests
  WHERE dataset_id = ? AND status = 'ok' AND prompt_hash IS NOT NULL AND cost_usd IS NOT NULL
"""

QUERY = f"""
WITH {WINDOW_VALUE_CTE},
repeated AS (
  -- keys that repeat are next to themselves once sorted: sorting millions of keys is
  -- faster than a hash table of them (nearly every prompt is asked once)
  SELECT DISTINCT prompt_key FROM (
    SELECT prompt_key, lag(prompt_key) OVER (ORDER BY prompt_key) AS previous_key
    FROM ({_ANSWERED}) AS a)
  WHERE prompt_key = previous_key
),
prompts AS (
  -- only prompts asked more than once: how often, and what the repeats cost
  SELECT feature, provider, model, prompt_hash, count(*) AS requests,
    sum(cost_usd) - arg_min(cost_usd, ts) AS repeat_cost
  FROM ({_ANSWERED}) AS a SEMI JOIN repeated USING (prompt_key) GROUP BY ALL
),
repeats AS (
  SELECT feature, provider, model, sum(requests - 1) AS repeats,
    sum(repeat_cost) AS repeat_cost,
    list(struct_pack(prompt_hash := prompt_hash, requests := requests)
      ORDER BY requests DESC, prompt_hash)[1:5] AS top_prompts
  FROM prompts GROUP BY ALL HAVING sum(requests - 1) >= {MIN_REPEATS}
),
-- the answered requests' totals, from the run's shared traffic (`_rates.traffic`)
slices AS (SELECT * FROM {{slices}} AS s(feature, provider, model, requests, cost))
SELECT feature, provider, model, s.requests, s.requests - r.repeats AS distinct_prompts,
  r.repeats::BIGINT AS affected_requests, round(r.repeats / s.requests, 4) AS repeat_share,
  round(s.cost, 6) AS current_cost_usd, round(r.repeat_cost, 6) AS repeat_cost_usd,
  win.days AS window_days,
  round(s.cost * 30 / win.days, 6) AS current_cost_usd_month,
  round((s.cost - r.repeat_cost) * 30 / win.days, 6) AS projected_cost_usd_month,
  round(r.repeat_cost * 30 / win.days, 6) AS savings_usd_month,
  round(100 * r.repeat_cost / nullif(s.cost, 0), 2) AS savings_pct, r.top_prompts
FROM slices AS s JOIN repeats AS r USING (feature, provider, model), win
ORDER BY savings_usd_month DESC
"""


def _answered(traffic: dict[str, Any]) -> tuple[int, float] | None:
    """(requests, cost) of a traffic row's `_ANSWERED` requests: successful, priced, with
    a prompt."""
    if traffic["status"] != "ok" or not traffic["priced"]:
        return None
    return traffic["prompted_requests"], traffic["prompted_cost"]


def _confidence(row: dict[str, Any]) -> str:
    share, repeats = row["repeat_share"], row["affected_requests"]
    if share >= HIGH_SHARE and repeats >= HIGH_REPEATS:
        return "high"
    if share >= MEDIUM_SHARE and repeats >= MEDIUM_REPEATS:
        return "medium"
    return "low"


async def find_response_caching(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) whose prompts repeat."""
    totals = _rates.slice_totals(await _rates.traffic(store, dataset_id), _answered)
    totals = {key: sums for key, sums in totals.items() if sums[0] > 0}
    if not totals:
        return []
    slices, slice_params = _rates.slices_sql(totals, "BIGINT", "DOUBLE")
    sql = QUERY.format(slices=slices)
    findings = []
    days = await _rates.window_days(store, dataset_id)
    for row in await store.fetch(sql, [days, *[dataset_id] * 2, *slice_params]):
        feature, model = row["feature"], row["model"]
        findings.append(
            finding(
                id=slug("response_caching", feature, model),
                title=f"Cache answers of '{feature}': {row['repeat_share']:.0%} are repeats",
                category="response_caching",
                numbers=row,
                confidence=_confidence(row),
                evidence={**row, "query": sql.strip()},
                action=(
                    f"Put an exact-match response cache in front of '{feature}' ({model}), "
                    "keyed on a hash of the model and the full prompt (e.g. Redis with a "
                    f"24 h TTL): {row['distinct_prompts']} distinct prompts made "
                    f"{row['requests']} successful requests. Only cache successful answers "
                    "and clear the cache when the underlying content (FAQ, docs) changes."
                ),
            )
        )
    return findings
