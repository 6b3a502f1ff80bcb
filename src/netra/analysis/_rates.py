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

# Within one analysis run (see `one_run`) every finder reads the same keys and window:
# ask once.
_RUN_KEYS: ContextVar[dict[tuple[int, str], list[Key]] | None] = ContextVar(
    "netra_analysis_keys", default=None
)
_RUN_DAYS: ContextVar[dict[tuple[int, str], float | None] | None] = ContextVar(
    "netra_analysis_days", default=None
)


@contextmanager
def one_run() -> Iterator[None]:
    """Share the dataset's keys and window among the finders run inside this block."""
    keys, days = _RUN_KEYS.set({}), _RUN_DAYS.set({})
    try:
        yield
    finally:
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


async def dataset_keys(store: AnalyticsStore, dataset_id: str) -> list[Key]:
    """The (provider, model, batch, day) keys present in a dataset."""
    shared = _RUN_KEYS.get()
    if shared is not None and (id(store), dataset_id) in shared:
        return shared[(id(store), dataset_id)]
    rows = await store.fetch(_KEYS, [dataset_id])
    keys = [(r["provider"], r["model"], bool(r["batch"]), r["day"]) for r in rows]
    if shared is not None:
        shared[(id(store), dataset_id)] = keys
    return keys


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
