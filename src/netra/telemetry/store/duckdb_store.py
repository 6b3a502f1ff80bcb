"""The analytics store on one DuckDB file: all datasets in one `requests` table.

One shared connection; each call takes its own cursor in a worker thread, so many runs
query at once (DuckDB readers see consistent snapshots). Writes take a lock: DuckDB
has one writer anyway, and the memory limit they switch is the whole database's.

Re-sent ingestion records are kept out by the datasets service, which claims their
request_ids in the state database (`ingested_requests`) before they reach a store;
`insert_records` still skips ids the dataset already holds, for rows ingested before
those claims existed.

Imports go through `staging`: a CSV is read by DuckDB's own reader in the INSERT … SELECT
that stores it; other formats are parsed in Python and staged in a connection-local
table first. Either way the rows get their cost in that one statement, priced once per
distinct (provider, model, batch, day). Nothing is ever whole in Python memory; DuckDB
spills past its memory limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from netra import cores
from netra.telemetry import import_report, staging, synthetic
from netra.telemetry.import_report import ImportResult, Progress
from netra.telemetry.importers import Staged, choose_importer
from netra.telemetry.pricing import PriceKey
from netra.telemetry.schema import COLUMN_NAMES, COLUMNS, Defaults, defaults_of, sql_literal

_DDL = (
    "CREATE TABLE IF NOT EXISTS requests (dataset_id VARCHAR NOT NULL, "
    + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    + ", cost_usd DOUBLE)"
)
# Columns added since the first release, each with what rows stored before it hold:
# opening an older file adds them in place.
_ADDED_COLUMNS = ("usage_recorded BOOLEAN DEFAULT true",)
_COLUMN_LIST = ", ".join(COLUMN_NAMES)
_DATASET_ROWS = "(SELECT * FROM requests WHERE dataset_id = ?) AS q"
# DuckDB's buffer pool; beyond it, it spills to <file>.tmp. Imports run at 512 MB, which
# keeps a 1 GB import under ~800 MB of process memory; analyses run at 2 GB, because the
# finders' aggregations over 10M rows take twice as long when they spill (measured: 16 s
# at 512 MB, 8 s at 2 GB, no faster at 4 GB). The limit is per database, so it is
# switched while the write lock is held.
QUERY_MEMORY_LIMIT = "2GB"
IMPORT_MEMORY_LIMIT = "512MB"


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


class DuckDBStore:
    name = "duckdb"

    def __init__(
        self,
        path: Path | str,
        *,
        memory_limit: str = QUERY_MEMORY_LIMIT,
        import_memory_limit: str = IMPORT_MEMORY_LIMIT,
    ) -> None:
        self.path = Path(path)
        self.memory_limit = memory_limit
        self.import_memory_limit = import_memory_limit
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._cursor_lock = threading.Lock()
        self._write_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        if self._connection is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # DuckDB starts its threads here; they do not need the GIL: every core will do.
        with cores.every_core():
            connection = duckdb.connect(
                str(self.path),
                config={
                    "memory_limit": self.memory_limit,
                    "temp_directory": f"{self.path}.tmp",
                    # Row order inside the table means nothing, and every query that returns
                    # rows in an order says which: not keeping it lets inserts and scans run
                    # in parallel with less memory. It is a setting of the whole database,
                    # so it is set here, once, not by the first import for every query after.
                    "preserve_insertion_order": False,
                },
            )
        connection.execute(_DDL)
        for column in _ADDED_COLUMNS:
            connection.execute(f"ALTER TABLE requests ADD COLUMN IF NOT EXISTS {column}")
        self._connection = connection

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.to_thread(connection.close)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._cursor_lock:
            if self._connection is None:
                raise RuntimeError("analytics store is not open")
            return self._connection.cursor()

    @contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one write, alone, at the import memory limit."""
        with self._write_lock, self._cursor() as cursor:
            cursor.execute("SET memory_limit = ?", [self.import_memory_limit])
            try:
                yield cursor
            finally:
                cursor.execute("SET memory_limit = ?", [self.memory_limit])

    async def ping(self) -> float:
        def run() -> float:
            start = time.perf_counter()
            with self._cursor() as cursor:
                cursor.execute("SELECT 1").fetchall()
            return (time.perf_counter() - start) * 1000

        return await asyncio.to_thread(run)

    # -- reads ----------------------------------------------------------------------

    async def fetch(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._cursor()
        try:
            return await asyncio.to_thread(self._fetch, cursor, sql, params or [])
        except asyncio.CancelledError:
            # The caller gave up (a `query` past its time limit): stop DuckDB's work too,
            # or it would run on in its thread.
            cursor.interrupt()
            raise

    def _fetch(
        self, cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any]
    ) -> list[dict[str, Any]]:
        with cursor:
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- writes ---------------------------------------------------------------------

    async def import_file(
        self,
        dataset_id: str,
        path: Path,
        fmt: str = "auto",
        *,
        default_provider: str | None = None,
        default_model: str | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        defaults = defaults_of(default_provider, default_model)
        return await asyncio.to_thread(self._import_file, dataset_id, path, fmt, defaults, progress)

    def _import_file(
        self, dataset_id: str, path: Path, fmt: str, defaults: Defaults, progress: Progress | None
    ) -> ImportResult:
        importer = choose_importer(path, fmt)
        with self._writing() as cursor:
            # A file judged in SQL goes straight into the table: what it added is counted
            # there, as the difference it made.
            before = self._stats(cursor, dataset_id) if importer.judge is not None else None
            try:
                staged = staging.import_file(
                    cursor, importer, path, defaults,
                    lambda source, keys: self._insert_priced(cursor, dataset_id, source, keys),
                    progress,
                )  # fmt: skip
            finally:
                staging.drop_stage(cursor)
            if staged.stats is None and before is not None:
                staged.stats = import_report.difference(self._stats(cursor, dataset_id), before)
            return self._result(
                cursor, dataset_id, importer.name, staged, staged.rows, importer.field_notes
            )

    async def insert_records(self, dataset_id: str, records: list[dict[str, Any]]) -> ImportResult:
        return await asyncio.to_thread(self._insert_records, dataset_id, records)

    def _insert_records(self, dataset_id: str, records: list[dict[str, Any]]) -> ImportResult:
        with self._writing() as cursor:
            try:
                staged = staging.stage_records(cursor, records)
                inserted = self._insert_staged(cursor, dataset_id, dedupe=True)
            finally:
                staging.drop_stage(cursor)
            return self._result(cursor, dataset_id, "api", staged, inserted)

    async def generate_demo(
        self,
        dataset_id: str,
        *,
        rows: int = 20000,
        seed: int = 42,
        clean: bool = False,
        end: date | None = None,
    ) -> ImportResult:
        end = end or datetime.now(UTC).date()
        return await asyncio.to_thread(self._generate_demo, dataset_id, rows, seed, clean, end)

    def _generate_demo(
        self, dataset_id: str, rows: int, seed: int, clean: bool, end: date
    ) -> ImportResult:
        source = f"({synthetic.demo_sql(rows, seed, end, clean=clean)})"
        with self._writing() as cursor:
            inserted = self._insert_priced(cursor, dataset_id, source, synthetic.price_keys(end))
            return self._result(cursor, dataset_id, "demo", Staged(rows=inserted), inserted)

    async def delete_dataset(self, dataset_id: str) -> None:
        def run() -> None:
            with self._writing() as cursor:
                cursor.execute("DELETE FROM requests WHERE dataset_id = ?", [dataset_id])

        await asyncio.to_thread(run)

    async def delete_requests(self, dataset_id: str, where: str, params: list[Any]) -> None:

        def run() -> None:
            with self._writing() as cursor:
                cursor.execute(f"DELETE FROM requests WHERE dataset_id = ? AND ({where})",
                               [dataset_id, *params])

        await asyncio.to_thread(run)

    # -- internals ------------------------------------------------------------------

    def _insert_staged(
        self, cursor: duckdb.DuckDBPyConnection, dataset_id: str, *, dedupe: bool = False
    ) -> int:
        source = staging.valid_rows()
        if dedupe:
            # Ids the dataset holds from before the service claimed them in the state
            # database (ingested_requests) are accepted, not re-added.
            source = (
                f"(SELECT * FROM {source} AS s WHERE s.request_id IS NULL OR NOT EXISTS ("
                "SELECT 1 FROM requests AS e WHERE e.dataset_id = "
                f"{sql_literal(dataset_id)} AND e.request_id = s.request_id))"
            )
        return self._insert_priced(cursor, dataset_id, source)

    def _insert_priced(
        self,
        cursor: duckdb.DuckDBPyConnection,
        dataset_id: str,
        source: str,
        keys: Iterable[PriceKey] | None = None,
    ) -> int:
        """INSERT the rows of `source` with their cost, priced once per distinct key."""
        select, params = staging.priced_select(cursor, source, keys)
        cursor.begin()
        try:
            result = cursor.execute(
                f"INSERT INTO requests (dataset_id, {_COLUMN_LIST}, cost_usd) "
                f"SELECT ?, * FROM ({select})",
                [dataset_id, *params],
            ).fetchone()
            cursor.commit()
        except BaseException:
            cursor.rollback()
            raise
        return int(result[0]) if result else 0

    def _stats(self, cursor: duckdb.DuckDBPyConnection, dataset_id: str) -> dict[str, int]:
        return staging.stats(cursor, _DATASET_ROWS, [dataset_id])

    def _result(
        self,
        cursor: duckdb.DuckDBPyConnection,
        dataset_id: str,
        fmt: str,
        staged: Staged,
        inserted: int,
        field_notes: Mapping[str, str] | None = None,
    ) -> ImportResult:
        stats = cursor.execute(
            "SELECT count(*), min(ts), max(ts), coalesce(sum(cost_usd), 0)::DOUBLE, "
            "count(source_cost_usd), sum(source_cost_usd)::DOUBLE "
            "FROM requests WHERE dataset_id = ?",
            [dataset_id],
        ).fetchone()
        assert stats is not None
        unpriced = cursor.execute(import_report.UNPRICED, [dataset_id]).fetchall()
        report = import_report.build(staged.stats, staged.notes, field_notes, unpriced)
        return ImportResult(
            format=fmt,
            rows=staged.rows,
            rejected_rows=staged.rejected,
            rejects=staged.rejects,
            first_ts=_utc(stats[1]),
            last_ts=_utc(stats[2]),
            total_cost_usd=float(stats[3]),
            unpriced_models=sorted({row[1] for row in unpriced}),
            dataset_rows=int(stats[0]),
            inserted_rows=inserted,
            source_cost_usd=float(stats[5]) if stats[4] else None,
            report=report,
        )
