"""The `query` tool's sandbox: a model's SELECT over its own dataset's `requests`, on a real
DuckDB store and on the ClickHouse store through its HTTP client (the test-only server):
the right numbers, nothing of another dataset, and everything else refused with a message
the model can act on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from netra.analysis.query import QUERY_COLUMN_NAMES, QueryRefused, run_query
from netra.telemetry.store import AnalyticsStore
from netra.telemetry.store.clickhouse_store import ClickHouseStore
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.fakes.clickhouse_server import clickhouse_server
from tests.telemetry.helpers import open_store, record

END = date(2026, 1, 1)
MINE = "ds-mine-4f2a"
OTHER = "ds-other-9c1b"
SECRET = "secret-feature-of-other"


async def _fill(store: AnalyticsStore) -> None:
    """Two datasets in the one physical table: MINE (2,000 demo requests) and OTHER (500,
    and three requests whose feature no query over MINE may ever show)."""
    await store.generate_demo(MINE, rows=2_000, seed=1, end=END)
    await store.generate_demo(OTHER, rows=500, seed=2, end=END)
    await store.insert_records(
        OTHER, [record(feature=SECRET, request_id=f"o{i}") for i in range(3)]
    )


def _opened(store: Any) -> Iterator[Any]:
    asyncio.run(store.open())
    asyncio.run(_fill(store))
    yield store
    asyncio.run(store.close())


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    yield from _opened(DuckDBStore(tmp_path_factory.mktemp("query") / "analytics.duckdb"))


@pytest.fixture(scope="module")
def click(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    with clickhouse_server(tmp_path_factory.mktemp("clickhouse-server")) as url:
        yield from _opened(ClickHouseStore(url))


async def _direct(store: AnalyticsStore, sql: str) -> list[list[Any]]:
    """The same question asked of the store itself, filtered by dataset as our code does."""
    return [list(row.values()) for row in await store.fetch(sql, [MINE])]


def _approx(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows to compare with: sums of doubles may differ in the last bits by summing order."""
    return [[pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for v in r] for r in rows]


# -- allowed: the right numbers ------------------------------------------------------------


async def test_cost_by_feature_equals_a_direct_query_of_the_dataset(duck: DuckDBStore) -> None:
    result = await run_query(
        duck, MINE, "SELECT feature, sum(cost_usd) AS cost, count(*) FROM requests "
        "GROUP BY feature ORDER BY feature",
    )  # fmt: skip
    expected = await _direct(
        duck, "SELECT feature, sum(cost_usd), count(*) FROM requests WHERE dataset_id = ? "
        "GROUP BY feature ORDER BY feature",
    )  # fmt: skip
    assert result["columns"] == ["feature", "cost", "count(*)"]
    assert result["rows"] == _approx(expected) and result["row_count"] == len(expected) > 3
    assert result["truncated"] is False


async def test_the_table_is_only_this_datasets_rows(duck: DuckDBStore) -> None:
    count = "SELECT count(*) AS n FROM requests"
    assert (await run_query(duck, MINE, count))["rows"] == [[2_000]]
    assert (await run_query(duck, OTHER, count))["rows"] == [[503]]
    assert (await run_query(duck, "no-such-dataset", count))["rows"] == [[0]]
    secret = f"SELECT count(*) FROM requests WHERE feature = '{SECRET}'"
    assert (await run_query(duck, MINE, secret))["rows"] == [[0]]
    assert (await run_query(duck, OTHER, secret))["rows"] == [[3]]
    # however it is joined, each `requests` is this dataset's
    joined = await run_query(
        duck, MINE, "SELECT count(*) FROM requests a JOIN requests b ON a.request_id = b.request_id"
    )
    assert joined["rows"] == [[2_000]]


async def test_star_is_the_record_and_its_cost_never_the_dataset_id(duck: DuckDBStore) -> None:
    result = await run_query(duck, MINE, "SELECT * FROM requests ORDER BY ts LIMIT 3")
    assert result["columns"] == list(QUERY_COLUMN_NAMES)
    assert "dataset_id" not in result["columns"] and result["columns"][-1] == "cost_usd"
    assert result["row_count"] == 3


async def test_the_dataset_id_column_does_not_exist(duck: DuckDBStore) -> None:
    for sql in (
        f"SELECT count(*) FROM requests WHERE dataset_id = '{OTHER}'",
        "SELECT requests.dataset_id FROM requests",
        "SELECT count(*) FROM requests r WHERE r.DATASET_ID IS NOT NULL",
    ):
        with pytest.raises(QueryRefused, match="(?i)unknown column `dataset_id`"):
            await run_query(duck, MINE, sql)


async def test_ctes_windows_dates_and_unions_are_allowed(duck: DuckDBStore) -> None:
    result = await run_query(
        duck, MINE, "WITH daily AS (SELECT date_trunc('day', ts) AS day, sum(cost_usd) AS cost "
        "FROM requests GROUP BY 1) SELECT strftime(day, '%Y-%m-%d') AS day, cost, "
        "rank() OVER (ORDER BY cost DESC) AS r FROM daily ORDER BY day",
    )  # fmt: skip
    expected = await _direct(
        duck, "SELECT strftime(date_trunc('day', ts), '%Y-%m-%d') AS day, sum(cost_usd) "
        "FROM requests WHERE dataset_id = ? GROUP BY 1 ORDER BY 1",
    )  # fmt: skip
    assert [row[:2] for row in result["rows"]] == _approx(expected)
    assert sorted(row[2] for row in result["rows"]) == list(range(1, len(expected) + 1))
    union = await run_query(duck, MINE, "SELECT 1 AS n UNION ALL SELECT 2 ORDER BY n DESC")
    assert union["rows"] == [[2], [1]]


async def test_values_are_json_safe(duck: DuckDBStore) -> None:
    result = await run_query(
        duck, MINE, "SELECT max(ts) AS last, max(ts) - min(ts) AS span, "
        "sum(cost_usd)::DECIMAL(18, 6) AS cost, [1, 2] AS list, {'a': 1} AS struct, "
        "CAST('2026-01-01' AS DATE) AS day FROM requests",
    )  # fmt: skip
    [[last, span, cost, as_list, struct, day]] = result["rows"]
    [[first, final]] = await _direct(
        duck, "SELECT min(ts), max(ts) FROM requests WHERE dataset_id = ?"
    )
    assert last == final.isoformat() and span == (final - first).total_seconds()
    assert isinstance(cost, float) and as_list == [1, 2] and struct == {"a": 1}
    assert day == "2026-01-01"
    json.dumps(result, allow_nan=False)


async def test_the_row_limit_truncates_and_keeps_the_order(duck: DuckDBStore) -> None:
    sql = "SELECT request_id, ts FROM requests ORDER BY ts DESC, request_id"
    result = await run_query(duck, MINE, sql, max_rows=10)
    assert result["row_count"] == 10 and result["truncated"] is True
    stamps = [row[1] for row in result["rows"]]
    assert stamps == sorted(stamps, reverse=True)
    expected = await _direct(
        duck, "SELECT request_id, ts FROM requests WHERE dataset_id = ? "
        "ORDER BY ts DESC, request_id LIMIT 10",
    )  # fmt: skip
    assert [row[0] for row in result["rows"]] == [row[0] for row in expected]
    exact = await run_query(duck, MINE, f"{sql} LIMIT 10", max_rows=10)
    assert exact["row_count"] == 10 and exact["truncated"] is False


async def test_no_rows_still_names_the_columns(duck: DuckDBStore) -> None:
    sql = "SELECT model, sum(cost_usd) FROM requests WHERE model = 'none' GROUP BY model"
    result = await run_query(duck, MINE, sql)
    assert result == {
        "columns": ["model", "sum(cost_usd)"],
        "rows": [],
        "row_count": 0,
        "truncated": False,
    }
    star = await run_query(duck, MINE, "SELECT * FROM requests WHERE false")
    assert star["columns"] == list(QUERY_COLUMN_NAMES)


EVERYDAY = [
    "SELECT feature, sum(cost_usd) FILTER (WHERE status = 'error') AS wasted FROM requests "
    "GROUP BY 1",
    "SELECT * EXCLUDE (metadata) FROM requests QUALIFY row_number() OVER "
    "(PARTITION BY model ORDER BY cost_usd DESC) = 1",
    "SELECT count(DISTINCT conversation_id), date_diff('day', min(ts), max(ts)) FROM requests",
    "SELECT extract(hour FROM ts) AS h, count(*) FROM requests GROUP BY h ORDER BY h",
    "SELECT ts::DATE AS d, round(sum(cost_usd), 4) FROM requests GROUP BY d ORDER BY d",
    "SELECT prompt_hash, count(*) AS c FROM requests WHERE prompt_hash IS NOT NULL "
    "GROUP BY 1 HAVING count(*) > 1 ORDER BY c DESC",
    "SELECT CASE WHEN input_tokens > 1000 THEN 'long' ELSE 'short' END AS size, count(*) "
    "FROM requests GROUP BY ALL",
    "SELECT count(*) FROM requests WHERE ts >= TIMESTAMP '2025-12-15' AND ts < now() "
    "OR model ILIKE '%gpt%'",
    "SELECT r.model FROM requests r WHERE EXISTS (SELECT 1 FROM requests s "
    "WHERE s.request_id = r.request_id AND s.cost_usd > 0.01)",
    "SELECT conversation_id, input_tokens - lag(input_tokens) OVER "
    "(PARTITION BY conversation_id ORDER BY ts) AS growth FROM requests",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), approx_count_distinct("
    "end_user), histogram(status), mode(model), max_by(feature, cost_usd) FROM requests",
    "SELECT time_bucket(INTERVAL '1 hour', ts) AS h, count(*) FROM requests GROUP BY h",
    "SELECT model, count(*) * 100.0 / sum(count(*)) OVER () AS share FROM requests GROUP BY model",
    "SELECT json_extract_string(metadata, '$.tier'), current_date, upper(provider) || '/' "
    "|| model, COLUMNS('.*_tokens') FROM requests",
    "SELECT count(*) FROM requests USING SAMPLE 10%",
]


@pytest.mark.parametrize("sql", EVERYDAY)
async def test_everyday_analysis_queries_run(duck: DuckDBStore, sql: str) -> None:
    result = await run_query(duck, MINE, sql)
    assert result["row_count"] >= 1
    json.dumps(result, allow_nan=False)


# -- refused ------------------------------------------------------------------------------

FOUND = "only SELECT statements over the table `requests` are allowed; found "
REFUSED = [
    ("INSERT INTO requests (ts) VALUES (now())", FOUND + "INSERT"),
    ("update requests SET model = 'x'", FOUND + "UPDATE"),
    ("DELETE FROM requests", FOUND + "DELETE"),
    ("DROP TABLE requests", FOUND + "DROP"),
    ("CREATE TABLE t AS SELECT * FROM requests", FOUND + "CREATE"),
    ("ATTACH '/tmp/other.duckdb' AS other", FOUND + "ATTACH"),
    ("COPY requests TO '/tmp/out.csv'", FOUND + "COPY"),
    ("PRAGMA database_list", FOUND + "PRAGMA"),
    ("SET memory_limit = '100GB'", FOUND + "SET"),
    ("INSTALL httpfs", FOUND + "INSTALL"),
    ("LOAD httpfs", FOUND + "LOAD"),
    ("CALL pragma_version()", FOUND + "CALL"),
    ("EXPORT DATABASE '/tmp/dump'", FOUND + "EXPORT"),
    ("DESCRIBE requests", FOUND + "DESCRIBE"),
    ("SUMMARIZE requests", FOUND + "SUMMARIZE"),
    ("EXPLAIN ANALYZE SELECT 1", FOUND + "EXPLAIN"),
    ("WITH gone AS (DELETE FROM requests RETURNING *) SELECT * FROM gone", FOUND + "DELETE"),
    ("SELECT * INTO copy FROM requests", FOUND + "INTO"),
    ("SELECT count(*) FROM requests; DROP TABLE requests", "exactly one SELECT statement"),
    ("SELECT 1; SELECT 2", "exactly one SELECT statement"),
    ("   ;  ", "the query is empty"),
    ("SELECT * FROM read_csv('/etc/passwd')", "table functions are not allowed (found read_csv)"),
    ("SELECT read_csv('/etc/passwd')", "function read_csv is not allowed"),
    ("SELECT * FROM glob('/etc/*')", "table functions are not allowed (found glob)"),
    ("SELECT * FROM read_text('/etc/passwd')", "found read_text"),
    ("SELECT content FROM requests, read_text('/etc/hostname')", "found read_text"),
    ("SELECT * FROM '/etc/passwd'", "reading files is not allowed"),
    ("SELECT * FROM 'file.csv'", "reading files is not allowed: `file.csv`"),
    ('SELECT * FROM "data.parquet"', "reading files is not allowed"),
    ("SELECT * FROM duckdb_settings()", "found duckdb_settings"),
    ("SELECT * FROM duckdb_tables", "unknown table: `duckdb_tables`"),
    ("SELECT * FROM sqlite_master", "unknown table: `sqlite_master`"),
    ("SELECT * FROM pragma_database_list()", "found pragma_database_list"),
    ("SELECT * FROM information_schema.tables", "not `information_schema.tables`"),
    ("SELECT * FROM main.requests", "write `requests`, not `main.requests`"),
    ("SELECT * FROM memory.main.requests", "not `memory.main.requests`"),
    ("SELECT * FROM query_table('requests')", "found query_table"),
    ("SELECT * FROM query('SELECT * FROM requests')", "found query"),
    ("SELECT * FROM range(1000000000)", "table functions are not allowed"),
    ("SELECT getenv('HOME')", "function getenv is not allowed"),
    ("SELECT current_setting('memory_limit')", "function current_setting is not allowed"),
    ("SELECT getvariable('x')", "function getvariable is not allowed"),
    ("SELECT version()", "is not allowed"),
    ("SELECT model FROM requests WHERE model = getenv('USER')", "function getenv"),
    ("SELECT * REPLACE (read_text('/etc/passwd') AS model) FROM requests", "read_text"),
    ("SELECT 'x'.getenv()", "call functions by their plain name"),
    ("SELECT main.lower(model) FROM requests", "call functions by their plain name"),
    ("SELECT repeat('x', 1000000000)", "function repeat is not allowed"),
    ("SELECT unnest(range(10))", "is not allowed"),
    ("SELECT * FROM requests WHERE model IN (SELECT table_name FROM duckdb_tables())",
     "found duckdb_tables"),
    ("SELECT (SELECT count(*) FROM sqlite_master) AS n", "unknown table: `sqlite_master`"),
    ("SELECT * FROM requests r JOIN other_table o ON r.model = o.model", "`other_table`"),
    # a CTE of the real table's name, and a CTE's name used outside the WITH that defines
    # it (where it would mean the catalog's table of that name)
    ("WITH requests AS (SELECT 1 AS x) SELECT * FROM requests", "cannot be named `requests`"),
    ("SELECT * FROM (WITH sqlite_master AS (SELECT 1 AS x) SELECT x FROM sqlite_master) AS t, "
     "sqlite_master", "unknown table: `sqlite_master`"),
    ("WITH a AS (SELECT * FROM duckdb_tables), duckdb_tables AS (SELECT 1 AS x) "
     "SELECT * FROM a", "unknown table: `duckdb_tables`"),
    ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT * FROM n",
     "WITH RECURSIVE is not allowed"),
    ("SELECT * FROM requests WHERE model = $1", "parameters"),
    ("SELECT * FROM requests WHERE model = ?", "parameters"),
    ("SELECT * FROM requests FOR UPDATE", "found LOCK"),
    ("SELECT * FROM requests AT (VERSION => 1)", "is not supported; write FROM requests"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "message"), REFUSED)
async def test_refused(duck: DuckDBStore, sql: str, message: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        await run_query(duck, MINE, sql)
    assert message in str(refused.value)


async def test_refused_statements_changed_nothing(duck: DuckDBStore) -> None:
    for sql, _ in REFUSED:
        with pytest.raises(QueryRefused):
            await run_query(duck, MINE, sql)
    tables = await duck.fetch("SELECT table_name FROM information_schema.tables")
    assert [row["table_name"] for row in tables] == ["requests"]
    counts = await duck.fetch(
        "SELECT dataset_id, count(*) AS n FROM requests GROUP BY 1 ORDER BY 1"
    )
    assert [(row["dataset_id"], row["n"]) for row in counts] == [(MINE, 2_000), (OTHER, 503)]


async def test_an_unknown_column_is_named_with_the_columns_there_are(duck: DuckDBStore) -> None:
    with pytest.raises(QueryRefused) as refused:
        await run_query(duck, MINE, "SELECT feature, sum(cost) FROM requests GROUP BY feature")
    message = str(refused.value)
    assert message.startswith("unknown column `cost` — columns: ts, provider, model")
    assert "cost_usd" in message and "dataset_id" not in message


async def test_a_syntax_error_says_where(duck: DuckDBStore) -> None:
    with pytest.raises(QueryRefused, match=r"^syntax error at line 1, column \d+ near"):
        await run_query(duck, MINE, "SELECT sum(cost_usd FROM requests")
    with pytest.raises(QueryRefused, match="syntax error"):
        await run_query(duck, MINE, "SELECT 'unterminated FROM requests")


async def test_engine_errors_come_back_trimmed_without_data_or_dataset(duck: DuckDBStore) -> None:
    cases = {
        "SELECT CAST(feature AS INTEGER) FROM requests": "Conversion Error",
        "SELECT round(model, 'x') FROM requests": "Binder Error",
        "SELECT sum(cost_usd) FROM requests GROUP BY nothing_here": "unknown column `nothing_here`",
    }
    for sql, start in cases.items():
        with pytest.raises(QueryRefused) as refused:
            await run_query(duck, MINE, sql)
        message = str(refused.value)
        assert start in message and "\n" not in message and "LINE" not in message
        assert MINE not in message and "dataset" not in message and "support-chat" not in message
    with pytest.raises(QueryRefused, match="Conversion Error") as refused:
        await run_query(duck, MINE, "SELECT CAST('twelve' AS INTEGER)")
    assert "'twelve'" in str(refused.value)  # what the model wrote itself is not data


async def test_a_slow_query_is_stopped_by_the_timeout(tmp_path: Path) -> None:
    # Its own store and thread pool: DuckDB goes on with a statement whose caller stopped
    # waiting unless the store interrupts it, and the store cannot close while it runs.
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=4)
    loop.set_default_executor(pool)
    async with open_store(tmp_path) as store:
        await store.generate_demo(MINE, rows=2_000, seed=1, end=END)
        slow = ("SELECT count(*) FROM requests a, requests b, "
                "(SELECT * FROM requests LIMIT 300) c "
                "WHERE a.input_tokens + b.output_tokens > c.input_tokens")  # fmt: skip
        try:
            with pytest.raises(QueryRefused, match=r"took longer than 0\.01 s and was stopped"):
                await run_query(store, MINE, slow, timeout_s=0.01)
        finally:
            pool.shutdown(wait=True)  # blocks the loop until DuckDB is done, in a test only
            loop.set_default_executor(ThreadPoolExecutor(max_workers=4))


# -- the same through the ClickHouse store -------------------------------------------------

ALLOWED = [
    "SELECT feature, sum(cost_usd) AS cost, count(*) AS n FROM requests "
    "GROUP BY feature ORDER BY feature",
    "SELECT count(*) AS n FROM requests",
    f"SELECT count(*) AS n FROM requests WHERE feature = '{SECRET}'",
    "SELECT model, quantile_cont(latency_ms, 0.95) AS p95, avg(output_tokens) AS avg_out "
    "FROM requests GROUP BY model ORDER BY model",
    "WITH f AS (SELECT feature, sum(cost_usd) AS c FROM requests GROUP BY feature) "
    "SELECT feature, rank() OVER (ORDER BY c DESC) AS r FROM f ORDER BY feature",
    "SELECT strftime(date_trunc('day', ts), '%Y-%m-%d') AS day, count(*) AS n FROM requests "
    "GROUP BY 1 ORDER BY 1 LIMIT 5",
    "SELECT count(*) AS n FROM requests a JOIN requests b ON a.request_id = b.request_id",
    "SELECT count(*) AS n FROM requests r WHERE (r.model LIKE 'gpt%' OR r.batch) AND EXISTS "
    "(SELECT 1 FROM requests s WHERE s.request_id = r.request_id)",
]


@pytest.mark.parametrize("sql", ALLOWED)
async def test_clickhouse_answers_as_duckdb(
    duck: DuckDBStore, click: ClickHouseStore, sql: str
) -> None:
    expected = await run_query(duck, MINE, sql, max_rows=20)
    result = await run_query(click, MINE, sql, max_rows=20)
    assert result["columns"] == expected["columns"]
    assert result["truncated"] == expected["truncated"]
    assert result["rows"] == _approx(expected["rows"])


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (f"SELECT count(*) FROM requests WHERE dataset_id = '{OTHER}'",
         "unknown column `dataset_id`"),
        ("SELECT sum(cost) FROM requests", "unknown column `cost` — columns: ts,"),
        ("SELECT * FROM read_csv('/etc/passwd')", "found read_csv"),
        ("INSERT INTO requests (ts) VALUES (now())", FOUND + "INSERT"),
        ("SELECT * FROM system.tables", "not `system.tables`"),
        ("SELECT * FROM url('http://example.com/x.csv')", "found url"),
        ("SELECT hostName() AS host", "function hostname is not allowed"),
        ("SELECT * FROM remote('127.0.0.1', system.users)", "found remote"),
        # the engine's own words, without its SQL, error name, version or address
        ("SELECT sum(model) FROM requests", "Illegal type String of argument for aggregate"),
        ("SELECT round(model, 2) FROM requests", "must be a number"),
    ],
)  # fmt: skip
async def test_clickhouse_refuses_alike(click: ClickHouseStore, sql: str, message: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        await run_query(click, MINE, sql)
    text = str(refused.value)
    assert message in text and MINE not in text
    assert not any(noise in text for noise in ("In scope", "FROM (", "version", "http", "\n"))
