"""The analytics store on ClickHouse: a server or cluster through clickhouse-connect, or
the same engine in-process through chdb (tests, and one machine without a server).

Both speak the same ClickHouse SQL through a four-method `Executor`, so everything the
store sends is exercised on chdb by the tests.

Reads: the analyses are written once, in DuckDB SQL. `fetch` transpiles a statement to
ClickHouse with sqlglot (cached per statement text): columns are resolved as DuckDB
resolves them (`qualify`), then a few rewrites keep the numbers DuckDB's (exact
quantiles, rounding half away from zero, microsecond timestamps, NULL from lag/lead past
the partition, intervals, …), and session settings give NULL for aggregates of no rows
and unmatched LEFT JOIN columns. Each `?` is bound as a ClickHouse literal quoted here.

Writes: parsing, validation and pricing stay with the importers and `staging`, which run
in a scratch in-process DuckDB of each call's own; the priced rows stream out of it as
Arrow batches. Re-sent ingestion records are kept out by the datasets service, which
claims their request_ids in the state database (`ingested_requests`, shared by every
process) before they reach a store; `insert_records` still skips ids the dataset
already holds, for rows ingested before those claims existed.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import math
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb
import pyarrow as pa

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.tokenizer_core import TokenType
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "NETRA_ANALYTICS_URL needs the ClickHouse extras: pip install 'netra-apex[clickhouse]' "
        "(server) or 'netra-apex[chdb]' (embedded)"
    ) from error

from netra.telemetry import import_report, staging, synthetic
from netra.telemetry.importers import Staged, choose_importer
from netra.telemetry.importers._base import STAGE_TABLE
from netra.telemetry.pricing import PriceKey
from netra.telemetry.schema import COLUMNS, Defaults
from netra.telemetry.store import ImportResult, Progress, defaults_of
from netra.telemetry.store.interpolation import interpolated

TABLE = "requests"
# Rows per Arrow batch leaving the scratch DuckDB: only a batch at a time is in this
# process's memory (a server gets one streamed INSERT per import, chdb one per batch).
BATCH_ROWS = 50_000
# Request ids per lookup when checking which re-sent records a dataset already holds.
LOOKUP_IDS = 1_000
STAGING_MEMORY_LIMIT = "512MB"

# Applied to every query, on chdb and on servers, so ClickHouse answers as DuckDB does:
# NULL (not 0 or 1970-01-01) for aggregates of no rows and for unmatched LEFT JOIN
# columns; naive timestamps are UTC; long rate tables fit in one statement.
SESSION_SETTINGS: dict[str, str | int] = {
    "session_timezone": "UTC",
    "join_use_nulls": 1,
    "aggregate_functions_null_for_empty": 1,
    "output_format_arrow_string_as_string": 1,
    "max_query_size": 16 * 1024 * 1024,
}
# Only for a cluster: an INSERT into the Distributed table returns once the shards have it,
# so a summary right after an import sees every row.
CLUSTER_SETTINGS: dict[str, str | int] = {"distributed_foreground_insert": 1}

_TYPES = {
    "TIMESTAMP": "DateTime64(6, 'UTC')",
    "VARCHAR": "String",
    "BIGINT": "Int64",
    "DOUBLE": "Float64",
    "BOOLEAN": "Bool",
}
# Few distinct values: dictionary-encoded, which ClickHouse filters and groups fast.
_LOW_CARDINALITY = frozenset({"provider", "model", "status", "feature", "error_type"})


def _column_type(name: str, kind: str) -> str:
    if name == "ts":  # part of the sorting key, so it cannot be Nullable
        return _TYPES[kind]
    nullable = f"Nullable({_TYPES[kind]})"
    return f"LowCardinality({nullable})" if name in _LOW_CARDINALITY else nullable


# The record's COLUMNS, with dataset_id before and cost_usd after, as in the DuckDB store.
TABLE_COLUMNS = (
    "dataset_id String, "
    + ", ".join(f"{name} {_column_type(name, kind)}" for name, kind in COLUMNS)
    + ", cost_usd Nullable(Float64)"
)
# Columns added since the first release, with what rows stored before them read as: a
# table made before gets them when the store opens (`added_columns_ddl`).
ADDED_COLUMNS = {"usage_recorded": "Nullable(Bool) DEFAULT true"}


# -- where the data lives ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A parsed NETRA_ANALYTICS_URL."""

    engine: str  # "chdb" (in-process) or "server" (clickhouse-connect over HTTP)
    path: str = ":memory:"  # chdb: the database directory
    host: str = "localhost"
    port: int = 8123
    username: str = "default"
    password: str = field(default="", repr=False)
    database: str = "default"
    secure: bool = False
    cluster: str | None = None  # ON CLUSTER: Replicated tables behind a Distributed one

    @property
    def local_table(self) -> str:
        """The table that holds rows on each node (what DELETE must target)."""
        return f"{TABLE}_local" if self.cluster else TABLE


_URL_HELP = (
    "expected clickhouse://user:password@host:8123/database (clickhouses:// for TLS, "
    "optional ?cluster=NAME) or chdb:///path/to/dir (chdb:// alone: in memory)"
)


def parse_url(url: str) -> Target:
    """The target of a NETRA_ANALYTICS_URL; ValueError naming what is wrong."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "chdb":
        path = unquote(rest.split("?", 1)[0])
        return Target("chdb", path=path or ":memory:")
    if scheme not in ("clickhouse", "clickhouses", "http", "https"):
        raise ValueError(f"NETRA_ANALYTICS_URL: unsupported scheme {scheme!r}; {_URL_HELP}")
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"secure", "cluster"}
    if unknown:
        raise ValueError(f"NETRA_ANALYTICS_URL: unknown option(s) {sorted(unknown)}; {_URL_HELP}")
    secure = scheme in ("clickhouses", "https") or query.get("secure", "").lower() in (
        "1",
        "true",
        "yes",
    )
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError:
        raise ValueError(f"NETRA_ANALYTICS_URL: bad port; {_URL_HELP}") from None
    if not parts.hostname:
        raise ValueError(f"NETRA_ANALYTICS_URL: no host; {_URL_HELP}")
    database = unquote(parts.path.strip("/")) or "default"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise ValueError(f"NETRA_ANALYTICS_URL: database {database!r} is not a plain name")
    cluster = query.get("cluster") or None
    if cluster is not None and not re.fullmatch(r"[A-Za-z0-9_.\-{}]+", cluster):
        raise ValueError(f"NETRA_ANALYTICS_URL: cluster {cluster!r} is not a plain name")
    return Target(
        "server",
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=database,
        secure=secure,
        cluster=cluster,
    )


def table_ddl(target: Target) -> list[str]:
    """CREATE statements for the requests table on this target (idempotent).

    One node: a MergeTree sorted by (dataset_id, ts), so a dataset's rows are one range.
    A cluster: a ReplicatedMergeTree on every node (the server's default replica path
    and macros) and a Distributed table in front, sharded at random so a big dataset's
    queries run on every shard.
    """
    order = "ORDER BY (dataset_id, ts)"
    if target.cluster is None:
        return [f"CREATE TABLE IF NOT EXISTS {TABLE} ({TABLE_COLUMNS}) ENGINE = MergeTree {order}"]
    on = f"ON CLUSTER {literal(target.cluster)}"
    local = target.local_table
    return [
        f"CREATE TABLE IF NOT EXISTS {local} {on} ({TABLE_COLUMNS}) "
        f"ENGINE = ReplicatedMergeTree {order}",
        f"CREATE TABLE IF NOT EXISTS {TABLE} {on} AS {local} ENGINE = Distributed("
        f"{literal(target.cluster)}, {literal(target.database)}, {literal(local)}, rand())",
    ]


def added_columns_ddl(target: Target, existing: Iterable[str]) -> list[str]:
    """ALTER statements that add ADDED_COLUMNS missing from the `existing` columns of the
    requests table; on a cluster to every node's local table and the Distributed one."""
    on = f" ON CLUSTER {literal(target.cluster)}" if target.cluster else ""
    tables = [target.local_table, TABLE] if target.cluster else [TABLE]
    have = set(existing)
    return [
        f"ALTER TABLE {table}{on} ADD COLUMN IF NOT EXISTS {name} {kind}"
        for name, kind in ADDED_COLUMNS.items() if name not in have
        for table in tables
    ]  # fmt: skip


def delete_sql(target: Target, dataset_id: str) -> str:
    """Remove a dataset's rows; on a cluster from every node's local table."""
    on = f" ON CLUSTER {literal(target.cluster)}" if target.cluster else ""
    return f"DELETE FROM {target.local_table}{on} WHERE dataset_id = {literal(dataset_id)}"


# -- executors: the only code that differs between chdb and a server --------------------


def _require(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RuntimeError(
            f"NETRA_ANALYTICS_URL needs {module}: pip install 'netra-apex[{extra}]'"
        ) from None


class Executor(Protocol):
    def execute(self, sql: str) -> None: ...

    def query(self, sql: str) -> pa.Table: ...

    def insert(self, table: str, rows: pa.RecordBatchReader) -> int:
        """Stream the batches into `table`; returns how many rows went in."""
        ...

    def close(self) -> None: ...


class _Chunks:
    """A write-only file for pyarrow's IPC writer that hands back what was written."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        taken, self.pending = b"".join(self.pending), []
        return taken


def arrow_stream(rows: pa.RecordBatchReader, counted: list[int]) -> Iterator[bytes]:
    """The batches as Arrow IPC stream bytes (ClickHouse's ArrowStream input format), a
    batch at a time, so an import is never whole in memory; adds the rows to counted[0]."""
    sink = _Chunks()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        yield sink.take()
        for batch in rows:
            writer.write_batch(batch)
            counted[0] += batch.num_rows
            yield sink.take()
    yield sink.take()  # the end-of-stream marker


class ChdbExecutor:
    """ClickHouse in this process. chdb binds a process to one database directory at a
    time; queries share one connection, each INSERT streams through its own."""

    def __init__(self, path: str) -> None:
        self._chdb = _require("chdb", "chdb")
        if path != ":memory:":
            Path(path).mkdir(parents=True, exist_ok=True)
        self._path = path
        self._connection = self._session()
        self._lock = threading.Lock()

    def _session(self) -> Any:
        connection = self._chdb.connect(self._path)
        for name, value in SESSION_SETTINGS.items():
            connection.query(f"SET {name} = {literal(value)}")
        return connection

    def execute(self, sql: str) -> None:
        with self._lock:
            self._connection.query(sql)

    def query(self, sql: str) -> pa.Table:
        with self._lock:
            result: pa.Table = self._connection.query(sql, "ArrowTable")
            return result

    def insert(self, table: str, rows: pa.RecordBatchReader) -> int:
        """One INSERT per batch: in-process, one streamed INSERT held ~0.5 GB more at its
        peak for a million rows than batch-sized ones (measured with chdb 4.4)."""
        counted = [0]
        statement = f"INSERT INTO {table} ({', '.join(rows.schema.names)})"
        connection = self._session()
        try:
            for batch in rows:
                one = pa.RecordBatchReader.from_batches(rows.schema, [batch])
                with connection.send_insert(statement, "ArrowStream") as inserter:
                    for chunk in arrow_stream(one, counted):
                        inserter.append(chunk)
                    inserter.finish()
        finally:
            connection.close()
        return counted[0]

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class ServerExecutor:
    """A ClickHouse server or cluster over HTTP(S). Settings travel with every request
    (no server session), so one client serves concurrent queries."""

    def __init__(self, target: Target) -> None:
        clickhouse_connect = _require("clickhouse_connect", "clickhouse")
        settings = {**SESSION_SETTINGS, **(CLUSTER_SETTINGS if target.cluster else {})}
        self._client = clickhouse_connect.get_client(
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            database=target.database,
            secure=target.secure,
            settings=settings,
            autogenerate_session_id=False,
        )

    def execute(self, sql: str) -> None:
        self._client.command(sql)

    def query(self, sql: str) -> pa.Table:
        result: pa.Table = self._client.query_arrow(sql, use_strings=True)
        return result

    def insert(self, table: str, rows: pa.RecordBatchReader) -> int:
        counted = [0]
        self._client.raw_insert(
            table, rows.schema.names, insert_block=arrow_stream(rows, counted), fmt="ArrowStream"
        )
        return counted[0]

    def close(self) -> None:
        self._client.close()


def connect(target: Target) -> Executor:
    return ChdbExecutor(target.path) if target.engine == "chdb" else ServerExecutor(target)


# -- DuckDB SQL on ClickHouse ------------------------------------------------------------


class UnsupportedSQL(ValueError):
    """A DuckDB statement the ClickHouse store cannot translate."""


def literal(value: Any) -> str:
    """A ClickHouse literal for a Python value; strings escaped as the lexer reads them."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"({value})" if value < 0 else str(value)  # `x - -1` must not become `--`
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "(-inf)"
        return f"({value!r})" if value < 0 else repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"toDateTime64('{value.isoformat(sep=' ', timespec='microseconds')}', 6, 'UTC')"
    if isinstance(value, date):
        return f"toDate('{value.isoformat()}')"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise TypeError(f"cannot send a {type(value).__name__} to ClickHouse as a parameter")


_MARK = "__netra_p{}__"
_MARKED = re.compile(r"__netra_p(\d+)__")


@dataclass(frozen=True)
class Statement:
    """A translated statement: ClickHouse SQL split around its parameters."""

    parts: tuple[str, ...]  # len(slots) + 1 pieces of SQL text
    slots: tuple[int, ...]  # which `?` of the DuckDB statement goes after each part
    parameters: int  # how many `?` the DuckDB statement has
    sql: str  # the ClickHouse SQL, parameters shown as markers (for errors and logs)

    def bind(self, params: Sequence[Any]) -> str:
        if len(params) != self.parameters:
            raise ValueError(
                f"the statement has {self.parameters} parameter(s) but {len(params)} were given"
            )
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces += [literal(params[slot]), part]
        return "".join(pieces)


def _mark_parameters(sql: str) -> tuple[str, int]:
    """Replace each `?` (outside strings and comments) with a numbered marker name."""
    pieces, last, count = [], 0, 0
    for token in sqlglot.tokenize(sql, read="duckdb"):
        # `?::TYPE` is one token (QDCOLON) to the tokenizer; its first character is ours.
        if token.token_type in (TokenType.PLACEHOLDER, TokenType.QDCOLON):
            pieces += [sql[last : token.start], _MARK.format(count)]
            last = token.start + 1
            count += 1
    pieces.append(sql[last:])
    return "".join(pieces), count


@functools.lru_cache(maxsize=64)
def _template(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="clickhouse")


def _clickhouse(template: str, **parts: exp.Expr) -> exp.Expr:
    """A ClickHouse expression from SQL text whose columns `_name_` stand for `parts`."""

    def fill(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name.startswith("_"):
            return parts[node.name.strip("_")].copy()
        return node

    return _template(template).copy().transform(fill)


def _with_filter(
    node: exp.Expr, kinds: tuple[type[exp.Expr], ...]
) -> tuple[exp.Expr, exp.Expr | None] | None:
    """An aggregate of one of `kinds`, bare or under its FILTER: (the aggregate, the
    FILTER's condition or None). None for anything else, and for a bare one under a
    FILTER: that is rewritten with its FILTER, when the walk reaches the FILTER."""
    if isinstance(node, exp.Filter) and isinstance(node.this, kinds):
        return node.this, node.expression.this  # the Where's condition
    if not isinstance(node, kinds) or isinstance(node.parent, exp.Filter):
        return None
    return node, None


def _sorted_values(parts: dict[str, exp.Expr], condition: exp.Expr | None) -> str:
    """`arraySort` of the values `_x_` (those meeting the condition, added to `parts` as
    `_c_`)."""
    if condition is None:
        return "arraySort(groupArray(_x_))"
    parts["c"] = condition
    return "arraySort(groupArrayIf(_x_, _c_))"


def _exact_quantile(node: exp.Expr) -> exp.Expr:
    """DuckDB's quantile_cont and median interpolate between exact values (type R-7):
    between the sorted values lo and hi at positions floor and ceil of q·(n − 1), as
    fma(lo, 1 − f, hi·f). ClickHouse's `quantile` samples, and its exact R-7 one,
    quantileExactInclusive, weighs lo + (hi − lo)·f: a different last bit, enough to
    round a p95 the other way. So one fraction is weighed here from the sorted values
    (with its FILTER) by `interpolated`: both stores must give the same numbers, though
    sorting costs more than quantileExactInclusive's selection. A list of fractions
    still goes to quantilesExactInclusive, whose answer is a list as in DuckDB."""
    found = _with_filter(node, (exp.PercentileCont, exp.Median))
    if found is None:
        return node
    aggregate, condition = found
    value = aggregate.this
    fraction = (aggregate.expression if isinstance(aggregate, exp.PercentileCont)
                else exp.Literal.number("0.5"))
    if isinstance(fraction, exp.Array):
        return _exact_quantiles(value, fraction, condition)
    parts = {"x": value, "q": fraction}
    values = _sorted_values(parts, condition)
    # lambdas give local names (ClickHouse has no others): `ordered` for the sorted
    # values, then the two neighbours and the weight
    rn = "(_q_ * (length(ordered) - 1))"
    weighed = (f"arrayMap((lo_value, hi_value, weight) -> "
               f"{interpolated('lo_value', 'hi_value', 'weight')}, "
               f"[ordered[toUInt64(floor({rn})) + 1]], [ordered[toUInt64(ceil({rn})) + 1]], "
               f"[{rn} - floor({rn})])[1]")
    return _clickhouse(
        f"arrayMap(ordered -> if(length(ordered) = 0, NULL, {weighed}), [{values}])[1]",
        **parts,
    )


def _exact_quantiles(value: exp.Expr, fractions: exp.Array, condition: exp.Expr | None) -> exp.Expr:
    """quantilesExactInclusive, with NULLs where DuckDB answers NULL. Of no values, DuckDB's
    list is NULL, and ClickHouse's a list of nan, which compares and computes otherwise
    (`nan * 2` is nan, not NULL). A ClickHouse array cannot be NULL, so its elements are:
    `list[1]`, which is how a list of quantiles is read, is NULL on both stores."""
    exact: exp.Expr = exp.ParameterizedAgg(this=exp.var("quantilesExactInclusive"),
                                           expressions=list(fractions.expressions),
                                           params=[value])
    count: exp.Expr = exp.Count(this=value.copy())
    if condition is not None:
        exact = exp.Filter(this=exact, expression=exp.Where(this=condition))
        count = exp.Filter(this=count, expression=exp.Where(this=condition.copy()))
    return _clickhouse(
        "arrayMap((values, n) -> arrayMap(v -> if(n = 0, NULL, v), values), [_l_], [_n_])[1]",
        l=exact, n=count,
    )


def _discrete_quantile(node: exp.Expr) -> exp.Expr:
    """DuckDB's quantile_disc is the SQL standard's: the value at 1-based position
    max(1, n - floor(n - q·n)) of the sorted values. No ClickHouse quantile picks the
    same element for every n, so sort the values and take that one (with its FILTER)."""
    found = _with_filter(node, (exp.PercentileDisc,))
    if found is None:
        return node
    aggregate, condition = found
    parts = {"x": aggregate.this, "q": aggregate.expression}
    values = _sorted_values(parts, condition)
    count = "count(_x_)" if condition is None else "countIf(_x_, _c_)"
    return _clickhouse(
        f"if({count} = 0, NULL, arrayElement({values}, "
        f"toUInt64(greatest(1, {count} - floor({count} - _q_ * {count})))))",
        **parts,
    )


def _microseconds(node: exp.Expr) -> exp.Expr:
    """DuckDB's TIMESTAMP keeps microseconds; ClickHouse's DateTime keeps seconds."""
    if isinstance(node, exp.DataType) and node.this in (
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.DATETIME,
    ):
        # Built bare (not parsed as ClickHouse) so it is Nullable like every other type.
        return exp.DataType(
            this=exp.DataType.Type.DATETIME64,
            expressions=[exp.DataTypeParam(this=exp.Literal.number(6))],
        )
    return node


def _epoch_seconds(node: exp.Expr) -> exp.Expr:
    """DuckDB's epoch(): seconds of an interval (a timestamp difference) or since 1970, with
    microseconds. ClickHouse has neither a TIMESTAMP - TIMESTAMP interval nor epoch()."""
    if not isinstance(node, exp.TimeToUnix):
        return node
    if isinstance(node.this, exp.Sub):
        return _clickhouse(
            "(dateDiff('microsecond', _b_, _a_) / 1e6)", a=node.this.this, b=node.this.expression
        )
    return _clickhouse("(toUnixTimestamp64Micro(toDateTime64(_t_, 6)) / 1e6)", t=node.this)


# DuckDB's interval constructors to_days(n), to_hours(n), …: ClickHouse's toIntervalDay(n)…
_INTERVALS = {
    "to_weeks": "toIntervalWeek",
    "to_days": "toIntervalDay",
    "to_hours": "toIntervalHour",
    "to_minutes": "toIntervalMinute",
    "to_seconds": "toIntervalSecond",
    "to_milliseconds": "toIntervalMillisecond",
    "to_microseconds": "toIntervalMicrosecond",
}


def _intervals(node: exp.Expr) -> exp.Expr:
    """to_days(n) is an INTERVAL of n days (sqlglot would make it a day number)."""
    if isinstance(node, exp.ToDays):
        return exp.Anonymous(this="toIntervalDay", expressions=[node.this])
    if isinstance(node, exp.Anonymous) and node.name.lower() in _INTERVALS:
        return exp.Anonymous(this=_INTERVALS[node.name.lower()], expressions=node.expressions)
    return node


def _interval_arithmetic(node: exp.Expr) -> exp.Expr:
    """DATE ± INTERVAL is a TIMESTAMP in DuckDB, a Date in ClickHouse."""
    if isinstance(node, exp.Add | exp.Sub) and any(
        isinstance(side, exp.Interval)
        or (isinstance(side, exp.Anonymous) and side.name.startswith("toInterval"))
        for side in (node.this, node.expression)
    ):
        return exp.Anonymous(this="toDateTime64", expressions=[node, exp.Literal.number(6)])
    return node


def _null_past_partition(node: exp.Expr) -> exp.Expr:
    """lag/lead past the partition's edge give NULL in DuckDB, the type's default (0, '',
    1970-01-01) in ClickHouse, unless the value is Nullable."""
    if isinstance(node, exp.Lag | exp.Lead) and node.args.get("default") is None:
        node.set("this", exp.func("toNullable", node.this))
    return node


_EXACT_DIGITS = 40


def _half_away_from_zero(node: exp.Expr) -> exp.Expr:
    """DuckDB rounds a double's exact binary value half away from zero: 590.05 is stored
    as 590.0499999…, so round(590.05, 1) is 590.0, and 21513.65 (21513.6500…01) gives
    21513.7. ClickHouse's round() is banker's on x·10ⁿ, which gives 590.0 and 21513.6.
    The exact value is spelled out by toDecimalString (40 digits tell any double under
    1e30 from the nearest tie) and rounded as a Decimal, which goes half away from zero.
    Larger, infinite and NaN values are whole already: they stay as they are. (Checked
    against DuckDB on 55,000 values; only answers of more than 15 significant digits
    differ, where DuckDB itself is not exact.)"""
    if not isinstance(node, exp.Round):
        return node
    decimals = node.args.get("decimals") or exp.Literal.number(0)
    return _clickhouse(
        "if(isFinite(_x_) AND abs(_x_) < 1e30, toFloat64(toString(round("
        f"toDecimal256(toDecimalString(_x_, {_EXACT_DIGITS}), {_EXACT_DIGITS}), _n_))), _x_)",
        x=node.this,
        n=decimals,
    )


def _boolean_aggregates(node: exp.Expr) -> exp.Expr:
    """bool_or / bool_and: max / min, as a Bool (a comparison is a UInt8 in ClickHouse)."""
    if isinstance(node, exp.LogicalOr):
        return _clickhouse("toBool(max(_x_))", x=node.this)
    if isinstance(node, exp.LogicalAnd):
        return _clickhouse("toBool(min(_x_))", x=node.this)
    return node


_PREDICATES = (exp.Predicate, exp.Connector, exp.Not)


def _boolean_outputs(tree: exp.Expr) -> exp.Expr:
    """A comparison is a UInt8 (1/0) in ClickHouse and a BOOLEAN in DuckDB: the final
    SELECT's true/false outputs become Bool, so callers get True/False."""
    if isinstance(tree, exp.Select):
        for projection in tree.expressions:
            value = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(value, _PREDICATES):
                value.replace(exp.Anonymous(this="toBool", expressions=[value.copy()]))
    return tree


def _histogram(node: exp.Expr) -> exp.Expr:
    """DuckDB's histogram(x) is a MAP of value -> count (rows_of turns maps into dicts)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "histogram":
        [value] = node.expressions
        # A map key may be neither Nullable nor LowCardinality; NULLs are not counted.
        return _clickhouse(
            "sumMapIf(map(assumeNotNull(_x_), toUInt64(1)), _x_ IS NOT NULL)",
            x=value,
        )
    return node


def _hash(node: exp.Expr) -> exp.Expr:
    """DuckDB's hash(a, …) as a 64-bit hash that tells NULL from '' (cityHash64 of the
    bare values is NULL when any is). The values differ from DuckDB's: only equality of
    hashes (grouping, joining) carries over."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        return exp.Anonymous(
            this="cityHash64",
            expressions=[exp.Anonymous(this="tuple", expressions=node.expressions)],
        )
    return node


def _named_tuple(node: exp.Expr) -> exp.Expr:
    """struct_pack(a := x, b := y) is a named tuple. `tuple(x AS a)` would name it, but an
    alias in ClickHouse is visible to the whole query, so cast to the named type instead."""
    if not (
        isinstance(node, exp.Struct)
        and node.expressions
        and all(isinstance(e, exp.PropertyEQ) for e in node.expressions)
    ):
        return node
    pieces: list[exp.Expr] = []
    for index, member in enumerate(node.expressions):
        name = member.this.name.replace("\\", "\\\\").replace("`", "\\`")
        pieces += [
            exp.Literal.string(("Tuple(" if index == 0 else ", ") + f"`{name}` "),
            exp.Anonymous(this="toTypeName", expressions=[member.expression.copy()]),
        ]
    pieces.append(exp.Literal.string(")"))
    values = exp.Anonymous(this="tuple", expressions=[f.expression for f in node.expressions])
    named_type = exp.Anonymous(this="concat", expressions=pieces)
    return exp.Anonymous(this="CAST", expressions=[values, named_type])


def _ordered_list(node: exp.Expr) -> exp.Expr:
    """list(x ORDER BY k1 [DESC], …) [FILTER (WHERE c)]: groupArray has no ORDER BY, so
    collect (x, k1, …) and sort the array. All keys descending: sort in reverse; mixed
    directions: a descending key is negated (numbers only; text fails visibly)."""
    condition = None
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        condition = node.expression.this
        node = node.this
    if not (isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)) or (
        condition is None and isinstance(node.parent, exp.Filter)
    ):
        return node  # under a FILTER: rewritten with it, when the walk reaches the FILTER
    order = node.this
    keys = order.expressions
    parts = {"x": order.this, **{f"k{i}": key.this for i, key in enumerate(keys)}}
    descending = [bool(key.args.get("desc")) for key in keys]
    reverse = all(descending)
    sort_keys = ", ".join(
        f"{'-' if desc and not reverse else ''}tupleElement(p, {i + 2})"
        for i, desc in enumerate(descending)
    )
    collected = "tuple(_x_, " + ", ".join(f"_k{i}_" for i in range(len(keys))) + ")"
    if condition is None:
        gathered = f"groupArray({collected})"
    else:
        gathered = f"groupArrayIf({collected}, _c_)"
        parts["c"] = condition
    sort = "arrayReverseSort" if reverse else "arraySort"
    return _clickhouse(
        f"arrayMap(p -> tupleElement(p, 1), {sort}(p -> tuple({sort_keys}), {gathered}))",
        **parts,
    )


def _list_slice(node: exp.Expr) -> exp.Expr:
    """DuckDB's list[a:b] (1-based, both ends included) is arraySlice(list, a, b - a + 1)."""
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return node
    bounds = node.expressions[0]
    if not isinstance(bounds, exp.Slice):
        return node
    start = bounds.this or exp.Literal.number(1)
    if bounds.expression is None:
        return _clickhouse("arraySlice(_l_, _a_)", l=node.this, a=start)
    return _clickhouse(
        "arraySlice(_l_, _a_, _b_ - _a_ + 1)", l=node.this, a=start, b=bounds.expression
    )


# strftime codes that formatDateTime spells differently (the rest mean the same).
_STRFTIME = {"M": "%i", "B": "%M", "A": "%W"}


def _strftime_codes(node: exp.Expr) -> exp.Expr:
    """DuckDB's strftime %M is the minute; ClickHouse's formatDateTime %M is the month."""
    if isinstance(node, exp.TimeToStr) and isinstance(node.args.get("format"), exp.Literal):
        spelled = re.sub(
            r"%(.)", lambda m: _STRFTIME.get(m.group(1), m.group(0)), node.args["format"].this
        )
        node.set("format", exp.Literal.string(spelled))
    return node


_REWRITES = (
    _exact_quantile,
    _discrete_quantile,
    _microseconds,
    _epoch_seconds,
    _intervals,
    _interval_arithmetic,
    _null_past_partition,
    _half_away_from_zero,
    _boolean_aggregates,
    _histogram,
    _hash,
    _named_tuple,
    _ordered_list,
    _list_slice,
    _strftime_codes,
)


# The requests table in DuckDB's types, so `*` and `p.*` expand to named columns.
_SCHEMA: dict[str, object] = {
    TABLE: {"dataset_id": "VARCHAR", **dict(COLUMNS), "cost_usd": "DOUBLE"}
}


def _parse(marked: str) -> exp.Expr:
    """Parse DuckDB SQL with every column qualified by its table, every `*` expanded and
    every output named, as DuckDB resolves them: ClickHouse would otherwise read a name
    as an output alias where DuckDB reads the column (`sum(cost_usd) AS cost_usd, …
    sum(cost_usd) * 2`), and call a joined column `p.feature` where DuckDB says `feature`."""
    return qualify(
        sqlglot.parse_one(marked, read="duckdb"),
        dialect="duckdb",
        schema=_SCHEMA,
        quote_identifiers=False,
        identify=False,
        validate_qualify_columns=False,
    )


def _rewrite(tree: exp.Expr) -> exp.Expr:
    """Apply every rewrite to every node, children before their parents, so a rewrite
    sees (and copies) its arguments already rewritten."""
    for node in list(tree.dfs())[::-1]:
        # Where it hangs, taken first: a rewrite may wrap the node in a new parent.
        parent, key, index = node.parent, node.arg_key, node.index
        new = node
        for rewrite in _REWRITES:
            new = rewrite(new)
        if new is node:
            continue
        if parent is not None and key is not None:
            parent.set(key, new, index)
        else:
            tree = new
    return _boolean_outputs(tree)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> Statement:
    """ClickHouse SQL for a DuckDB statement with `?` parameters (cached per text)."""
    marked, count = _mark_parameters(sql)
    try:
        tree = _parse(marked)
        tree = _rewrite(tree)
        target = tree.sql(dialect="clickhouse")
    except SqlglotError as error:
        raise UnsupportedSQL(f"cannot translate this DuckDB SQL to ClickHouse: {error}") from None
    pieces = _MARKED.split(target)
    slots = tuple(int(slot) for slot in pieces[1::2])
    if set(slots) != set(range(count)):
        raise UnsupportedSQL(f"parameters were lost translating to ClickHouse: {target}")
    return Statement(tuple(pieces[::2]), slots, count, target)


def _naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps as DuckDB returns them: naive, in UTC."""
    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            naive = table.column(index).cast(pa.timestamp(column.type.unit))
            table = table.set_column(index, column.name, naive)
    return table


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as DuckDB's Python API gives them: naive UTC timestamps, maps as dicts."""
    rows: list[dict[str, Any]] = _naive_utc(table).to_pylist()
    maps = [f.name for f in table.schema if pa.types.is_map(f.type)]
    for row in rows:
        for name in maps:
            if row[name] is not None:
                row[name] = dict(row[name])
    return rows


# -- the store ---------------------------------------------------------------------------


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
