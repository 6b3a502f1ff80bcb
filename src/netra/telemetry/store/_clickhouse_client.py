"""Where the ClickHouse store's rows live, and how it talks to ClickHouse.

NETRA_ANALYTICS_URL parsed into a `Target`; the requests table's DDL (one node, or
Replicated tables behind a Distributed one on a cluster); ClickHouse literals for Python
values; and the four-method `Executor` in its two forms, chdb in this process or a server
through clickhouse-connect: the only code that differs between the two.
"""

from __future__ import annotations

import importlib
import math
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

from netra.telemetry.schema import COLUMNS

TABLE = "requests"

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


# -- values as ClickHouse reads them -----------------------------------------------------


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


def delete_sql(target: Target, dataset_id: str, condition: str | None = None) -> str:
    """Remove a dataset's rows (those meeting `condition`, a WHERE clause that names the
    dataset itself, when given); on a cluster from every node's local table."""
    on = f" ON CLUSTER {literal(target.cluster)}" if target.cluster else ""
    where = condition or f"dataset_id = {literal(dataset_id)}"
    return f"DELETE FROM {target.local_table}{on} WHERE {where}"


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
