"""Rate tables for the analyses: catalogue prices for the keys a dataset actually has.

Every analysis that re-prices requests asks the dataset once for its distinct
(provider, model, batch, day) keys, maps them to the keys it wants priced (another
model, the batch variant…), and joins the resulting small table in SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any, TypeVar

from netra.analysis._common import WINDOW_CTE
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

Key = tuple[str, str, bool, date]
T = TypeVar("T")

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

# Within one analysis run (see `one_run`) every finder reads the same keys, window and
# traffic: each is asked for once, by whichever finder needs it first, and the finders
# running beside it wait for that answer instead of asking again.
_RUN: ContextVar[dict[tuple[str, int, str], asyncio.Future[Any]] | None] = ContextVar(
    "netra_analysis_run", default=None
)


@contextmanager
def one_run() -> Iterator[None]:
    """Share the dataset's keys, window and traffic among the finders run inside this block."""
    token = _RUN.set({})
    try:
        yield
    finally:
        _RUN.reset(token)


async def _once(
    name: str, store: AnalyticsStore, dataset_id: str, compute: Callable[[], Awaitable[T]]
) -> T:
    """compute(), or within a run the answer of its first call there."""
    shared = _RUN.get()
    if shared is None:
        return await compute()
    key = (name, id(store), dataset_id)
    if key not in shared:
        shared[key] = asyncio.ensure_future(compute())
    # shielded: one finder cancelled must not cancel the answer the others wait for
    result: T = await asyncio.shield(shared[key])
    return result


async def window_days(store: AnalyticsStore, dataset_id: str) -> float | None:
    """The dataset's window in days, as WINDOW_CTE computes it (for WINDOW_VALUE_CTE)."""

    async def compute() -> float | None:
        rows = await store.fetch(_DAYS, [dataset_id])
        return rows[0]["days"] if rows else None

    return await _once("days", store, dataset_id, compute)


async def traffic(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """Requests, conversation turns and cost by slice, batch, day, hour, status, and
    whether priced (`_TRAFFIC`)."""
    return await _once("traffic", store, dataset_id,
                       lambda: store.fetch(_TRAFFIC, [dataset_id]))


async def dataset_keys(store: AnalyticsStore, dataset_id: str) -> list[Key]:
    """The (provider, model, batch, day) keys present in a dataset."""

    async def compute() -> list[Key]:
        # within a run the shared traffic holds the keys: no scan of their own
        in_run = _RUN.get() is not None
        rows = (await traffic(store, dataset_id) if in_run
                else await store.fetch(_KEYS, [dataset_id]))
        return list(
            dict.fromkeys((r["provider"], r["model"], bool(r["batch"]), r["day"]) for r in rows)
        )

    return await _once("keys", store, dataset_id, compute)


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

