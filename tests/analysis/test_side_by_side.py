"""Finders run side by side: results in order, a bounded number at once, the first
failure stops the rest; within one analysis run the shared inputs are asked for once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from netra.analysis import _rates
from netra.analysis.findings import analysis_run, find_all, side_by_side
from netra.telemetry.store.duckdb_store import DuckDBStore


class Boom(Exception):
    pass


async def test_results_come_back_in_order_with_a_bounded_number_at_once() -> None:
    running, most = 0, 0

    async def call(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)  # let the others start, if the gate allows
        await asyncio.sleep(0)
        running -= 1
        return n * n

    def bind(n: int) -> Any:
        return lambda: call(n)

    assert await side_by_side([bind(n) for n in range(7)], at_once=3) == [n * n for n in range(7)]
    assert most == 3


async def test_the_first_failure_cancels_the_others_and_is_raised_as_itself() -> None:
    gate = asyncio.Event()
    cancelled: list[int] = []

    async def waits(n: int) -> int:
        try:
            await gate.wait()  # never set: only a cancellation ends it
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async def fails() -> int:
        raise Boom("the second call failed")

    with pytest.raises(Boom, match="the second call failed"):
        await side_by_side([lambda: waits(0), fails, lambda: waits(2)], at_once=3)
    assert sorted(cancelled) == [0, 2]  # stopped, and waited for, before the raise


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    store = DuckDBStore(tmp_path / "analytics.duckdb")
    await store.open()
    await store.generate_demo("d", rows=3_000, seed=5, end=date(2026, 11, 25))
    yield store
    await store.close()


def _count_queries(store: DuckDBStore) -> list[str]:
    """The SQL of every query the store runs from now on, in order."""
    asked: list[str] = []
    fetch = store.fetch

    async def counting(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        asked.append(sql)
        return await fetch(sql, params)

    store.fetch = counting  # type: ignore[method-assign]
    return asked


async def test_finders_side_by_side_ask_for_the_shared_traffic_once(store: DuckDBStore) -> None:
    asked = _count_queries(store)
    with analysis_run():
        first, second = await asyncio.gather(_rates.traffic(store, "d"),
                                             _rates.traffic(store, "d"))
        days = await asyncio.gather(*(_rates.window_days(store, "d") for _ in range(3)))
    assert first is second and len(set(days)) == 1
    assert asked.count(_rates._TRAFFIC) == 1 and len(asked) == 2  # traffic once, window once

    asked.clear()
    findings = await find_all(store, "d")
    assert findings and asked.count(_rates._TRAFFIC) == 1


async def test_outside_a_run_nothing_is_shared(store: DuckDBStore) -> None:
    asked = _count_queries(store)
    await _rates.traffic(store, "d")
    await _rates.traffic(store, "d")
    assert asked.count(_rates._TRAFFIC) == 2
