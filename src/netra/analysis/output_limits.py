"""output_limits: outputs that run long without a cap, or caps far above what is used.

For each (feature, provider, model), the typical answer length is its median output of
successful requests; an answer longer than RUNAWAY_FACTOR × that median (and at least
MIN_CAP tokens) is a runaway. The proposed cap is that length, rounded up to 64 tokens.
The projection bills every request's output at min(output, cap): the tokens beyond the
cap are what runaway answers cost. A finding needs RUNAWAY_SHARE of requests running
past the cap: a normal long tail does not qualify. A cap already at or below the
proposed one means nothing to fix; a cap far above it is reported as part of the action.
"""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

RUNAWAY_FACTOR = 4.0
MIN_CAP = 256
RUNAWAY_SHARE = 0.02
HIGH_SHARE, HIGH_REQUESTS, HIGH_SAVINGS_PCT = 0.05, 200, 10.0
MIN_REQUESTS = 20

# The successful, priced requests. Each use reads the table afresh: a scan is cheap,
# while a CTE used twice is materialised, strings and all (much slower).
_REQUESTS = """
  SELECT coalesce(feature, '(none)') AS feature, * EXCLUDE (feature)
  FROM requests WHERE dataset_id = ? AND status = 'ok' AND cost_usd IS NOT NULL
"""

QUERY = """
WITH {window},
shape AS (
  SELECT * EXCLUDE (outputs), outputs[1] AS p50_output_tokens,
    outputs[2] AS p99_output_tokens,
    ceil(greatest(outputs[1] * {factor}, {min_cap}) / 64) * 64 AS cap
  FROM (
    SELECT feature, provider, model, count(*) AS requests, sum(cost_usd) AS cost,
      quantile_cont(output_tokens, [0.5, 0.99]) AS outputs,
      max(output_tokens) AS max_output_tokens,
      count(max_tokens) AS capped_requests, max(max_tokens) AS current_cap
    FROM ({requests}) AS q GROUP BY ALL)
),
runaways AS (
  -- only the answers longer than the cap are re-priced
  SELECT q.feature, q.provider, q.model, (q.output_tokens - s.cap) * r.r_output / 1e6 AS excess
  FROM ({requests}) AS q JOIN shape AS s USING (feature, provider, model)
  LEFT JOIN {rates} AS r ON {join}
  -- every cap is at least {min_cap}: shorter answers are dropped before the join
  WHERE q.output_tokens > s.cap AND q.output_tokens > {min_cap}
),
excess AS (
  SELECT feature, provider, model, count(*) AS runaways, coalesce(sum(excess), 0) AS excess
  FROM runaways GROUP BY ALL
)
SELECT feature, provider, model, s.requests, e.runaways AS affected_requests,
  round(e.runaways / s.requests, 4) AS runaway_share,
  s.p50_output_tokens, s.p99_output_tokens, s.max_output_tokens, s.capped_requests,
  s.current_cap, s.cap::BIGINT AS proposed_cap,
  round(s.cost, 6) AS current_cost_usd, round(e.excess, 6) AS excess_cost_usd,
  win.days AS window_days,
  round(s.cost * 30 / win.days, 6) AS current_cost_usd_month,
  round((s.cost - e.excess) * 30 / win.days, 6) AS projected_cost_usd_month,
  round(e.excess * 30 / win.days, 6) AS savings_usd_month,
  round(100 * e.excess / nullif(s.cost, 0), 2) AS savings_pct
FROM shape AS s JOIN excess AS e USING (feature, provider, model), win
WHERE e.runaways >= {runaway_share} * s.requests
  AND (s.current_cap IS NULL OR s.current_cap > s.cap)
ORDER BY savings_usd_month DESC
"""


def _confidence(row: dict[str, Any]) -> str:
    if (
        row["runaway_share"] >= HIGH_SHARE
        and row["requests"] >= HIGH_REQUESTS
        and row["savings_pct"] >= HIGH_SAVINGS_PCT
    ):
        return "high"
    return "medium" if row["requests"] >= HIGH_REQUESTS else "low"


async def find_output_limits(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) whose answers run away past a sensible cap."""
    keys = await _rates.dataset_keys(store, dataset_id)
    rates, rate_params, _ = _rates.rate_table(keys)
    sql = QUERY.format(
        window=WINDOW_VALUE_CTE, requests=_REQUESTS, rates=rates, join=pricing.rate_join("q", "r"),
        factor=RUNAWAY_FACTOR, min_cap=MIN_CAP, runaway_share=RUNAWAY_SHARE,
    )  # fmt: skip
    findings = []
    days = await _rates.window_days(store, dataset_id)
    for row in await store.fetch(sql, [days, *[dataset_id] * 2, *rate_params]):
        if row["requests"] < MIN_REQUESTS or not (row["savings_usd_month"] or 0) > 0:
            continue
        findings.append(_finding(row, sql))
    return findings


def _finding(row: dict[str, Any], sql: str) -> dict[str, Any]:
    feature, model, cap = row["feature"], row["model"], row["proposed_cap"]
    now = (
        "it sends no max_tokens"
        if row["current_cap"] is None
        else f"its max_tokens of {row['current_cap']} is far above what answers need"
    )
    return finding(
        id=slug("output_limits", feature, model),
        title=f"Cap the answers of '{feature}' at {cap} tokens",
        category="output_limits",
        numbers=row,
        confidence=_confidence(row),
        evidence={**row, "query": sql.strip()},
        action=(
            f"Set max_tokens={cap} on '{feature}' ({model}): {now}. Half its answers need "
            f"≤ {row['p50_output_tokens']:.0f} tokens, but {row['runaway_share']:.1%} run "
            f"past {cap} (up to {row['max_output_tokens']}). Also ask for the expected length "
            "in the prompt (e.g. 'answer in at most N sentences'), and log finish_reason="
            "'length' to catch answers the cap cuts short."
        ),
    )
