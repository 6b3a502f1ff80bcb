"""retry_waste: tokens spent on failed requests, and retry storms that multiply them.

A retry is a request that repeats an earlier one of the same feature, model and end
user (same prompt_hash, or without one the same conversation) within RETRY_WINDOW_S of
a failure. The first failure of a request cannot be avoided, but a retry sent straight
into the same outage usually fails again: those repeated failures are the waste a
retry policy (backoff with jitter, Retry-After, a circuit breaker) removes. A finding
needs a storm: at least MIN_RETRY_FAILURE_RATE of the retries failing again (retries
after transient errors fail about as rarely as any request). Failed
requests cost what their recorded tokens cost; the total is reported as evidence.

Only requests that share a retry key with some failure are ordered in time, so the
window function runs over a small part of the dataset.
"""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.telemetry.store import AnalyticsStore

RETRY_WINDOW_S = 120
MIN_REPEATED = 5
# A storm: retries fail again far more often than independent failures would (a retry
# after a transient error fails about as often as any request; into an outage, mostly).
MIN_RETRY_FAILURE_RATE = 0.3
HIGH_REPEATED, HIGH_SAVINGS_PCT = 50, 5.0
MEDIUM_REPEATED = 20
STORM_HOUR_FAILURES = 5  # a storm hour: at least this many retries failed again

# The priced requests. Each use reads the table afresh: a scan is cheap, while a CTE
# used more than once is materialised, strings and all (much slower over every request).
_REQUESTS = """
  SELECT coalesce(feature, '(none)') AS feature, provider, model, ts, status, error_type,
    cost_usd,
    -- who asked what, where: a retry repeats all of it (one 64-bit hash: fast to match)
    CASE WHEN coalesce(prompt_hash, conversation_id) IS NOT NULL THEN hash(feature, provider,
      model, end_user, coalesce(prompt_hash, conversation_id)) END AS retry_key
  FROM requests WHERE dataset_id = ? AND cost_usd IS NOT NULL
"""

QUERY = f"""
WITH {WINDOW_VALUE_CTE},
-- the priced requests' totals, from the run's shared traffic (`_rates.traffic`)
slices AS (
  SELECT * FROM {{slices}} AS s(feature, provider, model, requests, cost, failed_requests,
    failed_cost)
),
failed AS (SELECT * FROM ({_REQUESTS}) AS q WHERE status = 'error'),
error_types AS (
  SELECT feature, provider, model, histogram(error_type) AS error_types FROM failed GROUP BY ALL
),
attempts AS MATERIALIZED (
  -- only requests that repeat the prompt (or conversation) of a failure are ordered
  -- a boolean, not the status string, is what the window carries and sorts
  SELECT feature, provider, model, ts, failure, cost_usd,
    lag(failure) OVER w AND epoch(ts - lag(ts) OVER w) <= {RETRY_WINDOW_S} AS retry,
    epoch(ts - lag(ts) OVER w) AS gap_s
  FROM (SELECT *, status = 'error' AS failure FROM ({_REQUESTS})) AS q
    SEMI JOIN (SELECT DISTINCT retry_key FROM failed) USING (retry_key)
  WINDOW w AS (PARTITION BY retry_key ORDER BY ts)
),
repeats_by_hour AS (
  SELECT feature, provider, model, count(*) AS storm_hours FROM (
    SELECT feature, provider, model, date_trunc('hour', ts) AS hour FROM attempts
    WHERE retry AND failure GROUP BY ALL HAVING count(*) >= {STORM_HOUR_FAILURES})
  GROUP BY ALL
),
storms AS (
  SELECT feature, provider, model, count(*) FILTER (WHERE retry) AS retries,
    count(*) FILTER (WHERE retry AND failure) AS affected_requests,
    coalesce(sum(cost_usd) FILTER (WHERE retry AND failure), 0) AS waste,
    round(median(gap_s) FILTER (WHERE retry), 1) AS p50_seconds_to_retry
  FROM attempts GROUP BY ALL
)
SELECT feature, provider, model, h.requests, h.failed_requests,
  round(h.failed_cost, 6) AS failed_cost_usd, e.error_types, t.retries, t.affected_requests,
  round(t.affected_requests / t.retries, 4) AS retry_failure_rate,
  t.p50_seconds_to_retry, coalesce(y.storm_hours, 0) AS storm_hours,
  round(t.waste, 6) AS repeated_failure_cost_usd, round(h.cost, 6) AS current_cost_usd,
  win.days AS window_days,
  round(h.failed_cost * 30 / win.days, 6) AS failed_cost_usd_month,
  round(h.cost * 30 / win.days, 6) AS current_cost_usd_month,
  round((h.cost - t.waste) * 30 / win.days, 6) AS projected_cost_usd_month,
  round(t.waste * 30 / win.days, 6) AS savings_usd_month,
  round(100 * t.waste / nullif(h.cost, 0), 2) AS savings_pct
FROM storms AS t JOIN slices AS h USING (feature, provider, model)
  JOIN error_types AS e USING (feature, provider, model)
  LEFT JOIN repeats_by_hour AS y USING (feature, provider, model), win
WHERE t.affected_requests >= {MIN_REPEATED}
  AND t.affected_requests >= {MIN_RETRY_FAILURE_RATE} * t.retries
ORDER BY savings_usd_month DESC
"""


def _confidence(row: dict[str, Any]) -> str:
    if row["affected_requests"] >= HIGH_REPEATED and row["savings_pct"] >= HIGH_SAVINGS_PCT:
        return "high"
    return "medium" if row["affected_requests"] >= MEDIUM_REPEATED else "low"


async def find_retry_waste(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) whose retries keep failing."""
    totals = _rates.slice_totals(await _rates.traffic(store, dataset_id), _priced)
    if not totals:
        return []
    slices, slice_params = _rates.slices_sql(totals, "BIGINT", "DOUBLE", "BIGINT", "DOUBLE")
    sql = QUERY.format(slices=slices)
    days = await _rates.window_days(store, dataset_id)
    rows = await store.fetch(sql, [days, *slice_params, *[dataset_id] * 2])
    return [_finding(row, sql) for row in rows if (row["savings_usd_month"] or 0) > 0]


def _priced(traffic: dict[str, Any]) -> tuple[int, float, int, float] | None:
    """(requests, cost, failed requests, failed cost) of a traffic row's priced requests."""
    if not traffic["priced"]:
        return None
    failed = traffic["status"] == "error"
    requests, cost = traffic["requests"], traffic["cost"]
    return requests, cost, requests if failed else 0, cost if failed else 0.0


def _finding(row: dict[str, Any], sql: str) -> dict[str, Any]:
    feature, provider, model = row["feature"], row["provider"], row["model"]
    types = row["error_types"] or {}
    timeouts = types.get("timeout", 0) >= sum(types.values()) / 2
    extra = (
        " Most failures are timeouts: stream the response or raise the client timeout "
        "rather than resending the whole prompt."
        if timeouts
        else ""
    )
    return finding(
        id=slug("retry_waste", feature, model),
        title=f"Stop retry storms on '{feature}': {row['affected_requests']} retries failed again",
        category="retry_waste",
        numbers=row,
        confidence=_confidence(row),
        evidence={
            **row,
            "error_types": dict(types),
            "retry_window_s": RETRY_WINDOW_S,
            "retry_rule": "same feature, model, end user and prompt_hash (or conversation) "
            f"within {RETRY_WINDOW_S} s of a failed request",
            "query": sql.strip(),
        },
        action=(
            f"'{feature}' resends failed {provider} {model} calls after a median "
            f"{row['p50_seconds_to_retry'] or 0:.0f} s, straight into the same outage: "
            f"{row['affected_requests']} retries failed again ({row['storm_hours']} storm "
            "hours). Retry with exponential backoff and jitter (1 s, 2 s, 4 s; at most 3 "
            "attempts), honour Retry-After, and open a circuit breaker that pauses the "
            "feature for a minute after 5 consecutive failures (or fails over to another "
            f"deployment).{extra}"
        ),
    )
