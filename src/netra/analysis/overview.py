"""What a dataset holds and where its money goes; every number is computed by SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from netra.analysis._common import WINDOW_CTE
from netra.db.base import isoformat_z
from netra.errors import ValidationFailed
from netra.telemetry.store import AnalyticsStore

_OVERVIEW = f"""
WITH {WINDOW_CTE}
SELECT count(*) AS requests,
  round(coalesce(sum(cost_usd), 0), 6) AS spend_usd,
  round(coalesce(any_value(win.days), 0), 4) AS window_days,
  round(coalesce(sum(cost_usd) * 30 / any_value(win.days), 0), 6) AS monthly_spend_usd,
  coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
  coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
  round(quantile_cont(latency_ms, 0.5), 1) AS p50_latency_ms,
  round(quantile_cont(latency_ms, 0.95), 1) AS p95_latency_ms,
  round(coalesce(avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END), 0), 4) AS error_rate,
  count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_requests,
  min(ts) AS first_ts, max(ts) AS last_ts
FROM requests, win WHERE dataset_id = ?
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
}

_BREAKDOWN = f"""
WITH {WINDOW_CTE},
total AS (SELECT sum(cost_usd) AS spend FROM requests WHERE dataset_id = ?)
SELECT {{key}} AS key, count(*) AS requests,
  round(coalesce(sum(cost_usd), 0), 6) AS spend_usd,
  round(coalesce(sum(cost_usd) * 30 / any_value(win.days), 0), 6) AS monthly_spend_usd,
  round(coalesce(100 * sum(cost_usd) / nullif(any_value(total.spend), 0), 0), 2) AS share_pct,
  round(quantile_cont(latency_ms, 0.95), 1) AS p95_latency_ms,
  round(avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END), 4) AS error_rate
FROM requests, win, total WHERE dataset_id = ?
GROUP BY 1 ORDER BY {{order}}
"""


def _iso(value: datetime | None) -> str | None:
    return isoformat_z(value.replace(tzinfo=UTC)) if value is not None else None


async def dataset_overview(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """Totals, window, latency, errors, and what the dataset is made of."""
    [row] = await store.fetch(_OVERVIEW, [dataset_id, dataset_id])
    unpriced = await store.fetch(
        "SELECT DISTINCT model FROM requests WHERE dataset_id = ? AND cost_usd IS NULL "
        "ORDER BY model",
        [dataset_id],
    )
    parts = {}
    for name in ("provider", "model", "feature"):
        parts[name + "s"] = await store.fetch(
            _COUNTS.format(key=BREAKDOWN_KEYS[name]), [dataset_id]
        )
    return {
        **row,
        "first_ts": _iso(row["first_ts"]),
        "last_ts": _iso(row["last_ts"]),
        "unpriced_models": [r["model"] for r in unpriced],
        **parts,
    }


async def spend_breakdown(store: AnalyticsStore, dataset_id: str, by: str) -> dict[str, Any]:
    """Spend per model, feature, provider or day (days in date order, others by spend)."""
    key = BREAKDOWN_KEYS.get(by)
    if key is None:
        raise ValidationFailed(
            f"cannot break spend down by {by!r}; use one of: {', '.join(BREAKDOWN_KEYS)}"
        )
    order = "key" if by == "day" else "spend_usd DESC, requests DESC, key"
    rows = await store.fetch(
        _BREAKDOWN.format(key=key, order=order), [dataset_id, dataset_id, dataset_id]
    )
    return {"by": by, "rows": rows}
