"""What a dataset holds and where its money goes; every number is computed by SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from netra.db.base import isoformat_z
from netra.errors import ValidationFailed
from netra.telemetry.store import AnalyticsStore
from netra.telemetry.store.interpolation import interpolated

# Exact quantile_cont from a histogram of the distinct values: latencies repeat a lot
# (tenths of a millisecond), so grouping them is several times faster than sorting every
# request. The values lo and hi at positions floor and ceil of q·(n − 1), sorted, are
# weighed as quantile_cont weighs them, to the last bit (`interpolated`): the overview's
# p95 is the breakdowns' to the tenth.
_LATENCY = """
hist AS (
  SELECT latency_ms AS v, count(*) AS n FROM requests
  WHERE {where} AND latency_ms IS NOT NULL GROUP BY 1
),
ranked AS (
  SELECT v, sum(n) OVER (ORDER BY v) AS cum, (sum(n) OVER () - 1)::DOUBLE AS last FROM hist
),
latency AS (
  SELECT {columns} FROM ranked
)"""
_QUANTILE = """min(v) FILTER (WHERE cum > floor({q} * last)) AS lo{n},
    min(v) FILTER (WHERE cum > ceil({q} * last)) AS hi{n},
    any_value({q} * last) - floor(any_value({q} * last)) AS frac{n}"""
_QUANTILES = {"p50": "0.5::DOUBLE", "p95": "0.95::DOUBLE"}


def _interpolated(name: str) -> str:
    return f"round({interpolated(f'lo{name}', f'hi{name}', f'frac{name}')}, 1) AS {name}_latency_ms"


def latency_cte(where: str) -> tuple[str, str]:
    """CTEs ending in `latency`, over the requests matching `where`, and the columns
    p50_latency_ms and p95_latency_ms to select from it: quantile_cont's, from the
    histogram of distinct values (above)."""
    columns = ", ".join(_QUANTILE.format(q=q, n=n) for n, q in _QUANTILES.items())
    return _LATENCY.format(where=where, columns=columns), ", ".join(map(_interpolated, _QUANTILES))


# One scan for the totals (the window comes from the same min/max ts as WINDOW_CTE's),
# one for the latency quantiles.
_OVERVIEW = f"""
WITH totals AS (
  SELECT count(*) AS requests, sum(cost_usd) AS spend, min(ts) AS first_ts, max(ts) AS last_ts,
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END) AS error_rate,
    -- unpriced: usage known, cost not (a model the catalogue cannot price); usage
    -- unknown: tokens and cost not known, left out of their sums
    count(*) FILTER (WHERE cost_usd IS NULL AND input_tokens IS NOT NULL) AS unpriced_requests,
    count(*) FILTER (WHERE input_tokens IS NULL) AS usage_unknown_requests,
    count(*) FILTER (WHERE status = 'error' AND NOT coalesce(usage_recorded, true))
      AS failed_without_usage_requests
  FROM requests WHERE dataset_id = ?
),
win AS (
  SELECT greatest(date_diff('second', first_ts, last_ts) / 86400.0, 1.0) AS days FROM totals
),
{latency_cte("dataset_id = ?")[0]}
SELECT t.requests,
  round(coalesce(t.spend, 0), 6) AS spend_usd,
  CASE WHEN t.requests = 0 THEN 0 ELSE round(win.days, 4) END AS window_days,
  round(coalesce(t.spend * 30 / win.days, 0), 6) AS monthly_spend_usd,
  coalesce(t.input_tokens, 0)::BIGINT AS input_tokens,
  coalesce(t.output_tokens, 0)::BIGINT AS output_tokens,
  {latency_cte("dataset_id = ?")[1]},
  round(coalesce(t.error_rate, 0), 4) AS error_rate,
  t.unpriced_requests, t.usage_unknown_requests, t.failed_without_usage_requests,
  t.first_ts, t.last_ts
FROM totals AS t, win, latency
"""

_COUNTS = """
SELECT {key} AS key, count(*) AS requests, round(coalesce(sum(cost_usd), 0), 6) AS spend_usd
FROM requests WHERE dataset_id = ? GROUP BY 1 ORDER BY spend_usd DESC, requests DESC, key
"""

BREAKDOWN_KEYS = {
    "model": "model",
    "feature": "coalesce(feature, '(none)')",
    "provider": "provider",
    "day": "strftime(ts, '%Y-%m-%d')",
    "end_user": "coalesce(end_user, '(none)')",
}
# What to group on when it is cheaper than the key itself (formatted once per group).
_GROUPED_ON = {"day": ("ts::DATE", "strftime(g, '%Y-%m-%d')")}

# One scan: the dataset's total and window come from window aggregates over the groups,
# which together are the whole dataset.
_BREAKDOWN = """
SELECT {key} AS key, requests,
  round(coalesce(spend, 0), 6) AS spend_usd,
  round(coalesce(spend * 30 / greatest(date_diff('second', first_ts, last_ts) / 86400.0, 1.0),
    0), 6) AS monthly_spend_usd,
  round(coalesce(100 * spend / nullif(total, 0), 0), 2) AS share_pct,
  round(coalesce(spend / nullif(priced, 0), 0), 8) AS cost_per_request_usd,
  p95_latency_ms, error_rate
FROM (
  -- a request's cost averages over the requests whose cost is known
  SELECT {group} AS g, count(*) AS requests, sum(cost_usd) AS spend, count(cost_usd) AS priced,
    sum(sum(cost_usd)) OVER () AS total,
    min(min(ts)) OVER () AS first_ts, max(max(ts)) OVER () AS last_ts,
    round(quantile_cont(latency_ms, 0.95), 1) AS p95_latency_ms,
    round(avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END), 4) AS error_rate
  FROM requests WHERE dataset_id = ? GROUP BY 1
) AS groups
ORDER BY {order}
"""


def _iso(value: datetime | None) -> str | None:
    return isoformat_z(value.replace(tzinfo=UTC)) if value is not None else None


async def overview_totals(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """Totals, window, latency, errors, unpriced models and requests whose token usage is
    unknown (counted in requests, latency and errors, not in token or cost sums), without
    the composition."""
    [row] = await store.fetch(_OVERVIEW, [dataset_id, dataset_id])
    unpriced = await store.fetch(
        "SELECT DISTINCT model FROM requests WHERE dataset_id = ? AND cost_usd IS NULL "
        "AND input_tokens IS NOT NULL ORDER BY model",
        [dataset_id],
    )
    return {
        **row,
        "first_ts": _iso(row["first_ts"]),
        "last_ts": _iso(row["last_ts"]),
        "unpriced_models": [r["model"] for r in unpriced],
    }


COMPOSITION = ("provider", "model", "feature")


def composition(breakdowns: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The overview's providers/models/features lists from spend breakdown rows (same
    groups, same order), for callers that have the breakdowns anyway."""
    return {
        name + "s": [{k: row[k] for k in ("key", "requests", "spend_usd")} for row in rows]
        for name, rows in breakdowns.items()
        if name in COMPOSITION
    }


async def dataset_overview(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """Totals, window, latency, errors, and what the dataset is made of."""
    parts = {}
    for name in COMPOSITION:
        parts[name + "s"] = await store.fetch(
            _COUNTS.format(key=BREAKDOWN_KEYS[name]), [dataset_id]
        )
    return {**await overview_totals(store, dataset_id), **parts}


async def spend_breakdown(store: AnalyticsStore, dataset_id: str, by: str) -> dict[str, Any]:
    """Spend per model, feature, provider or day (days in date order, others by spend)."""
    key = BREAKDOWN_KEYS.get(by)
    if key is None:
        raise ValidationFailed(
            f"cannot break spend down by {by!r}; use one of: {', '.join(BREAKDOWN_KEYS)}"
        )
    group, shown = _GROUPED_ON.get(by, (key, "g"))
    order = "key" if by == "day" else "spend_usd DESC, requests DESC, key"
    rows = await store.fetch(_BREAKDOWN.format(key=shown, group=group, order=order), [dataset_id])
    return {"by": by, "rows": rows}
