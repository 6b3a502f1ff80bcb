"""Test data for telemetry tests: small files and stores on real DuckDB files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
