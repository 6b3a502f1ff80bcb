"""Rate tables for the analyses: catalogue prices for the keys a dataset actually has.

Every analysis that re-prices requests asks the dataset once for its distinct
(provider, model, batch, day) keys, maps them to the keys it wants priced (another
model, the batch variant…), and joins the resulting small table in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from netra.analysis._common import WINDOW_CTE
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

Key = tuple[str, str, bool, date]

_KEYS = """
SELECT DISTINCT provider, model, batch, ts::DATE AS day
FROM requests WHERE dataset_id = ?
"""


_DAYS = f"WITH {WINDOW_CTE} SELECT days FROM win"

# The dataset's traffic by slice (feature, provider, model), day and hour: one scan that
# several finders share (their slice totals, batch_api's hours, the keys) instead of each
# scanning every request again. A few thousand rows.
# "Simple work" for model right-sizing: short prompts and short answers (tokens). The
# traffic counts them, so right-sizing computes exact quantiles only for slices that can
# qualify.
SHORT_PROMPT_TOKENS = 2000
SHORT_ANSWER_TOKENS = 200

_TRAFFIC = f"""
SELECT coalesce(feature, '(none)') AS feature, provider, model, batch, ts::DATE AS day,
  hour(ts) AS hour, status, cost_usd IS NOT NULL AS priced, count(*) AS requests,
  count(conversation_id) AS conversation_turns, coalesce(sum(cost_usd), 0) AS cost,
  count(prompt_hash) AS prompted_requests,
  coalesce(sum(cost_usd) FILTER (WHERE prompt_hash IS NOT NULL), 0) AS prompted_cost,
  count(*) FILTER (WHERE input_tokens <= {SHORT_PROMPT_TOKENS}) AS short_prompts,
  count(*) FILTER (WHERE output_tokens <= {SHORT_ANSWER_TOKENS}) AS short_answers
FROM requests WHERE dataset_id = ?
GROUP BY ALL
"""

# Within one analysis run (see `one_run`) every finder reads the same keys and window:
# ask once.
_RUN_KEYS: ContextVar[dict[tuple[int, str], list[Key]] | None] = ContextVar(
    "netra_analysis_keys", default=None
)
_RUN_DAYS: ContextVar[dict[tuple[int, str], float | None] | None] = ContextVar(
    "netra_analysis_days", default=None
)
_RUN_TRAFFIC: ContextVar[dict[tuple[int, str], list[dict[str, Any]]] | None] = ContextVar(
    "netra_analysis_traffic", default=None
)


@contextmanager
def one_run() -> Iterator[None]:
    """Share the dataset's keys, window and traffic among the finders run inside this block."""
    keys, days, traffic = _RUN_KEYS.set({}), _RUN_DAYS.set({}), _RUN_TRAFFIC.set({})
    try:
        yield
    finally:
        _RUN_TRAFFIC.reset(traffic)
        _RUN_DAYS.reset(days)
        _RUN_KEYS.reset(keys)


async def window_days(store: AnalyticsStore, dataset_id: str) -> float | None:
    """The dataset's window in days, as WINDOW_CTE computes it (for WINDOW_VALUE_CTE)."""
    shared = _RUN_DAYS.get()
    if shared is not None and (id(store), dataset_id) in shared:
        return shared[(id(store), dataset_id)]
    rows = await store.fetch(_DAYS, [dataset_id])
    days = rows[0]["days"] if rows else None
    if shared is not None:
        shared[(id(store), dataset_id)] = days
    return days


async def traffic(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """Requests, conversation turns and cost by slice, batch, day, hour, status, and
    whether priced (`_TRAFFIC`)."""
    shared = _RUN_TRAFFIC.get()
    if shared is not None and (id(store), dataset_id) in shared:
        return shared[(id(store), dataset_id)]
    rows = await store.fetch(_TRAFFIC, [dataset_id])
    if shared is not None:
        shared[(id(store), dataset_id)] = rows
    return rows


async def dataset_keys(store: AnalyticsStore, dataset_id: str) -> list[Key]:
    """The (provider, model, batch, day) keys present in a dataset."""
    shared = _RUN_KEYS.get()
    if shared is not None and (id(store), dataset_id) in shared:
        return shared[(id(store), dataset_id)]
    if shared is not None:
        # within a run the shared traffic holds the keys: no scan of their own
        rows = await traffic(store, dataset_id)
    else:
        rows = await store.fetch(_KEYS, [dataset_id])
    keys = list(
        dict.fromkeys((r["provider"], r["model"], bool(r["batch"]), r["day"]) for r in rows)
    )
    if shared is not None:
        shared[(id(store), dataset_id)] = keys
    return keys


def slice_totals(
    rows: Iterable[dict[str, Any]], values: Callable[[dict[str, Any]], tuple[Any, ...] | None]
) -> dict[tuple[str, str, str], list[Any]]:
    """Sums by (feature, provider, model) of what `values` takes from each traffic row
    (None: the row does not count)."""
    totals: dict[tuple[str, str, str], list[Any]] = {}
    for row in rows:
        taken = values(row)
        if taken is None:
            continue
        key = (row["feature"], row["provider"], row["model"])
        sums = totals.get(key)
        if sums is None:
            totals[key] = list(taken)
        else:
            totals[key] = [a + b for a, b in zip(sums, taken, strict=True)]
    return totals


def slices_sql(totals: dict[tuple[str, str, str], list[Any]], *types: str) -> tuple[str, list[Any]]:
    """`slice_totals` as a FROM-able VALUES table: feature, provider, model, then the sums
    (of these SQL types); name its columns with an alias."""
    casts = ", ".join(["?::VARCHAR"] * 3 + [f"?::{t}" for t in types])
    params = [v for key, sums in totals.items() for v in (*key, *sums)]
    return f"(VALUES {', '.join([f'({casts})'] * len(totals))})", params


def rate_table(keys: Iterable[Key]) -> tuple[str, list[Any], set[tuple[str, str]]]:
    """A FROM-able rate table for these keys, its parameters, and the unpriced models."""
    rows, unpriced = pricing.rate_rows(keys)
    sql, params = pricing.rates_sql(rows)
    return sql, params, unpriced


def mapped(keys: Iterable[Key], change: Callable[[Key], Key | None]) -> set[Key]:
    """The keys themselves plus what `change` maps each to (None: nothing more)."""
    result = set(keys)
    for key in list(result):
        target = change(key)
        if target is not None:
            result.add(target)
    return result


def rates_evidence(provider: str, model: str, day: date, batch: bool = False) -> dict[str, Any]:
    """A model's catalogue rates on a day (USD per million tokens), for the evidence."""
    rates = pricing.price_per_mtok(provider, model, day, batch=batch)
    return {} if rates is None else dict(rates.__dict__)


MONTH = "* 30 / any_value(win.days)"  # scales a window sum to 30 days (see WINDOW_CTE)

