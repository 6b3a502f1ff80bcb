"""From a file or a list of records to priced rows, in a DuckDB connection.

Both stores use this. Rows come as a judged relation (importers/_base.py): a CSV read
by DuckDB's reader in the very query that inserts it, or rows parsed in Python and
staged in the connection-local table STAGE_TABLE. They are priced once per distinct
(provider, model, batch, day) by one join against a small rate table, as one SELECT.
The DuckDB store inserts from that SELECT in place; the ClickHouse store streams it out
in Arrow batches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from netra.telemetry import import_report, pricing, schema
from netra.telemetry.import_report import Progress
from netra.telemetry.importers import Importer, Note, Parsed, Staged
from netra.telemetry.importers._base import STAGE_TABLE
from netra.telemetry.schema import COLUMN_NAMES, COLUMNS, Defaults, RecordError, Row

BATCH_ROWS = 50_000
_ARROW = {
    "TIMESTAMP": pa.timestamp("us"),
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}
ARROW_SCHEMA = pa.schema([(name, _ARROW[kind]) for name, kind in COLUMNS])
_STAGE_DDL = (
    f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} ("
    + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    + ", reason VARCHAR)"
)
_REQUEST_ID = COLUMN_NAMES.index("request_id")


# (the valid rows as a FROM-able relation, their price keys) -> rows inserted
Insert = Callable[[str, list[pricing.PriceKey]], int]


def import_file(
    cursor: duckdb.DuckDBPyConnection,
    importer: Importer,
    path: Path,
    defaults: Defaults,
    insert: Insert,
    progress: Progress | None = None,
) -> Staged:
    """Read a file with its importer and `insert` its valid rows; what it rejected.

    A file judged in SQL is read by the insert itself; rows parsed in Python are staged
    in STAGE_TABLE first (the caller drops it).
    """
    if importer.judge is not None:
        with _query_progress(cursor, progress) as span:
            judged = importer.judge(cursor, path, defaults)
            span(0.25, 0.95)  # the insert reads the whole file again, and writes it
            inserted = insert(valid_rows(judged.relation), judged.keys)
            span(0.95, 0.99)
            staged = judged.settle(inserted)
    else:
        assert importer.read is not None
        with path.open("rb") as file:
            size = max(path.stat().st_size, 1)

            def report() -> None:
                if progress is not None:
                    progress(min(file.tell() / size * 0.95, 0.95))

            staged = stage_parsed(cursor, importer.read(file, defaults), report)
        staged.stats = stats(cursor)
        insert(valid_rows(), price_keys(cursor, valid_rows()))
    if progress is not None:
        progress(1.0)
    return staged


@contextmanager
def _query_progress(
    cursor: duckdb.DuckDBPyConnection, progress: Progress | None
) -> Iterator[Callable[[float, float], None]]:
    """Report DuckDB's own progress of the statements run meanwhile, from a thread.

    Yields `span(begin, end)`: the share of the whole that the statements from now on
    stand for (the first ones start at 0 to 0.25).
    """
    bounds = [0.0, 0.25]

    def span(begin: float, end: float) -> None:
        bounds[:] = [begin, end]

    if progress is None:
        yield span
        return
    cursor.execute("SET enable_progress_bar = true")
    cursor.execute("SET enable_progress_bar_print = false")
    cursor.execute("SET progress_bar_time = 0")
    done = threading.Event()

    def poll() -> None:
        best = 0.0
        while not done.wait(0.2):
            begin, end = bounds  # before the share: a share never outruns its span
            share = cursor.query_progress()  # -1 between statements
            if share >= 0 and (now := begin + (end - begin) * min(share, 100) / 100) > best:
                best = now
                progress(now)

    thread = threading.Thread(target=poll, name="netra-import-progress", daemon=True)
    thread.start()
    try:
        yield span
    finally:
        done.set()
        thread.join()
        cursor.execute("SET enable_progress_bar = false")


def stage_parsed(
    cursor: duckdb.DuckDBPyConnection,
    parsed: Iterable[Parsed],
    after_batch: Callable[[], None] | None = None,
) -> Staged:
    """Stage rows validated in Python, in Arrow batches; rejections are tallied."""
    cursor.execute(_STAGE_DDL)
    staged = Staged()
    iterator = iter(parsed)
    while chunk := list(islice(iterator, BATCH_ROWS)):
        rows = []
        for line, outcome in chunk:
            if isinstance(outcome, str):
                staged.reject(line, outcome)
            elif isinstance(outcome, Note):
                staged.note(outcome)
            else:
                rows.append(outcome)
        staged.rows += len(rows)
        append_rows(cursor, rows)
        if after_batch is not None:
            after_batch()
    return staged


def stage_records(cursor: duckdb.DuckDBPyConnection, records: list[Any]) -> Staged:
    """Stage records sent to the ingestion API; a request_id repeated in the call counts once.

    A reject's `line` is the 0-based index of the record in the call.
    """
    staged = stage_parsed(cursor, [])
    rows: list[Row] = []
    seen: set[str] = set()
    for index, outcome in _validate(records):
        if isinstance(outcome, str):
            staged.reject(index, outcome)
            continue
        assert not isinstance(outcome, Note)  # the record rules give rows or reasons
        staged.rows += 1
        request_id = outcome[_REQUEST_ID]
        if request_id is not None:
            if request_id in seen:
                continue
            seen.add(request_id)
        rows.append(outcome)
    append_rows(cursor, rows)
    staged.stats = stats(cursor)
    return staged


def stats(
    cursor: duckdb.DuckDBPyConnection, relation: str | None = None, params: list[Any] | None = None
) -> dict[str, int]:
    """import_report's counts over `relation` (default: the staged valid rows)."""
    cursor.execute(import_report.stats_sql(relation or valid_rows()), params or [])
    names = [column[0] for column in cursor.description or []]
    row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, map(int, row), strict=True))


def append_rows(cursor: duckdb.DuckDBPyConnection, rows: list[Row]) -> None:
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    table = pa.Table.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns, ARROW_SCHEMA, strict=True)],
        schema=ARROW_SCHEMA,
    )
    cursor.register("netra_incoming", table)
    try:
        cursor.execute(f"INSERT INTO {STAGE_TABLE} SELECT *, NULL FROM netra_incoming")
    finally:
        cursor.unregister("netra_incoming")


def _validate(records: list[Any]) -> Iterator[Parsed]:
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            yield index, f"expected a JSON object, got {type(record).__name__}"
            continue
        try:
            yield index, schema.parse_record(record)
        except RecordError as error:
            yield index, str(error)


def valid_rows(source: str = STAGE_TABLE) -> str:
    """A FROM-able relation of the staged valid rows, in COLUMNS order."""
    return f"(SELECT {', '.join(COLUMN_NAMES)} FROM {source} WHERE reason IS NULL)"


def priced_select(
    cursor: duckdb.DuckDBPyConnection,
    source: str | None = None,
    keys: Iterable[pricing.PriceKey] | None = None,
    carry: tuple[str, ...] = (),
) -> tuple[str, list[Any]]:
    """SELECT of `source` (default: the staged valid rows) with its `cost_usd`, and params.

    Prices are looked up once per distinct (provider, model, batch, day) of the rows.
    A caller that knows those keys already (the demo generator) passes them, which
    saves computing `source` twice. `carry`: columns of `source` to keep beside the
    record's (the join does not keep the rows' order: an ordinal can).
    """
    relation = source or valid_rows()
    rows, _ = pricing.rate_rows(price_keys(cursor, relation) if keys is None else keys)
    return priced_select_for(relation, rows, carry)


def price_keys(cursor: duckdb.DuckDBPyConnection, relation: str) -> list[pricing.PriceKey]:
    """The distinct (provider, model, batch, day) of the rows of `relation`."""
    found = cursor.execute(
        f"SELECT DISTINCT provider, model, batch, ts::DATE FROM {relation} AS q"
    ).fetchall()
    return [(p, m, bool(b), d) for p, m, b, d in found]


def priced_select_for(
    relation: str, rows: list[pricing.RateRow], carry: tuple[str, ...] = ()
) -> tuple[str, list[Any]]:
    """`relation` with the cost of each row: NULL when the catalogue cannot price it or its
    usage is unknown; a call of no tokens (a failed call without usage) costs $0 at any
    price. The `carry` columns of `relation` come last, after `cost_usd`."""
    rates, params = pricing.rates_sql(rows)
    selected = ", ".join(f"q.{name}" for name in COLUMN_NAMES)
    carried = "".join(f", q.{name}" for name in carry)
    cost = (
        "CASE WHEN q.input_tokens = 0 AND q.output_tokens = 0 THEN 0.0 "
        f"ELSE {pricing.cost_sql('q', 'r')} END"
    )
    sql = (
        f"SELECT {selected}, {cost} AS cost_usd{carried} FROM {relation} AS q "
        f"LEFT JOIN {rates} AS r ON {pricing.rate_join('q', 'r')}"
    )
    return sql, params


def drop_stage(cursor: duckdb.DuckDBPyConnection) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")


__all__ = [
    "ARROW_SCHEMA",
    "Defaults",
    "Insert",
    "append_rows",
    "drop_stage",
    "import_file",
    "price_keys",
    "priced_select",
    "priced_select_for",
    "stage_parsed",
    "stats",
    "stage_records",
    "valid_rows",
]
