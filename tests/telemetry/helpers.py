"""Test data for telemetry tests: small files and stores on real DuckDB files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from netra.telemetry.store.duckdb_store import DuckDBStore


@asynccontextmanager
async def open_store(tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    store = DuckDBStore(tmp_path / "analytics.duckdb")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ts": "2026-11-01T10:00:00Z",
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 100,
    }
    return {**base, **overrides}


def quantile_cont(values: list[float], q: float) -> float:
    """DuckDB's quantile_cont by hand: between the sorted values lo and hi around
    q·(n − 1), weighed as DuckDB weighs them: fma(lo, 1 − f, hi·f), computed exactly and
    rounded once."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    f = position - low
    return float(Fraction(ordered[low]) * Fraction(1 - f) + Fraction(ordered[high] * f))


def round_tenth(value: float) -> float:
    """SQL's round(x, 1): the double's exact value, halves away from zero (Python's round
    goes to even). 590.05 is stored as 590.0499999…, so it rounds to 590.0."""
    return float(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
