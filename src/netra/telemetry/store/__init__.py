"""The analytics store: where request records live, keyed by dataset id.

One Protocol, one module per engine: DuckDB (embedded, the default) and ClickHouse
(when NETRA_ANALYTICS_URL is set). Every method is async and does its blocking work off
the event loop. What an import answers (`ImportResult`, `Reject`, `Progress`) is defined
in `import_report`, below the importers and the staging that build it, and handed on here
as part of this interface.
"""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast

from netra.settings import Settings
from netra.telemetry.import_report import MAX_REJECTS, ImportResult, Progress, Reject


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

    async def delete_requests(self, dataset_id: str, where: str, params: list[Any]) -> None:
        """Remove the dataset's requests that meet `where` (conditions on the requests
        table with `?` parameters, as `fetch` takes them)."""
        ...

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
]
