"""The analytics store: where request records live, keyed by dataset id.

One Protocol, one module per engine: DuckDB (embedded, the default) and ClickHouse
(when NETRA_ANALYTICS_URL is set). Every method is async and does its blocking work off
the event loop.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from netra.settings import Settings
from netra.telemetry.import_report import ImportReport
from netra.telemetry.schema import Defaults

MAX_REJECTS = 100

# Called now and then during an import with the share of the file read so far (0..1).
Progress = Callable[[float], None]


@dataclass
class Reject:
    line: int  # 1-based line of the file; for the ingestion API the 0-based record index
    reason: str


@dataclass
class ImportResult:
    """`rows`, `rejected_rows`, `rejects` and `report` (what was kept, what the source
    lacked) describe this call; the rest the whole dataset after it (so an incremental
    ingest can refresh the catalogue row)."""

    format: str
    rows: int
    rejected_rows: int
    rejects: list[Reject]  # the first MAX_REJECTS
    first_ts: datetime | None
    last_ts: datetime | None
    total_cost_usd: float
    unpriced_models: list[str]
    dataset_rows: int = 0
    inserted_rows: int = 0  # rows actually added (re-sent request_ids are not)
    source_cost_usd: float | None = None  # what the source reported, where it did
    report: ImportReport = field(default_factory=ImportReport)


def sql_literal(value: str | None) -> str:
    """A SQL string literal (NULL for None), for the few values not sent as parameters."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def defaults_of(default_provider: str | None, default_model: str | None) -> Defaults:
    """An upload's defaults as the record stores them (provider ids are lower case)."""
    return Defaults(
        default_provider.strip().lower() if default_provider and default_provider.strip()
        else None,
        default_model.strip() if default_model and default_model.strip() else None,
    )  # fmt: skip


class AnalyticsStore(Protocol):
    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> float: ...

    async def import_file(
        self,
        dataset_id: str,
        path: Path,
        fmt: str = "auto",
        *,
        default_provider: str | None = None,
        default_model: str | None = None,
        progress: Progress | None = None,
    ) -> ImportResult: ...

    async def insert_records(
        self, dataset_id: str, records: list[dict[str, Any]]
    ) -> ImportResult: ...

    async def generate_demo(
        self,
        dataset_id: str,
        *,
        rows: int = 20000,
        seed: int = 42,
        clean: bool = False,
        end: date | None = None,
    ) -> ImportResult: ...

    async def delete_dataset(self, dataset_id: str) -> None: ...

    async def fetch(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]: ...


def create_analytics_store(settings: Settings) -> AnalyticsStore:
    """The store the settings ask for: ClickHouse at NETRA_ANALYTICS_URL when set, else a
    DuckDB file at settings.analytics_path."""
    if settings.analytics_url:
        # Imported by name so the embedded default never loads the ClickHouse client.
        module = importlib.import_module("netra.telemetry.store.clickhouse_store")
        return cast(AnalyticsStore, module.ClickHouseStore(settings.analytics_url))
    from netra.telemetry.store.duckdb_store import DuckDBStore

    return DuckDBStore(settings.analytics_path)


__all__ = [
    "MAX_REJECTS",
    "AnalyticsStore",
    "ImportResult",
    "Progress",
    "Reject",
    "create_analytics_store",
    "defaults_of",
]
