"""A dataset's dashboard: totals, a time series, the top keys of four breakdowns and the
values its filter bar offers, for any slice of its requests (`slicing.Slice`), computed
by the analytics store in SQL (DuckDB's; the ClickHouse store translates it).

What costs at ten million rows is the latency quantiles, not reading the rows: an exact
quantile keeps and selects every value of its group, once per quantile and grouping,
while sums are a few additions a row. So the totals take p50/p95 from a histogram of
distinct latencies (`overview.latency_cte`), the series take quantile_cont per bucket,
models, features and providers take p95 in the pass that sums them, and end users are
ranked by spend with plain sums first, then p95 is taken over the top ones' rows alone
(100,000 end users cost ten p95s, not 100,000). Each is one statement, all side by
side; the end users' p95 follows their ranking.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from netra.analysis.overview import latency_cte
from netra.analysis.slicing import (
    FILTERS,
    NONE_KEY,
    NULLABLE,
    STATUSES,
    Slice,
    invalid,
    value_condition,
)
from netra.db.base import isoformat_z
from netra.telemetry.store import AnalyticsStore

BUCKETS = ("hour", "day", "week")
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
# `auto`: hours up to 3 days, days up to 120, then weeks: 24 to 120 points on a chart.
_AUTO = (("hour", timedelta(days=3)), ("day", timedelta(days=120)))
MAX_BUCKETS = 1000
DEFAULT_TOP, MAX_TOP = 10, 50
OPTIONS = 100  # values offered per filter, the most used first
DIMENSIONS = ("model", "feature", "end_user", "provider")
# p95 with the sums, of every key: few keys, and the top ten hold most requests anyway.
_AT_ONCE = ("model", "feature", "provider")
# Ranked first, then p95 of the top keys' rows alone: end users are often thousands.
_RANKED_FIRST = ("end_user",)
_SUMS = (
    "count(*) AS requests, round(coalesce(sum(cost_usd), 0), 6) AS spend_usd, "
    "count(*) FILTER (WHERE status = 'error') AS errors"
)
_P95 = "round(quantile_cont(latency_ms, 0.95), 1) AS p95_latency_ms"


def _key(name: str) -> str:
    return f"coalesce({name}, '{NONE_KEY}')" if name in NULLABLE else name


def _totals_sql(where: str) -> str:
    latency, quantiles = latency_cte(where)
    return f"""
WITH totals AS (
  SELECT {_SUMS}, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
  FROM requests WHERE {where}
),
{latency}
SELECT t.requests, t.spend_usd, coalesce(t.input_tokens, 0)::BIGINT AS input_tokens,
  coalesce(t.output_tokens, 0)::BIGINT AS output_tokens, t.errors, {quantiles}
FROM totals AS t, latency"""


def _series_sql(where: str, bucket: str) -> str:
    # CAST: ClickHouse truncates to a week as a Date, DuckDB as a TIMESTAMP
    return f"""
SELECT CAST(date_trunc('{bucket}', ts) AS TIMESTAMP) AS start, {_SUMS},
  coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
  coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
  round(quantile_cont(latency_ms, 0.5), 1) AS p50_latency_ms, {_P95}
FROM requests WHERE {where} GROUP BY 1 ORDER BY 1"""


def _ranking_sql(where: str, names: Sequence[str], p95: bool) -> str:
    """The dimensions' keys with their sums (and p95), ranked by spend and by requests;
    kept: the first `?` by spend (the breakdown), the first `?` by requests (the filter
    options). Parameters: the slice's once per dimension, then those two."""
    keyed = "\n  UNION ALL ".join(
        f"SELECT '{name}' AS dim, {_key(name)} AS key, {_SUMS}{', ' + _P95 if p95 else ''} "
        f"FROM requests WHERE {where} GROUP BY {name}"
        for name in names
    )
    return f"""
WITH keyed AS (
  {keyed}
),
ranked AS (
  SELECT *,
    row_number() OVER (PARTITION BY dim ORDER BY spend_usd DESC, requests DESC, key) AS by_spend,
    row_number() OVER (PARTITION BY dim ORDER BY requests DESC, key) AS by_requests,
    count(*) OVER (PARTITION BY dim) AS keys
  FROM keyed
)
SELECT * FROM ranked WHERE by_spend <= ? OR by_requests <= ? ORDER BY dim, by_spend"""


def _p95_sql(where: str, name: str, keys: list[str]) -> tuple[str, list[str]]:
    """p95 latency of these keys of one dimension, over their rows alone."""
    condition, values = value_condition(name, name, keys)
    return (f"SELECT '{name}' AS dim, {_key(name)} AS key, {_P95} "
            f"FROM requests WHERE {where} AND {condition} GROUP BY {name}"), values  # fmt: skip


def error_rate(errors: int, requests: int) -> float | None:
    """errors / requests to 4 decimals, halves away from zero as the SQL rounds (the
    same on either store: it is worked out here)."""
    if not requests:
        return None
    exact = Decimal(errors / requests).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return float(exact)


# -- time buckets ------------------------------------------------------------------------


def bucket_start(ts: datetime, bucket: str) -> datetime:
    """The start of the bucket holding ts, as date_trunc gives it (weeks start Monday)."""
    if bucket == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def check_bucket(asked: str | None) -> None:
    if asked is not None and asked not in ("auto", *BUCKETS):
        raise invalid("bucket", f"must be auto, {', '.join(BUCKETS)} (got {asked[:40]!r})")


def choose_bucket(asked: str | None, first: datetime, last: datetime) -> str:
    """The asked bucket (checked: at most MAX_BUCKETS of them), or for auto the finest
    that keeps the chart readable."""
    check_bucket(asked)
    unit = asked if asked in BUCKETS else next(
        (name for name, span in _AUTO if last - first <= span), "week")
    count = (bucket_start(last, unit) - bucket_start(first, unit)) // _STEP[unit] + 1
    if count > MAX_BUCKETS:
        raise invalid("bucket", f"{count:,} {unit}s in this range, over the {MAX_BUCKETS:,} "
                                "a chart can show: choose a longer bucket or a shorter range")
    return unit


def _filled(rows: list[dict[str, Any]], bucket: str, first: datetime, last: datetime,
            ) -> list[dict[str, Any]]:  # fmt: skip
    """Every bucket from first to last, those without requests as zeros (no latency)."""
    found = {row["start"]: row for row in rows}
    series, at, end = [], bucket_start(first, bucket), bucket_start(last, bucket)
    while at <= end:
        row = found.get(at) or {
            "requests": 0, "spend_usd": 0.0, "errors": 0, "error_rate": None,
            "input_tokens": 0, "output_tokens": 0, "p50_latency_ms": None,
            "p95_latency_ms": None,
        }  # fmt: skip
        series.append({**row, "start": isoformat_z(at.replace(tzinfo=UTC))})
        at += _STEP[bucket]
    return series


# -- the dashboard -----------------------------------------------------------------------

# Filter options per dataset version (they depend on nothing else); a version is new
# whenever rows are added or removed, so an entry is never stale, only unused.
_OPTIONS_KEPT: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
_OPTIONS_KEEP = 256


def _options(ranked: Sequence[dict[str, Any]]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name in DIMENSIONS:
        rows = [r for r in ranked if r["dim"] == name and r["by_requests"] <= OPTIONS]
        keys = rows[0]["keys"] if rows else 0
        options[name] = {"values": sorted(r["key"] for r in rows), "truncated": keys > len(rows)}
    options["status"] = {"values": list(STATUSES), "truncated": False}
    return options


async def filter_options(store: AnalyticsStore, dataset_id: str, version: int | None = None
                         ) -> dict[str, Any]:  # fmt: skip
    """The values each filter offers: the dataset's, whatever is filtered, the OPTIONS
    most used of each dimension in name order (`truncated`: there are more)."""
    kept = _OPTIONS_KEPT.get((dataset_id, version)) if version is not None else None
    if kept is None:
        where, params = Slice().where(dataset_id)
        ranked = await store.fetch(_ranking_sql(where, DIMENSIONS, p95=False),
                                   params * len(DIMENSIONS) + [0, OPTIONS])  # fmt: skip
        kept = _options(ranked)
        _remember(dataset_id, version, kept)
    return kept


def _remember(dataset_id: str, version: int | None, options: dict[str, Any]) -> None:
    if version is None:
        return
    _OPTIONS_KEPT[(dataset_id, version)] = options
    while len(_OPTIONS_KEPT) > _OPTIONS_KEEP:
        _OPTIONS_KEPT.popitem(last=False)


async def _window(store: AnalyticsStore, dataset_id: str, chosen: Slice,
                  known: tuple[datetime | None, datetime | None] | None,
                  ) -> tuple[datetime, datetime] | None:  # fmt: skip
    """(first, last) time the series covers: the slice's bounds, else the dataset's."""
    if known is None and (chosen.start is None or chosen.end is None):
        [row] = await store.fetch(
            "SELECT min(ts) AS first_ts, max(ts) AS last_ts FROM requests WHERE dataset_id = ?",
            [dataset_id],
        )
        known = (row["first_ts"], row["last_ts"])
    first_ts, last_ts = known or (None, None)
    first = chosen.start or _naive(first_ts)
    # `to` is exclusive: its last microsecond is the last instant shown
    last = chosen.end - timedelta(microseconds=1) if chosen.end else _naive(last_ts)
    return (first, last) if first is not None and last is not None and first <= last else None


def _naive(value: datetime | None) -> datetime | None:
    """A UTC time as the store keeps it (the state database gives aware ones)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _breakdowns(ranked: list[dict[str, Any]], top: int, spend: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in DIMENSIONS:
        rows = [r for r in ranked if r["dim"] == name and r["by_spend"] <= top]
        out[name] = {
            "keys": rows[0]["keys"] if rows else 0,
            "rows": [{
                "key": r["key"], "requests": r["requests"], "spend_usd": r["spend_usd"],
                "share_pct": round(100 * r["spend_usd"] / spend, 2) if spend else 0.0,
                "p95_latency_ms": r["p95_latency_ms"], "errors": r["errors"],
                "error_rate": error_rate(r["errors"], r["requests"]),
            } for r in rows],
        }  # fmt: skip
    return out


async def dashboard(
    store: AnalyticsStore,
    dataset_id: str,
    chosen: Slice,
    *,
    bucket: str | None = None,
    top: int = DEFAULT_TOP,
    window: tuple[datetime | None, datetime | None] | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """The dashboard of the requests in `chosen`. `window` is the dataset's (first, last)
    request time when the caller knows it (else it is read); `version` keys the filter
    options kept between calls."""
    check_bucket(bucket)
    span = await _window(store, dataset_id, chosen, window)
    unit = choose_bucket(bucket, *span) if span else (bucket if bucket in BUCKETS else "day")
    where, params = chosen.where(dataset_id)
    kept = _OPTIONS_KEPT.get((dataset_id, version)) if version is not None else None
    # Unfiltered, the ranking holds the options too: no statement of their own.
    ranks = [top, OPTIONS if not chosen.filtered and kept is None else 0]
    [totals], series, at_once, first = await asyncio.gather(
        store.fetch(_totals_sql(where), params * 2),
        store.fetch(_series_sql(where, unit), params),
        store.fetch(_ranking_sql(where, _AT_ONCE, p95=True), params * len(_AT_ONCE) + ranks),
        store.fetch(_ranking_sql(where, _RANKED_FIRST, p95=False),
                    params * len(_RANKED_FIRST) + ranks),
    )  # fmt: skip
    ranked = at_once + await _with_p95(store, where, params, first, top)
    if kept is None:
        kept = _options(ranked) if ranks[1] else await filter_options(store, dataset_id)
        _remember(dataset_id, version, kept)
    for row in (totals, *series):
        row["error_rate"] = error_rate(row["errors"], row["requests"])
    return {
        "dataset_id": dataset_id,
        "range": _range(chosen, span),
        "bucket": unit,
        "filters": {name: list(chosen.values.get(name, ())) for name in FILTERS},
        "totals": totals,
        "series": _filled(series, unit, *span) if span else [],
        "breakdowns": _breakdowns(ranked, top, totals["spend_usd"]),
        "options": kept,
    }


async def _with_p95(store: AnalyticsStore, where: str, params: list[Any],
                    ranked: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:  # fmt: skip
    """The ranked rows with the p95 latency of the top keys (None for the others)."""
    for name in _RANKED_FIRST:
        keys = [r["key"] for r in ranked if r["dim"] == name and r["by_spend"] <= top]
        if not keys:
            continue
        sql, values = _p95_sql(where, name, keys)
        found = {r["key"]: r["p95_latency_ms"] for r in await store.fetch(sql, params + values)}
        for row in ranked:
            if row["dim"] == name:
                row["p95_latency_ms"] = found.get(row["key"])
    return ranked


def _range(chosen: Slice, span: tuple[datetime, datetime] | None) -> dict[str, str | None]:
    """What the dashboard covers: `from` and `to` as asked, else the first and last
    request's time (a `to` given is exclusive, one filled in is the last request)."""
    if span is None:
        return {"from": None, "to": None}
    return {"from": _iso(span[0]), "to": _iso(chosen.end or span[1])}


def _iso(value: datetime) -> str:
    return isoformat_z(value.replace(tzinfo=UTC))
