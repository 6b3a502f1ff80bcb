"""The analytics store on one DuckDB file: all datasets in one `requests` table.

One shared connection; each call takes its own cursor in a worker thread, so many runs
query at once (DuckDB readers see consistent snapshots). Writes take a lock: DuckDB
has one writer anyway, and it makes request_id de-duplication race-free.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from netra.telemetry import pricing, schema, synthetic
from netra.telemetry.importers import Parsed, choose_importer
from netra.telemetry.schema import COLUMN_NAMES, COLUMNS, Defaults, RecordError, Row
from netra.telemetry.store import MAX_REJECTS, ImportResult, Reject

BATCH_ROWS = 50_000
_ARROW = {
    "TIMESTAMP": pa.timestamp("us"),
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}
_ARROW_SCHEMA = pa.schema([(name, _ARROW[kind]) for name, kind in COLUMNS])
_DDL = (
    "CREATE TABLE IF NOT EXISTS requests (dataset_id VARCHAR NOT NULL, "
    + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    + ", cost_usd DOUBLE)"
)
_COLUMN_LIST = ", ".join(COLUMN_NAMES)
_TS, _PROVIDER, _MODEL, _BATCH, _REQUEST_ID = (
    COLUMN_NAMES.index(name) for name in ("ts", "provider", "model", "batch", "request_id")
)


class _Tally:
    """Counts of one import and its first rejections."""

    def __init__(self) -> None:
        self.rows = 0
        self.rejected = 0
        self.rejects: list[Reject] = []

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_REJECTS:
            self.rejects.append(Reject(line, reason))

    def keep(self, parsed: Iterable[Parsed]) -> list[Row]:
        rows = []
        for line, outcome in parsed:
            if isinstance(outcome, str):
                self.reject(line, outcome)
            else:
                rows.append(outcome)
        self.rows += len(rows)
        return rows


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


class DuckDBStore:
    name = "duckdb"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
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
        connection = duckdb.connect(str(self.path))
        connection.execute(_DDL)
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

    async def ping(self) -> float:
        def run() -> float:
            start = time.perf_counter()
            with self._cursor() as cursor:
                cursor.execute("SELECT 1").fetchall()
            return (time.perf_counter() - start) * 1000

        return await asyncio.to_thread(run)

    # -- reads ----------------------------------------------------------------------

    async def fetch(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._fetch, sql, params or [])

    def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self._cursor() as cursor:
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
    ) -> ImportResult:
        defaults = Defaults(
            default_provider.strip().lower() if default_provider else None,
            default_model.strip() if default_model else None,
        )
        return await asyncio.to_thread(self._import_file, dataset_id, path, fmt, defaults)

    def _import_file(
        self, dataset_id: str, path: Path, fmt: str, defaults: Defaults
    ) -> ImportResult:
        importer = choose_importer(path, fmt)
        tally = _Tally()
        parsed = importer.read(path, defaults)
        with self._write_lock, self._cursor() as cursor:
            cursor.begin()
            try:
                inserted = 0
                while chunk := list(islice(parsed, BATCH_ROWS)):
                    inserted += self._insert_rows(cursor, dataset_id, tally.keep(chunk))
                cursor.commit()
            except BaseException:
                cursor.rollback()
                raise
            return self._result(cursor, dataset_id, importer.name, tally, inserted)

    async def insert_records(self, dataset_id: str, records: list[dict[str, Any]]) -> ImportResult:
        return await asyncio.to_thread(self._insert_records, dataset_id, records)

    def _insert_records(self, dataset_id: str, records: list[dict[str, Any]]) -> ImportResult:
        tally = _Tally()
        rows = tally.keep(_validate(records))
        with self._write_lock, self._cursor() as cursor:
            cursor.begin()
            try:
                inserted = self._insert_rows(cursor, dataset_id, _first_of_each(rows), dedupe=True)
                cursor.commit()
            except BaseException:
                cursor.rollback()
                raise
            return self._result(cursor, dataset_id, "api", tally, inserted)

    async def generate_demo(
        self, dataset_id: str, *, rows: int = 20000, seed: int = 42, end: date | None = None
    ) -> ImportResult:
        end = end or datetime.now(UTC).date()
        return await asyncio.to_thread(self._generate_demo, dataset_id, rows, seed, end)

    def _generate_demo(self, dataset_id: str, rows: int, seed: int, end: date) -> ImportResult:
        source = f"({synthetic.demo_sql(rows, seed, end)})"
        with self._write_lock, self._cursor() as cursor:
            inserted = self._insert_priced(cursor, dataset_id, source, synthetic.price_keys(end))
            tally = _Tally()
            tally.rows = inserted
            return self._result(cursor, dataset_id, "demo", tally, inserted)

    async def delete_dataset(self, dataset_id: str) -> None:
        def run() -> None:
            with self._write_lock, self._cursor() as cursor:
                cursor.execute("DELETE FROM requests WHERE dataset_id = ?", [dataset_id])

        await asyncio.to_thread(run)

    # -- internals ------------------------------------------------------------------

    def _insert_rows(
        self,
        cursor: duckdb.DuckDBPyConnection,
        dataset_id: str,
        rows: list[Row],
        *,
        dedupe: bool = False,
    ) -> int:
        if not rows:
            return 0
        columns = list(zip(*rows, strict=True))
        table = pa.Table.from_arrays(
            [
                pa.array(values, type=f.type)
                for values, f in zip(columns, _ARROW_SCHEMA, strict=True)
            ],
            schema=_ARROW_SCHEMA,
        )
        keys = {(r[_PROVIDER], r[_MODEL], r[_BATCH], r[_TS].date()) for r in rows}
        cursor.register("incoming", table)
        try:
            where = ""
            params: list[Any] = []
            if dedupe:
                # Re-sent records (same request_id in this dataset) are accepted, not re-added.
                where = (
                    "WHERE q.request_id IS NULL OR q.request_id NOT IN (SELECT request_id "
                    "FROM requests WHERE dataset_id = ? AND request_id IS NOT NULL)"
                )
                params = [dataset_id]
            return self._insert_priced(cursor, dataset_id, "incoming", keys, where, params)
        finally:
            cursor.unregister("incoming")

    def _insert_priced(
        self,
        cursor: duckdb.DuckDBPyConnection,
        dataset_id: str,
        source: str,
        keys: set[pricing.PriceKey],
        where: str = "",
        where_params: list[Any] | None = None,
    ) -> int:
        """INSERT the rows of `source` with their cost, priced once per distinct key."""
        rows, _ = pricing.rate_rows(keys)
        rates, rate_params = pricing.rates_sql(rows)
        selected = ", ".join(f"q.{name}" for name in COLUMN_NAMES)
        sql = (
            f"INSERT INTO requests (dataset_id, {_COLUMN_LIST}, cost_usd) "
            f"SELECT ?, {selected}, {pricing.cost_sql('q', 'r')} FROM {source} AS q "
            f"LEFT JOIN {rates} AS r ON {pricing.rate_join('q', 'r')} {where}"
        )
        result = cursor.execute(sql, [dataset_id, *rate_params, *(where_params or [])]).fetchone()
        return int(result[0]) if result else 0

    def _result(
        self,
        cursor: duckdb.DuckDBPyConnection,
        dataset_id: str,
        fmt: str,
        tally: _Tally,
        inserted: int,
    ) -> ImportResult:
        stats = cursor.execute(
            "SELECT count(*), min(ts), max(ts), coalesce(sum(cost_usd), 0)::DOUBLE "
            "FROM requests WHERE dataset_id = ?",
            [dataset_id],
        ).fetchone()
        assert stats is not None
        unpriced = cursor.execute(
            "SELECT DISTINCT model FROM requests WHERE dataset_id = ? AND cost_usd IS NULL "
            "ORDER BY model",
            [dataset_id],
        ).fetchall()
        return ImportResult(
            format=fmt,
            rows=tally.rows,
            rejected_rows=tally.rejected,
            rejects=tally.rejects,
            first_ts=_utc(stats[1]),
            last_ts=_utc(stats[2]),
            total_cost_usd=float(stats[3]),
            unpriced_models=[row[0] for row in unpriced],
            dataset_rows=int(stats[0]),
            inserted_rows=inserted,
        )


def _validate(records: list[dict[str, Any]]) -> Iterator[Parsed]:
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            yield index, f"expected a JSON object, got {type(record).__name__}"
            continue
        try:
            yield index, schema.parse_record(record)
        except RecordError as error:
            yield index, str(error)


def _first_of_each(rows: list[Row]) -> list[Row]:
    """Drop repeats of a request_id within one call (the first one wins)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        request_id = row[_REQUEST_ID]
        if request_id is not None:
            if request_id in seen:
                continue
            seen.add(request_id)
        kept.append(row)
    return kept
