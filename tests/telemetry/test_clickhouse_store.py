"""The ClickHouse store on chdb (the ClickHouse engine in-process), against the DuckDB
store on the same data: the same summary numbers, the same answers from every analysis
and to the analyses' kinds of DuckDB SQL, idempotent ingestion, deletion and per-dataset
isolation.

chdb binds a process to one database directory at a time, so the module shares one
ClickHouse store (and, for comparisons, one DuckDB store); each test writes its own
dataset ids.
"""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from netra.analysis import dashboard, overview, questions, request_log, whatif
from netra.analysis.findings import ALL_FINDERS
from netra.analysis.slicing import Slice, read_query
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore, clickhouse_store
from netra.telemetry.store.clickhouse_store import (
    ClickHouseStore,
    UnsupportedSQL,
    arrow_stream,
    parse_url,
    translate,
)
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import quantile_cont, record, write

END = date(2026, 1, 1)  # a fixed demo window: both stores price the same days
DEMO = "demo"
BREAKDOWNS = ("model", "provider", "feature", "day")


@pytest.fixture(scope="module")
def click(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    store = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('clickhouse')}")
    asyncio.run(store.open())
    yield store
    asyncio.run(store.close())


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    store = DuckDBStore(tmp_path_factory.mktemp("duckdb") / "analytics.duckdb")
    asyncio.run(store.open())
    yield store
    asyncio.run(store.close())


@pytest.fixture(scope="module")
def demo(duck: DuckDBStore, click: ClickHouseStore) -> list[Any]:
    """The same 20,000 demo requests in both stores, as dataset DEMO."""
    return [
        asyncio.run(store.generate_demo(DEMO, rows=20_000, seed=5, end=END))
        for store in (duck, click)
    ]


@pytest.fixture
def dataset() -> str:
    return f"ds-{uuid.uuid4().hex[:12]}"


def _decimals(value: float) -> int:
    text = repr(value)
    return 15 if "e" in text or "." not in text else len(text.split(".")[1])


def differences(duck: Any, click: Any, path: str = "") -> list[str]:
    """Where two results differ (integers and text: exactly). Floats may differ by one
    step of their last shown decimal: the engines add in different orders, so a value
    exactly halfway between two rounding steps may round either way."""
    if isinstance(duck, dict) and isinstance(click, dict):
        if duck.keys() != click.keys():
            return [f"{path}: keys {sorted(duck)} != {sorted(click)}"]
        return [d for key in duck for d in differences(duck[key], click[key], f"{path}.{key}")]
    if isinstance(duck, list) and isinstance(click, list):
        if len(duck) != len(click):
            return [f"{path}: {len(duck)} rows != {len(click)} rows"]
        pairs = zip(duck, click, strict=True)
        return [d for i, (a, b) in enumerate(pairs) for d in differences(a, b, f"{path}[{i}]")]
    if isinstance(duck, float) and isinstance(click, float):
        step = 10.0 ** -min(max(_decimals(duck), _decimals(click)), 15)
        if math.isclose(duck, click, rel_tol=1e-9, abs_tol=step * 1.01):
            return []
    elif type(duck) is type(click) and duck == click:
        return []
    return [f"{path}: duckdb {duck!r} != clickhouse {click!r}"]


# -- the same numbers --------------------------------------------------------------------


async def test_demo_summary_is_the_same_on_duckdb_and_clickhouse(
    duck: DuckDBStore, click: ClickHouseStore, demo: list[Any]
) -> None:
    duck_load, click_load = demo
    summaries = [await overview.dataset_overview(s, DEMO) for s in (duck, click)]
    breakdowns = [
        [await overview.spend_breakdown(s, DEMO, by) for by in BREAKDOWNS] for s in (duck, click)
    ]
    assert (click_load.rows, click_load.inserted_rows, click_load.dataset_rows) == (
        20_000,
        20_000,
        20_000,
    )
    assert (click_load.first_ts, click_load.last_ts) == (duck_load.first_ts, duck_load.last_ts)
    assert click_load.total_cost_usd == pytest.approx(duck_load.total_cost_usd, rel=1e-12)
    assert summaries[0]["requests"] == 20_000 and summaries[0]["spend_usd"] > 0
    assert differences(summaries[0], summaries[1]) == []
    assert all(len(b["rows"]) > 1 for b in breakdowns[0])  # several keys to compare
    assert differences(breakdowns[0], breakdowns[1]) == []


async def test_an_imported_file_gives_the_same_rows_rejects_and_summary(
    duck: DuckDBStore, click: ClickHouseStore, dataset: str, tmp_path: Path
) -> None:
    content = (
        "\ufeffts,provider,model,input_tokens,output_tokens,cached_input_tokens,latency_ms,"
        "status,feature,request_id\r\n"
        "2025-11-01T10:00:00Z,openai,gpt-4o,1000,100,200,850.5,ok,chat,r1\r\n"
        '2025-11-01T10:00:01.1234567+01:00,anthropic,claude-sonnet-4-5,"5000",400,,2100,ok,,r2\r\n'
        "2025-11-02T00:00:00Z,openai,gpt-4o,abc,1,,,ok,chat,r3\r\n"
        "2025-11-03T08:30:00Z,acme,mystery-model,10,10,,,error,chat,r4\r\n"
    )
    path = write(tmp_path, "records.csv", content)
    duck_result, click_result = [await s.import_file(dataset, path) for s in (duck, click)]
    summaries = [await overview.dataset_overview(s, dataset) for s in (duck, click)]
    assert (click_result.format, click_result.rows, click_result.rejected_rows) == (
        "records-csv",
        3,
        1,
    )
    assert click_result.rejects == duck_result.rejects and click_result.rejects[0].line == 4
    assert click_result.unpriced_models == ["mystery-model"]
    assert click_result.total_cost_usd == pytest.approx(duck_result.total_cost_usd, rel=1e-12)
    assert click_result.first_ts == datetime(2025, 11, 1, 9, 0, 1, 123456, tzinfo=UTC)
    assert differences(summaries[0], summaries[1]) == []


Analysis = Callable[[AnalyticsStore, str], Awaitable[Any]]
# A slice of the demo: two days by the hour, one provider, answered requests.
SLICED, _ = read_query([("from", "2025-12-20"), ("to", "2025-12-22"), ("provider", "openai"),
                        ("status", "ok")])  # fmt: skip


async def request_pages(store: AnalyticsStore, dataset: str, sort: str) -> list[dict[str, Any]]:
    """Two pages of requests (each store follows its own cursor: the row hashes in it
    are the engine's own)."""
    first = await request_log.request_page(store, dataset, Slice(), sort=sort, limit=30)
    second = await request_log.request_page(store, dataset, Slice(), sort=sort, limit=30,
                                            cursor=first["next_cursor"])  # fmt: skip
    return [{k: v for k, v in page.items() if k != "next_cursor"} for page in (first, second)]

# Every finder, and the question tools and what-if replay that also run SQL on the store.
ANALYSES: dict[str, Analysis] = {
    **ALL_FINDERS,
    "dataset_profile": questions.dataset_profile,
    "error_cost": questions.error_cost,
    "latency_by_model": questions.latency_by_model,
    "spend_slice": lambda s, d: questions.spend_slice(s, d, "feature", last_days=7),
    "compare_providers": lambda s, d: questions.compare_providers(s, d, None),
    "whatif_batch_and_caching": lambda s, d: whatif.simulate(
        s, d, whatif.Scenario(batch=True, prompt_cache=True, response_cache=True)
    ),
    "dashboard": lambda s, d: dashboard.dashboard(s, d, Slice()),
    "dashboard_by_week": lambda s, d: dashboard.dashboard(s, d, Slice(), bucket="week", top=3),
    "dashboard_sliced": lambda s, d: dashboard.dashboard(s, d, SLICED),
    "requests_by_time": lambda s, d: request_pages(s, d, "time"),
    "requests_by_cost": lambda s, d: request_pages(s, d, "cost"),
}


@pytest.mark.parametrize("name", list(ANALYSES))
async def test_every_analysis_finds_the_same_on_clickhouse(
    duck: DuckDBStore, click: ClickHouseStore, demo: list[Any], name: str
) -> None:
    found = [await ANALYSES[name](store, DEMO) for store in (duck, click)]
    assert differences(*found) == []


async def test_the_demo_gives_the_finders_something_to_compare(
    duck: DuckDBStore, demo: list[Any]
) -> None:
    found = [await finder(duck, DEMO) for finder in ALL_FINDERS.values()]
    assert sum(bool(findings) for findings in found) >= 4


STATEMENTS = {
    "aggregates of no rows are NULL": (
        "SELECT count(*) AS n, sum(input_tokens) AS s, min(ts) AS first, avg(latency_ms) AS a,"
        " quantile_cont(latency_ms, 0.5) AS p, quantile_disc(latency_ms, 0.5) AS d "
        "FROM requests WHERE dataset_id = 'none'"
    ),
    "exact quantiles, interpolated and discrete": (
        "SELECT quantile_cont(latency_ms, 0.37) AS q37, median(input_tokens) AS m, "
        "quantile_disc(input_tokens, 0.5) AS d50, quantile_disc(input_tokens, 0.3) AS d30, "
        "quantile_disc(latency_ms, 0.9) FILTER (WHERE status = 'ok') AS d90_ok, "
        "median(latency_ms) FILTER (WHERE status = 'ok') AS m_ok, "
        "quantile_cont(input_tokens, [0.5, 0.99]) AS several, "
        "quantile_cont(latency_ms, [0.5, 0.9]) FILTER (WHERE status = 'ok') AS several_ok "
        "FROM requests WHERE dataset_id = ?"
    ),
    # (a whole list of no values is NULL in DuckDB and [NULL, NULL] in ClickHouse, whose
    # arrays cannot be NULL: our SQL reads such lists by element)
    "quantiles from a list of no values are NULL, in a group and overall": (
        "SELECT model, failed[1] AS p50, failed[2] * 2 AS p90_twice, none[2] AS none "
        "FROM (SELECT model, quantile_cont(input_tokens, [0.5, 0.9]) "
        "FILTER (WHERE status = 'error') AS failed, "
        "quantile_cont(latency_ms, [0.5, 0.9]) FILTER (WHERE latency_ms < 0) AS none "
        "FROM requests WHERE dataset_id = ? GROUP BY model) ORDER BY model"
    ),
    "a quantile from a list over no rows at all": (
        "SELECT several[1] AS p50 FROM (SELECT quantile_cont(latency_ms, [0.5, 0.9]) AS several "
        "FROM requests WHERE dataset_id = 'none')"
    ),
    "rounding the exact value half away from zero": (
        "SELECT round(21513.65::DOUBLE, 1) AS a, round(-2.5::DOUBLE) AS b, "
        "round(0.125::DOUBLE, 2) AS c, round(2.5::DOUBLE) AS d, "
        "round(590.05::DOUBLE, 1) AS e, round(-590.05::DOUBLE, 1) AS f, "
        "round(1e300::DOUBLE, 1) AS g, round(NULL::DOUBLE, 1) AS h"
    ),
    "unmatched LEFT JOIN columns are NULL": (
        "SELECT q.request_id, r.rate FROM requests AS q LEFT JOIN "
        "(SELECT 'r1' AS request_id, 5 / 2 AS rate) AS r ON r.request_id = q.request_id "
        "WHERE q.dataset_id = ? ORDER BY q.request_id"
    ),
    "lag and lead past the edge are NULL; epoch of a difference": (
        "SELECT request_id, lag(input_tokens) OVER w AS before, lead(ts) OVER w AS after, "
        "epoch(ts - lag(ts) OVER w) AS gap_s, epoch(ts) AS unix_s, "
        "lag(status) OVER w = 'error' AS after_error "
        "FROM requests WHERE dataset_id = ? WINDOW w AS (ORDER BY ts, request_id) "
        "ORDER BY ts, request_id"
    ),
    "an alias named like a column": (
        "SELECT provider, round(sum(cost_usd), 6) AS cost_usd, "
        "round(sum(cost_usd) * 2, 6) AS doubled FROM requests WHERE dataset_id = ? "
        "GROUP BY provider ORDER BY cost_usd DESC"
    ),
    "joined columns keep their plain names": (
        "WITH a AS (SELECT request_id, provider FROM requests WHERE dataset_id = ?), "
        "b AS (SELECT request_id, input_tokens FROM requests WHERE dataset_id = ?) "
        "SELECT a.*, b.input_tokens FROM a JOIN b USING (request_id) ORDER BY a.request_id"
    ),
    "microseconds, dates and text": (
        "SELECT ts, ts::DATE AS day, strftime(ts, '%Y-%m-%d %H:%M') AS minute, "
        "strftime(ts, '%d %B %Y (%A) %H:%M:%S.%f') AS spelled, "
        "CAST(? AS TIMESTAMP) AS given FROM requests WHERE dataset_id = ? ORDER BY ts"
    ),
    "typed NULL parameters (an empty rate table)": (
        "SELECT count(*) AS n, max(b) AS b, max(f) AS f FROM (VALUES "
        "(?::TIMESTAMP, ?::DOUBLE)) AS v(b, f) WHERE ? IS NOT NULL"
    ),
    "maps, named tuples, ordered lists, slices, bool_or, hash": (
        "SELECT histogram(hour(ts)) AS by_hour, bool_or(status = 'error') AS failed, "
        "(list(struct_pack(id := request_id, tokens := input_tokens) "
        "ORDER BY input_tokens DESC, request_id) FILTER (WHERE status = 'ok'))[1:2] AS top, "
        "count(DISTINCT hash(provider, feature)) AS slices FROM requests WHERE dataset_id = ?"
    ),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
async def test_duckdb_sql_gives_the_same_answer_on_clickhouse(
    duck: DuckDBStore, click: ClickHouseStore, dataset: str, name: str
) -> None:
    records = [
        record(ts="2026-03-01T10:00:00.123456Z", request_id="r1", input_tokens=500,
               latency_ms=120.5),
        record(ts="2026-03-01T10:00:00.123457Z", request_id="r2", input_tokens=900,
               status="error", latency_ms=80),
        record(ts="2026-03-02T23:59:59.999999Z", request_id="r3", provider="anthropic",
               model="claude-sonnet-4-5", latency_ms=3000.25, feature="chat"),
        record(ts="2026-03-03T00:00:00Z", request_id="r4", input_tokens=2000, latency_ms=7.5),
    ]  # fmt: skip
    sql = STATEMENTS[name]
    params: list[Any] = [dataset] * sql.count("?")
    if "given" in sql:
        params[0] = datetime(2026, 3, 1, 12, 0, 0, 250_000)
    if "VALUES" in sql:
        params[:2] = [None, None]
    answers = []
    for store in (duck, click):
        await store.insert_records(dataset, records)
        answers.append(await store.fetch(sql, params))
    assert answers[0] and differences(*answers) == []


# -- parameters and translation ----------------------------------------------------------


async def test_parameters_arrive_exactly_as_given(click: ClickHouseStore, dataset: str) -> None:
    await click.insert_records(dataset, [record()])
    values: list[Any] = [
        "it's", "back\\slash\\", "line\nbreak\ttab", "'); DROP TABLE requests; --", "{p0:String}",
        "__netra_p0__", "ünïcødé ✓", "", None, True, False, -5, 0, 2**62, -0.25, 1e-300,
        datetime(2026, 1, 2, 3, 4, 5, 678901), date(2024, 2, 29),
    ]  # fmt: skip
    sql = "SELECT " + ", ".join(f"? AS v{i}" for i in range(len(values)))
    [row] = await click.fetch(sql, values)
    [still] = await click.fetch(
        "SELECT count(*) AS n FROM requests WHERE dataset_id = ?", [dataset]
    )
    assert list(row.values()) == values
    assert still["n"] == 1


async def test_a_statement_past_the_default_size_limit_runs(click: ClickHouseStore) -> None:
    text = "it's \\ a long one " * 20_000  # ~380 KB, ClickHouse's default limit is 256 KiB
    [row] = await click.fetch("SELECT length(?) AS n, ? = ? AS same", [text, text, text])
    assert row == {"n": len(text.encode()), "same": True}


def test_translation_is_cached_and_checks_parameters() -> None:
    sql = "SELECT ?::VARCHAR AS a, '?' AS b -- ?\nWHERE ? = 1"
    statement = translate(sql)
    assert translate(sql) is statement and statement.parameters == 2
    assert statement.bind(["x", 1]).count("'?'") == 1  # quoted and commented `?` stay
    with pytest.raises(ValueError, match="2 parameter"):
        statement.bind(["x"])
    with pytest.raises(UnsupportedSQL):
        translate("SELECT FROM WHERE (")


# -- ingestion, deletion, isolation ------------------------------------------------------


async def test_resending_records_never_double_counts(click: ClickHouseStore, dataset: str) -> None:
    other = dataset + "-other"
    batch = [record(request_id="a"), record(request_id="b"), record(request_id="a")]
    first = await click.insert_records(dataset, batch)
    again = await click.insert_records(dataset, batch[:2] + [record()])
    elsewhere = await click.insert_records(other, batch[:1])
    rows = await click.fetch(
        "SELECT dataset_id, request_id, count(*) AS n FROM requests WHERE dataset_id IN (?, ?) "
        "GROUP BY ALL ORDER BY dataset_id, request_id NULLS LAST",
        [dataset, other],
    )
    assert (first.rows, first.inserted_rows, first.dataset_rows) == (3, 2, 2)
    assert (again.rows, again.inserted_rows, again.dataset_rows) == (3, 1, 3)
    assert (elsewhere.inserted_rows, elsewhere.dataset_rows) == (1, 1)  # its own dataset
    assert rows == [
        {"dataset_id": dataset, "request_id": "a", "n": 1},
        {"dataset_id": dataset, "request_id": "b", "n": 1},
        {"dataset_id": dataset, "request_id": None, "n": 1},
        {"dataset_id": other, "request_id": "a", "n": 1},
    ]


async def test_many_resent_records_are_recognised_in_chunks(
    click: ClickHouseStore, dataset: str
) -> None:
    batch = [record(request_id=f"req-{i}") for i in range(2_500)]  # > one id lookup
    await click.insert_records(dataset, batch[:1_200])
    result = await click.insert_records(dataset, batch)
    assert (result.rows, result.inserted_rows, result.dataset_rows) == (2_500, 1_300, 2_500)


async def test_large_loads_go_in_batches(
    click: ClickHouseStore, dataset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clickhouse_store, "BATCH_ROWS", 1_000)
    result = await click.generate_demo(dataset, rows=5_500, seed=9, end=END)
    [row] = await click.fetch(
        "SELECT count(*) AS n, count(DISTINCT request_id) AS ids FROM requests "
        "WHERE dataset_id = ?",
        [dataset],
    )
    assert (result.inserted_rows, result.dataset_rows, row["n"], row["ids"]) == (5_500,) * 4


def test_the_arrow_stream_a_server_receives_holds_every_batch() -> None:
    table = pa.table({"n": list(range(10)), "s": [f"v{i}" for i in range(10)]})
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=3))
    counted = [0]
    chunks = list(arrow_stream(reader, counted))
    assert len(chunks) == 6  # the schema, four batches, the end marker
    assert pa.ipc.open_stream(b"".join(chunks)).read_all().equals(table)
    assert counted == [10]


async def test_ingestion_rejects_carry_the_record_index(
    click: ClickHouseStore, dataset: str
) -> None:
    result = await click.insert_records(
        dataset,
        [record(), "nope", record(input_tokens=None)],  # type: ignore[list-item]
    )
    assert [(r.line, r.reason) for r in result.rejects] == [
        (1, "expected a JSON object, got str"),
        (2, "input_tokens: missing, but output_tokens is given (a call whose usage was not "
         "recorded leaves out both)"),
    ]
    assert (result.rows, result.dataset_rows) == (1, 1)


async def test_delete_removes_only_that_dataset(click: ClickHouseStore, dataset: str) -> None:
    kept = dataset + "-kept"
    await click.insert_records(dataset, [record()])
    await click.insert_records(kept, [record(), record()])
    await click.delete_dataset(dataset)
    rows = await click.fetch(
        "SELECT dataset_id, count(*) AS n FROM requests WHERE dataset_id IN (?, ?) GROUP BY 1",
        [dataset, kept],
    )
    again = await click.insert_records(dataset, [record(request_id="x")])
    assert rows == [{"dataset_id": kept, "n": 2}]
    assert again.dataset_rows == 1


async def test_deleting_a_slice_removes_the_same_requests_on_both_stores(
    duck: DuckDBStore, click: ClickHouseStore, dataset: str
) -> None:
    rows = [record(request_id=f"r{i}", ts=f"2026-11-0{1 + i % 3}T10:00:00Z",
                   model=("gpt-4o", "gpt-4o-mini")[i % 2], feature=(None, "chat")[i % 2])
            for i in range(12)]
    chosen = Slice(start=datetime(2026, 11, 2), end=datetime(2026, 11, 3, 12),
                   values={"model": ("gpt-4o",), "feature": ("(none)",)})
    where, params = chosen.where(dataset)
    left = []
    for store in (duck, click):
        await store.insert_records(dataset, rows)
        await store.insert_records(dataset + "-other", rows)  # another dataset: untouched
        await store.delete_requests(dataset, where, params)
        left.append(await store.fetch(
            "SELECT dataset_id, request_id FROM requests WHERE dataset_id IN (?, ?) "
            "ORDER BY dataset_id, request_id", [dataset, dataset + "-other"]))
        await store.delete_dataset(dataset + "-other")
    gone = {f"r{i}" for i in range(12) if i % 2 == 0 and i % 3 in (1, 2)}
    assert gone  # the slice holds some, not all
    assert left[0] == left[1]
    assert {r["request_id"] for r in left[0] if r["dataset_id"] == dataset} == \
        {f"r{i}" for i in range(12)} - gone


async def test_datasets_do_not_see_each_other(
    click: ClickHouseStore, demo: list[Any], dataset: str
) -> None:
    alone = await click.insert_records(dataset, [record(input_tokens=10, output_tokens=1)])
    small = await overview.dataset_overview(click, dataset)
    big = await overview.dataset_overview(click, DEMO)
    nothing = await overview.dataset_overview(click, dataset + "-never-written")
    assert (alone.dataset_rows, small["requests"], big["requests"]) == (1, 1, 20_000)
    assert small["first_ts"] == small["last_ts"] == "2026-11-01T10:00:00.000Z"
    rates = pricing.price_per_mtok("openai", "gpt-4o", date(2026, 11, 1))
    assert rates is not None
    assert small["models"] == [
        {"key": "gpt-4o", "requests": 1, "spend_usd": round(rates.cost_usd(10, 1), 6)}
    ]
    assert (nothing["requests"], nothing["spend_usd"], nothing["first_ts"]) == (0, 0.0, None)


async def test_rows_persist_and_queries_run_concurrently(
    click: ClickHouseStore, dataset: str
) -> None:
    await click.generate_demo(dataset, rows=2_000, seed=3, end=END)
    counts = await asyncio.gather(
        *(click.fetch("SELECT count(*) AS n FROM requests WHERE dataset_id = ?", [dataset])
          for _ in range(8))
    )  # fmt: skip
    assert {c[0]["n"] for c in counts} == {2_000}
    assert await click.ping() >= 0
    await click.close()  # the only connection: the engine stops, the directory stays
    await click.open()
    await click.open()  # idempotent
    [row] = await click.fetch("SELECT count(*) AS n FROM requests WHERE dataset_id = ?", [dataset])
    assert row["n"] == 2_000


# -- configuration -----------------------------------------------------------------------


def test_an_older_table_gains_the_columns_added_since_on_every_node() -> None:
    cluster = parse_url("clickhouse://h:8123/db?cluster=main")
    assert clickhouse_store.added_columns_ddl(cluster, ["dataset_id", "ts"]) == [
        "ALTER TABLE requests_local ON CLUSTER 'main' ADD COLUMN IF NOT EXISTS usage_recorded "
        "Nullable(Bool) DEFAULT true",
        "ALTER TABLE requests ON CLUSTER 'main' ADD COLUMN IF NOT EXISTS usage_recorded "
        "Nullable(Bool) DEFAULT true",
    ]
    single = parse_url("clickhouse://h:8123/db")
    assert clickhouse_store.added_columns_ddl(single, ["usage_recorded"]) == []
    assert clickhouse_store.added_columns_ddl(single, []) == [
        "ALTER TABLE requests ADD COLUMN IF NOT EXISTS usage_recorded Nullable(Bool) DEFAULT true"
    ]


def test_urls_name_a_server_a_cluster_or_an_embedded_directory() -> None:
    server = parse_url("clickhouse://netra:p%40ss@ch.internal:9123/analytics?cluster=main")
    assert (server.engine, server.host, server.port, server.username, server.password) == (
        "server",
        "ch.internal",
        9123,
        "netra",
        "p@ss",
    )
    assert (server.database, server.secure, server.cluster, server.local_table) == (
        "analytics",
        False,
        "main",
        "requests_local",
    )
    tls = parse_url("clickhouses://ch.example.com")
    assert (tls.port, tls.secure, tls.database, tls.cluster) == (8443, True, "default", None)
    assert parse_url("chdb:///var/lib/netra/ch").path == "/var/lib/netra/ch"
    assert parse_url("chdb://").path == ":memory:"
    for bad, why in [
        ("postgres://h/db", "unsupported scheme"),
        ("clickhouse://h/db?compress=1", "unknown option"),
        ("clickhouse:///db", "no host"),
        ("clickhouse://h/x;DROP", "not a plain name"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_url(bad)


async def test_latency_quantiles_agree_to_the_last_bit(
    duck: DuckDBStore, click: ClickHouseStore, dataset: str
) -> None:
    """Between 5387 and 5390 at 0.95 · 561 (just short of 532.95 in floating point) the
    p95 rounds to 5389.9 or 5389.8 depending on how the two values are weighted: the
    overview and the breakdowns must give DuckDB's quantile_cont on both stores."""
    records = ([record(latency_ms=5387.0) for _ in range(533)]
               + [record(latency_ms=5390.0) for _ in range(29)])
    answers = []
    for store in (duck, click):
        await store.insert_records(dataset, records)
        answers.append((
            (await overview.dataset_overview(store, dataset))["p95_latency_ms"],
            (await overview.spend_breakdown(store, dataset, "model"))["rows"][0]["p95_latency_ms"],
        ))
    assert answers == [(5389.9, 5389.9)] * 2


async def test_interpolated_quantiles_are_duckdbs_on_both_stores(
    duck: DuckDBStore, click: ClickHouseStore, dataset: str
) -> None:
    """Unrounded quantile_cont at many fractions, over latencies with decimals: the last
    bit must be DuckDB's (fma(lo, 1 − f, hi·f)) on both stores."""
    rng = random.Random(11)
    latencies = [round(rng.uniform(0, 40_000), rng.choice((0, 1, 2))) for _ in range(397)]
    fractions = [0.5, 0.9, 0.95, 0.99, 0.37, *(round(rng.random(), 6) for _ in range(25))]
    sql = ("SELECT " + ", ".join(f"quantile_cont(latency_ms, {q}) AS q{i}"
                                 for i, q in enumerate(fractions))
           + " FROM requests WHERE dataset_id = ?")
    expected = {f"q{i}": quantile_cont(latencies, q) for i, q in enumerate(fractions)}
    for store in (duck, click):
        await store.insert_records(dataset, [record(latency_ms=v) for v in latencies])
        assert await store.fetch(sql, [dataset]) == [expected], store.name
