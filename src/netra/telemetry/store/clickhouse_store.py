"""The analytics store on ClickHouse: a server or cluster through clickhouse-connect, or
the same engine in-process through chdb (tests, and one machine without a server).

Both speak the same ClickHouse SQL through a four-method `Executor`, so everything the
store sends is exercised on chdb by the tests.

Reads: the analyses are written once, in DuckDB SQL. `fetch` transpiles a statement to
ClickHouse with sqlglot (cached per statement text): columns are resolved as DuckDB
resolves them (`qualify`), then a few rewrites keep the numbers DuckDB's (exact
quantiles, rounding half away from zero, microsecond timestamps, NULL from lag/lead past
the partition, intervals, …), and session settings give NULL for aggregates of no rows
and unmatched LEFT JOIN columns. Each `?` is bound as a ClickHouse literal.

Writes: parsing, validation and pricing stay with the importers and `staging`, which run
in a scratch in-process DuckDB of each call's own; the priced rows stream out of it as
Arrow batches. Re-sent ingestion records are kept out by the datasets service, which
claims their request_ids in the state database (`ingested_requests`, shared by every
process) before they reach a store; `insert_records` still skips ids the dataset
already holds, for rows ingested before those claims existed.

This module is the store; its parts have modules of their own, whose public names it
hands on: where the rows live and how ClickHouse is reached (`_clickhouse_client`: the
URL, the table's DDL, literals, the executors), DuckDB SQL on ClickHouse
(`_clickhouse_sql`), and the rewrites that keep the numbers DuckDB's
(`_clickhouse_rewrites`).
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from netra.telemetry import import_report, staging, synthetic
from netra.telemetry.import_report import ImportResult, Progress
from netra.telemetry.importers import Staged, choose_importer
from netra.telemetry.importers._base import STAGE_TABLE
from netra.telemetry.pricing import PriceKey
from netra.telemetry.schema import Defaults, defaults_of
from netra.telemetry.store._clickhouse_client import (
    CLUSTER_SETTINGS,
    SESSION_SETTINGS,
    TABLE,
    TABLE_COLUMNS,
    ChdbExecutor,
    Executor,
    ServerExecutor,
    Target,
    added_columns_ddl,
    arrow_stream,
    connect,
    delete_sql,
    literal,
    parse_url,
    table_ddl,
)
from netra.telemetry.store._clickhouse_sql import Statement, UnsupportedSQL, rows_of, translate

# Rows per Arrow batch leaving the scratch DuckDB: only a batch at a time is in this
# process's memory (a server gets one streamed INSERT per import, chdb one per batch).
BATCH_ROWS = 50_000
# Request ids per lookup when checking which re-sent records a dataset already holds.
LOOKUP_IDS = 1_000
STAGING_MEMORY_LIMIT = "512MB"


@contextmanager
def _scratch(memory_limit: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB for staging and pricing; past its limit it spills to a
    temporary directory, so a large file is never whole in memory."""
    with tempfile.TemporaryDirectory(prefix="netra-stage-") as spill:
        connection = duckdb.connect(
            ":memory:", config={"memory_limit": memory_limit, "temp_directory": spill}
        )
        try:
            yield connection
        finally:
            connection.close()


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


class ClickHouseStore:
    name = "clickhouse"

    def __init__(self, url: str, *, staging_memory_limit: str = STAGING_MEMORY_LIMIT) -> None:
        self.target = parse_url(url)
        self.staging_memory_limit = staging_memory_limit
        self._executor: Executor | None = None
        self._open_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        with self._open_lock:
            if self._executor is not None:
                return
            executor = connect(self.target)
            try:
                for statement in table_ddl(self.target):
                    executor.execute(statement)
                columns = executor.query(
                    "SELECT name FROM system.columns WHERE database = currentDatabase() "
                    f"AND table = {literal(TABLE)}"
                ).column("name").to_pylist()
                for statement in added_columns_ddl(self.target, columns):
                    executor.execute(statement)
            except BaseException:
                executor.close()
                raise
            self._executor = executor

    async def close(self) -> None:
        with self._open_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.close)

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            raise RuntimeError("analytics store is not open")
        return self._executor

    async def ping(self) -> float:
        def run() -> float:
            start = time.perf_counter()
            self.executor.query("SELECT 1")
            return (time.perf_counter() - start) * 1000

        return await asyncio.to_thread(run)

    # -- reads ----------------------------------------------------------------------

    async def fetch(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._fetch, sql, params or [])

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        return rows_of(self.executor.query(translate(sql).bind(params)))

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
        # A file judged in SQL streams straight into the table: what it added is counted
        # there, as the difference it made.
        before = self._stats(dataset_id) if importer.judge is not None else None
        with _scratch(self.staging_memory_limit) as scratch:
            staged = staging.import_file(
                scratch, importer, path, defaults,
                lambda source, keys: self._insert_priced(scratch, dataset_id, source, keys),
                progress,
            )  # fmt: skip
        if staged.stats is None and before is not None:
            staged.stats = import_report.difference(self._stats(dataset_id), before)
        return self._result(dataset_id, importer.name, staged, staged.rows, importer.field_notes)

    async def insert_records(self, dataset_id: str, records: list[dict[str, Any]]) -> ImportResult:
        return await asyncio.to_thread(self._insert_records, dataset_id, records)

    def _insert_records(self, dataset_id: str, records: list[dict[str, Any]]) -> ImportResult:
        with _scratch(self.staging_memory_limit) as scratch:
            staged = staging.stage_records(scratch, records)
            self._drop_known(scratch, dataset_id)
            inserted = self._insert_priced(scratch, dataset_id, staging.valid_rows())
        return self._result(dataset_id, "api", staged, inserted)

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
        with _scratch(self.staging_memory_limit) as scratch:
            inserted = self._insert_priced(scratch, dataset_id, source, synthetic.price_keys(end))
        return self._result(dataset_id, "demo", Staged(rows=inserted), inserted)

    async def delete_dataset(self, dataset_id: str) -> None:
        def run() -> None:
            self.executor.execute(delete_sql(self.target, dataset_id))

        await asyncio.to_thread(run)

    async def delete_requests(self, dataset_id: str, where: str, params: list[Any]) -> None:
        # The conditions translated and bound as a query's are; the statement itself is
        # delete_sql's (the local table, on every node of a cluster).
        translated = translate(f"DELETE FROM {TABLE} WHERE dataset_id = ? AND ({where})")
        bound = translated.bind([dataset_id, *params])
        head = f"DELETE FROM {TABLE} WHERE "
        if not bound.startswith(head):
            raise UnsupportedSQL(f"cannot delete with these conditions: {translated.sql}")
        condition = bound.removeprefix(head)

        def run() -> None:
            self.executor.execute(delete_sql(self.target, dataset_id, condition))

        await asyncio.to_thread(run)

    # -- internals ------------------------------------------------------------------

    def _drop_known(self, scratch: duckdb.DuckDBPyConnection, dataset_id: str) -> None:
        """Drop staged records whose request_id the dataset already holds: ids ingested
        before the service claimed them in the state database are accepted, not added
        again."""
        incoming = [
            row[0]
            for row in scratch.execute(
                f"SELECT DISTINCT request_id FROM {STAGE_TABLE} "
                "WHERE reason IS NULL AND request_id IS NOT NULL"
            ).fetchall()
        ]
        known: list[str] = []
        for start in range(0, len(incoming), LOOKUP_IDS):
            chunk = incoming[start : start + LOOKUP_IDS]
            table = self.executor.query(
                f"SELECT DISTINCT request_id FROM {TABLE} WHERE dataset_id = "
                f"{literal(dataset_id)} AND request_id IN ({', '.join(map(literal, chunk))})"
            )
            known += table.column("request_id").to_pylist()
        if known:
            scratch.register("netra_known", pa.table({"request_id": pa.array(known, pa.string())}))
            try:
                scratch.execute(
                    f"DELETE FROM {STAGE_TABLE} WHERE request_id IN "
                    "(SELECT request_id FROM netra_known)"
                )
            finally:
                scratch.unregister("netra_known")

    def _insert_priced(
        self,
        scratch: duckdb.DuckDBPyConnection,
        dataset_id: str,
        source: str,
        keys: Iterable[PriceKey] | None = None,
    ) -> int:
        """Price `source` in the scratch DuckDB and stream it into ClickHouse."""
        select, params = staging.priced_select(scratch, source, keys)
        # a relation streams Arrow batches without first copying every row
        relation = scratch.sql(
            f"SELECT ?::VARCHAR AS dataset_id, * FROM ({select})", params=[dataset_id, *params]
        )
        return self.executor.insert(TABLE, relation.to_arrow_reader(BATCH_ROWS))

    def _stats(self, dataset_id: str) -> dict[str, int]:
        [row] = self._fetch(
            import_report.stats_sql("(SELECT * FROM requests WHERE dataset_id = ?) AS q"),
            [dataset_id],
        )
        return {name: int(value or 0) for name, value in row.items()}

    def _result(
        self,
        dataset_id: str,
        fmt: str,
        staged: Staged,
        inserted: int,
        field_notes: Mapping[str, str] | None = None,
    ) -> ImportResult:
        [stats] = self._fetch(
            "SELECT count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts, "
            "coalesce(sum(cost_usd), 0)::DOUBLE AS cost, count(source_cost_usd) AS sourced, "
            "sum(source_cost_usd)::DOUBLE AS source_cost FROM requests WHERE dataset_id = ?",
            [dataset_id],
        )
        unpriced = [
            (row["provider"], row["model"], row["last_ts"])
            for row in self._fetch(import_report.UNPRICED, [dataset_id])
        ]
        report = import_report.build(staged.stats, staged.notes, field_notes, unpriced)
        return ImportResult(
            format=fmt,
            rows=staged.rows,
            rejected_rows=staged.rejected,
            rejects=staged.rejects,
            first_ts=_utc(stats["first_ts"]),
            last_ts=_utc(stats["last_ts"]),
            total_cost_usd=float(stats["cost"]),
            unpriced_models=sorted({model for _, model, _ in unpriced}),
            dataset_rows=int(stats["n"]),
            inserted_rows=inserted,
            source_cost_usd=float(stats["source_cost"]) if stats["sourced"] else None,
            report=report,
        )


__all__ = [
    "CLUSTER_SETTINGS",
    "SESSION_SETTINGS",
    "TABLE",
    "TABLE_COLUMNS",
    "ChdbExecutor",
    "ClickHouseStore",
    "Executor",
    "ServerExecutor",
    "Statement",
    "Target",
    "UnsupportedSQL",
    "added_columns_ddl",
    "arrow_stream",
    "connect",
    "delete_sql",
    "literal",
    "parse_url",
    "rows_of",
    "table_ddl",
    "translate",
]
