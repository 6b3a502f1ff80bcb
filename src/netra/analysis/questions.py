"""Answers to focused questions: what a dataset holds, spend over its last days, latency
by model, what failures cost, and what the same traffic would cost at other providers.

Every number is computed by SQL over the dataset's own rows; re-pricing uses the
catalogue rates of telemetry.pricing for each request's day, tier and batch flag.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_CTE
from netra.analysis.catalog import ModelSpec, equivalents, spec, spec_by_model
from netra.analysis.overview import BREAKDOWN_KEYS
from netra.db.base import isoformat_z
from netra.errors import ValidationFailed
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore


def _iso(value: datetime | None) -> str | None:
    return isoformat_z(value.replace(tzinfo=UTC)) if value is not None else None


# -- dataset profile ------------------------------------------------------------------

# Optional record fields (TELEMETRY.md) -> "this row carries it". Token counts default
# to 0 and `batch` to false, so for them "present" means a non-default value.
_FIELD_PRESENT = {
    "feature": "feature IS NOT NULL",
    "end_user": "end_user IS NOT NULL",
    "conversation_id": "conversation_id IS NOT NULL",
    "request_id": "request_id IS NOT NULL",
    "prompt_hash": "prompt_hash IS NOT NULL",
    "prefix_hash": "prefix_hash IS NOT NULL",
    "latency_ms": "latency_ms IS NOT NULL",
    "ttft_ms": "ttft_ms IS NOT NULL",
    "max_tokens": "max_tokens IS NOT NULL",
    "error_type": "error_type IS NOT NULL",
    "cached_input_tokens": "cached_input_tokens > 0",
    "cache_write_tokens": "cache_write_tokens > 0",
    "reasoning_tokens": "reasoning_tokens > 0",
    "batch": "batch",
    "cost_usd": "source_cost_usd IS NOT NULL",
}
# `status` defaults to 'ok', so an all-'ok' column cannot be told from a missing one:
# the data records outcomes (1.0) only when it holds at least one failure, else 0.0.
_STATUS_PRESENT = (
    "CASE WHEN bool_or(status = 'error' OR error_type IS NOT NULL) THEN 1.0 ELSE 0.0 END"
)

_PROFILE = (
    "SELECT count(*) AS requests, min(ts) AS first_ts, max(ts) AS last_ts, "
    + ", ".join(
        f"round(coalesce(avg(CASE WHEN {cond} THEN 1.0 ELSE 0.0 END), 0), 4) AS {name}"
        for name, cond in _FIELD_PRESENT.items()
    )
    + f", coalesce({_STATUS_PRESENT}, 0.0) AS status"
    + " FROM requests WHERE dataset_id = ?"
)

_PROFILE_FEATURES = """
SELECT feature, count(*) AS requests, round(coalesce(sum(cost_usd), 0), 6) AS spend_usd
FROM requests WHERE dataset_id = ? AND feature IS NOT NULL
GROUP BY feature ORDER BY spend_usd DESC, requests DESC, feature
"""

_PROFILE_MODELS = """
SELECT provider, model, count(*) AS requests,
  round(coalesce(sum(cost_usd), 0), 6) AS spend_usd,
  count(*) FILTER (WHERE cost_usd IS NULL AND input_tokens IS NOT NULL) AS unpriced_requests,
  count(*) FILTER (WHERE input_tokens IS NULL) AS usage_unknown_requests
FROM requests WHERE dataset_id = ?
GROUP BY provider, model ORDER BY spend_usd DESC, requests DESC, provider, model
"""


async def dataset_profile(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """Which optional fields the data carries (share of rows, 0..1), its features and models.

    `fields.status` is 1.0 when the dataset records at least one failure, else 0.0.
    """
    [row] = await store.fetch(_PROFILE, [dataset_id])
    fields = {name: float(row[name]) for name in (*_FIELD_PRESENT, "status")}
    return {
        "requests": int(row["requests"]),
        "first_ts": _iso(row["first_ts"]),
        "last_ts": _iso(row["last_ts"]),
        "fields": fields,
        "features": await store.fetch(_PROFILE_FEATURES, [dataset_id]),
        "models": await store.fetch(_PROFILE_MODELS, [dataset_id]),
    }


# -- spend over the last days -----------------------------------------------------------

_SLICE = """
WITH bounds AS (
  SELECT max(ts)::DATE - to_days(CAST(? AS INTEGER) - 1) AS starts, max(ts) AS ends
  FROM requests WHERE dataset_id = ?
),
q AS (
  SELECT requests.* FROM requests, bounds
  WHERE dataset_id = ? AND ts >= bounds.starts
),
win AS (SELECT greatest(date_diff('second', min(ts), max(ts)) / 86400.0, 1.0) AS days FROM q),
total AS (SELECT sum(cost_usd) AS spend FROM q)
SELECT {key} AS key, count(*) AS requests,
  round(coalesce(sum(cost_usd), 0), 6) AS spend_usd,
  round(coalesce(sum(cost_usd) * 30 / any_value(win.days), 0), 6) AS monthly_spend_usd,
  round(coalesce(100 * sum(cost_usd) / nullif(any_value(total.spend), 0), 0), 2) AS share_pct,
  round(coalesce(sum(cost_usd) / nullif(count(cost_usd), 0), 0), 8) AS cost_per_request_usd,
  round(quantile_cont(latency_ms, 0.95), 1) AS p95_latency_ms,
  round(avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END), 4) AS error_rate
FROM q, win, total
GROUP BY 1 ORDER BY {order}
"""

_SLICE_BOUNDS = """
SELECT max(ts)::DATE - to_days(CAST(? AS INTEGER) - 1) AS starts, max(ts) AS ends
FROM requests WHERE dataset_id = ?
"""


async def spend_slice(
    store: AnalyticsStore, dataset_id: str, by: str, *, last_days: int
) -> dict[str, Any]:
    """spend_breakdown over the last `last_days` calendar days of the data (ending on the
    dataset's last request, not today); monthly figures scale that slice to 30 days."""
    key = BREAKDOWN_KEYS.get(by)
    if key is None:
        raise ValidationFailed(
            f"cannot break spend down by {by!r}; use one of: {', '.join(BREAKDOWN_KEYS)}"
        )
    if not 1 <= last_days <= 3660:
        raise ValidationFailed(f"last_days: must be between 1 and 3660 (got {last_days})")
    order = "key" if by == "day" else "spend_usd DESC, requests DESC, key"
    sql = _SLICE.format(key=key, order=order)
    rows = await store.fetch(sql, [last_days, dataset_id, dataset_id])
    [bounds] = await store.fetch(_SLICE_BOUNDS, [last_days, dataset_id])
    return {
        "by": by,
        "last_days": last_days,
        "from": _iso(bounds["starts"]),
        "to": _iso(bounds["ends"]),
        "rows": rows,
    }


# -- latency ----------------------------------------------------------------------------

_LATENCY = """
SELECT provider, model, count(*) AS requests,
  round(quantile_cont(latency_ms, 0.5), 1) AS p50_latency_ms,
  round(quantile_cont(latency_ms, 0.95), 1) AS p95_latency_ms,
  round(quantile_cont(latency_ms, 0.99), 1) AS p99_latency_ms,
  round(quantile_cont(ttft_ms, 0.5), 1) AS p50_ttft_ms,
  round(avg(output_tokens), 1) AS avg_output_tokens
FROM requests WHERE dataset_id = ? AND latency_ms IS NOT NULL
GROUP BY provider, model
ORDER BY p95_latency_ms DESC, requests DESC, provider, model
"""


async def latency_by_model(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """Latency percentiles per model, slowest (p95) first, over the requests that record a
    latency (failed ones included: their wait is real too)."""
    return {"rows": await store.fetch(_LATENCY, [dataset_id])}


# -- what failures cost -----------------------------------------------------------------

_ERRORS = f"""
WITH {WINDOW_CTE}
SELECT count(*) AS requests,
  count(*) FILTER (WHERE status = 'error') AS failed_requests,
  count(*) FILTER (WHERE status = 'error' AND cost_usd IS NULL AND input_tokens IS NOT NULL)
    AS unpriced_failed_requests,
  -- failed calls the source recorded no usage for: 0 tokens, $0 (they bill nothing)
  count(*) FILTER (WHERE status = 'error' AND NOT coalesce(usage_recorded, true))
    AS failed_without_usage_requests,
  round(coalesce(sum(cost_usd) FILTER (WHERE status = 'error'), 0), 6) AS cost_usd,
  round(coalesce(sum(cost_usd) FILTER (WHERE status = 'error') * 30 / any_value(win.days), 0), 6)
    AS cost_usd_month,
  round(coalesce(100.0 * count(*) FILTER (WHERE status = 'error') / nullif(count(*), 0), 0), 2)
    AS error_rate_pct,
  coalesce(any_value(win.days), 0) AS window_days
FROM requests, win WHERE dataset_id = ?
"""

_ERRORS_BY_TYPE = """
SELECT coalesce(error_type, '(unspecified)') AS error_type, count(*) AS failures,
  count(*) AS requests, round(coalesce(sum(cost_usd), 0), 6) AS cost_usd
FROM requests WHERE dataset_id = ? AND status = 'error'
GROUP BY 1 ORDER BY cost_usd DESC, failures DESC, error_type
"""

_ERRORS_BY_FEATURE = """
SELECT coalesce(feature, '(none)') AS feature, count(*) AS requests,
  count(*) FILTER (WHERE status = 'error') AS failures,
  round(100.0 * count(*) FILTER (WHERE status = 'error') / count(*), 2) AS error_rate_pct,
  round(coalesce(sum(cost_usd) FILTER (WHERE status = 'error'), 0), 6) AS cost_usd
FROM requests WHERE dataset_id = ?
GROUP BY 1 HAVING count(*) FILTER (WHERE status = 'error') > 0
ORDER BY cost_usd DESC, failures DESC, feature
"""


async def error_cost(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """Failed requests: how many, what they cost (in the window and per month), by error
    type and by feature. In `by_error_type`, `requests` equals `failures`."""
    [totals] = await store.fetch(_ERRORS, [dataset_id, dataset_id])
    return {
        **totals,
        "by_error_type": await store.fetch(_ERRORS_BY_TYPE, [dataset_id]),
        "by_feature": await store.fetch(_ERRORS_BY_FEATURE, [dataset_id]),
    }


# -- the same traffic at other providers --------------------------------------------------

_PAIRS = """
SELECT provider, model, sum(cost_usd) AS spend FROM requests
WHERE dataset_id = ? AND cost_usd IS NOT NULL
GROUP BY provider, model ORDER BY spend DESC, provider, model
"""

_COMPARE = """
WITH {window},
c AS (SELECT * FROM {pairs} AS c(provider, model, to_provider, to_model)),
r AS (SELECT * FROM {rates} AS r)
SELECT q.provider AS source_provider, q.model AS source_model,
  c.to_provider AS provider, c.to_model AS model, count(*) AS requests,
  count(r.r_input) AS priced_requests,
  sum(q.cost_usd) AS current_cost_usd, sum({cost}) AS cost_usd,
  any_value(win.days) AS window_days
FROM requests AS q JOIN c ON c.provider = q.provider AND c.model = q.model
  LEFT JOIN r ON r.provider = c.to_provider AND r.model = c.to_model AND {join}
  CROSS JOIN win
WHERE q.dataset_id = ? AND q.cost_usd IS NOT NULL
GROUP BY ALL
"""

_PAIR_VALUES = "(?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::VARCHAR)"


def _in_class(provider: str, model: str, wanted: str | None) -> bool:
    """Whether a dataset model is `wanted` or the same model under another id or provider
    ("gpt-4o" also matches gpt-4o-2024-08-06 and Azure's gpt-4o)."""
    if wanted is None:
        return True
    name = wanted.lower().removesuffix("-class")
    if model.lower() == name:
        return True
    mine, theirs = spec(provider, model), spec_by_model(name)
    return mine is not None and theirs is not None and mine.family == theirs.family


def _alternatives(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[ModelSpec]]:
    return {pair: found for pair in pairs if (found := equivalents(*pair))}


async def compare_providers(
    store: AnalyticsStore, dataset_id: str, model: str | None
) -> dict[str, Any]:
    """What the dataset's traffic of each model (or only `model` and the same model under
    other ids) would cost at every provider serving the same model, at the catalogue's
    prices for each request's day, tier and batch flag.

    Rows come in groups, one per model in the dataset (biggest spend first): the current
    provider first (`current: true`), then the alternatives, cheapest first. An
    alternative the catalogue cannot price on every day of the traffic is left out and
    named in `unpriced`.
    """
    pairs = [
        (r["provider"], r["model"])
        for r in await store.fetch(_PAIRS, [dataset_id])
        if _in_class(r["provider"], r["model"], model)
    ]
    options = _alternatives(pairs)
    if not options:
        return {"model": model, "rows": [], "unpriced": [],
                "note": "no other provider in the catalogue serves these models"}  # fmt: skip
    mapping = [(p, m, p, m) for p, m in options] + [
        (p, m, s.provider, s.model) for (p, m), specs in options.items() for s in specs
    ]
    keys = await _rates.dataset_keys(store, dataset_id)
    targets = {(s.provider, s.model) for specs in options.values() for s in specs}
    wanted = {
        (s.provider, s.model, batch, day)
        for provider, name, batch, day in keys
        for s in options.get((provider, name), ())
    }
    rates, rate_params, _ = _rates.rate_table(wanted)
    sql = _COMPARE.format(
        window=WINDOW_CTE, pairs=f"(VALUES {', '.join([_PAIR_VALUES] * len(mapping))})",
        rates=rates, cost=pricing.cost_sql("q", "r"),
        join=pricing.rate_join("q", "r", same_model=False),
    )  # fmt: skip
    params = [dataset_id, *(v for row in mapping for v in row), *rate_params, dataset_id]
    groups = await store.fetch(sql, params)
    rows, unpriced = _provider_rows(groups, pairs, targets)
    return {"model": model, "rows": rows, "unpriced": unpriced}


def _provider_rows(
    groups: list[dict[str, Any]], order: list[tuple[str, str]], targets: set[tuple[str, str]]
) -> tuple[list[dict[str, Any]], list[str]]:
    by_source: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for g in groups:
        by_source.setdefault((g["source_provider"], g["source_model"]), []).append(g)
    rows: list[dict[str, Any]] = []
    unpriced: set[str] = set()
    for source in order:
        found = by_source.get(source, [])
        current = next((g for g in found if (g["provider"], g["model"]) == source), None)
        if current is None:
            continue
        paid, days = float(current["current_cost_usd"]), float(current["window_days"])
        options = []
        for g in found:
            if (g["provider"], g["model"]) == source or (g["provider"], g["model"]) not in targets:
                continue
            if g["priced_requests"] < g["requests"]:
                unpriced.add(f"{g['provider']}/{g['model']}")
                continue
            options.append(_row(g, float(g["cost_usd"]), paid, days, current=False))
        if options:
            rows.append(_row(current, paid, paid, days, current=True))
            rows += sorted(options, key=lambda r: (r["cost_usd"], r["provider"]))
    return rows, sorted(unpriced)


def _row(
    group: dict[str, Any], cost: float, paid: float, days: float, *, current: bool
) -> dict[str, Any]:
    return {
        "model": group["model"],
        "provider": group["provider"],
        "current": current,
        "source_provider": group["source_provider"],
        "source_model": group["source_model"],
        "requests": int(group["requests"]),
        "cost_usd": round(cost, 6),
        "cost_usd_month": round(cost * 30 / days, 6),
        "delta_pct": round(100 * (cost - paid) / paid, 2) if paid else 0.0,
        "savings_usd_month": round((paid - cost) * 30 / days, 6),
    }
