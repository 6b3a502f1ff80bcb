"""The ClickHouse store through its real server client (clickhouse-connect over HTTP)
against the test-only ClickHouse server (tests/fakes/clickhouse_server.py: ClickHouse's
HTTP interface, statements run by chdb in a subprocess), beside the same store on chdb
in this process: the same numbers, imports, idempotent ingestion, deletion, ClickHouse's
errors, and writes shared between clients and processes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from pydantic import SecretStr

from netra.analysis import overview, questions
from netra.analysis.findings import ALL_FINDERS
from netra.settings import Settings
from netra.telemetry.store import create_analytics_store
from netra.telemetry.store.clickhouse_store import TABLE_COLUMNS, ClickHouseStore, parse_url
from tests.fakes.clickhouse_server import clickhouse_server
from tests.telemetry.helpers import open_store, record, write
from tests.telemetry.test_calls_without_usage import STORED, as_csv, as_jsonl, calls
from tests.telemetry.test_clickhouse_store import BREAKDOWNS, differences

END = date(2026, 1, 1)
DEMO = "demo"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with clickhouse_server(tmp_path_factory.mktemp("clickhouse-server")) as url:
        yield url


def _open(store: ClickHouseStore) -> Iterator[ClickHouseStore]:
    asyncio.run(store.open())
    yield store
    asyncio.run(store.close())


@pytest.fixture(scope="module")
def remote(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    """The store as the app builds it from NETRA_ANALYTICS_URL."""
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("data"),
                        secret_key=SecretStr("s" * 40), analytics_url=server)  # fmt: skip
    store = create_analytics_store(settings)
    assert isinstance(store, ClickHouseStore) and store.target.engine == "server"
    yield from _open(store)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    yield from _open(ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('chdb')}"))


@pytest.fixture(scope="module")
def demo(remote: ClickHouseStore, local: ClickHouseStore) -> list[Any]:
    """The same 3,000 demo requests over HTTP and in-process, as dataset DEMO."""
    return [
        asyncio.run(store.generate_demo(DEMO, rows=3_000, seed=5, end=END))
        for store in (remote, local)
    ]


@pytest.fixture
def dataset() -> str:
    return f"ds-{uuid.uuid4().hex[:12]}"


def _client(url: str, **options: Any) -> Any:
    target = parse_url(url)
    return clickhouse_connect.get_client(host=target.host, port=target.port, **options)


# -- the store over HTTP -----------------------------------------------------------------


async def test_the_demo_gives_the_same_numbers_over_http_and_in_process(
    remote: ClickHouseStore, local: ClickHouseStore, demo: list[Any]
) -> None:
    over_http, in_process = demo
    summaries = [await overview.dataset_overview(s, DEMO) for s in (remote, local)]
    breakdowns = [
        [await overview.spend_breakdown(s, DEMO, by) for by in BREAKDOWNS] for s in (remote, local)
    ]
    found = [[await finder(s, DEMO) for finder in ALL_FINDERS.values()] for s in (remote, local)]
    assert (over_http.rows, over_http.inserted_rows, over_http.dataset_rows) == (3_000,) * 3
    assert (over_http.first_ts, over_http.last_ts) == (in_process.first_ts, in_process.last_ts)
    assert over_http.total_cost_usd == pytest.approx(in_process.total_cost_usd, rel=1e-12)
    assert summaries[0]["requests"] == 3_000 and summaries[0]["spend_usd"] > 0
    assert differences(summaries[1], summaries[0]) == []
    assert all(len(b["rows"]) > 1 for b in breakdowns[0])
    assert differences(breakdowns[1], breakdowns[0]) == []
    assert any(found[0]) and differences(found[1], found[0]) == []


async def test_an_imported_file_gives_the_same_result_over_http(
    remote: ClickHouseStore, local: ClickHouseStore, dataset: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "records.csv", (
        "ts,provider,model,input_tokens,output_tokens,cached_input_tokens,latency_ms,"
        "status,feature,request_id\n"
        "2025-11-01T10:00:00Z,openai,gpt-4o,1000,100,200,850.5,ok,chat,r1\n"
        "2025-11-01T10:00:01.123456Z,anthropic,claude-sonnet-4-5,5000,400,,2100,ok,,r2\n"
        "2025-11-02T00:00:00Z,openai,gpt-4o,abc,1,,,ok,chat,r3\n"
        "2025-11-03T08:30:00Z,acme,mystery-model,10,10,,,error,chat,r4\n"
    ))  # fmt: skip
    over_http, in_process = [await s.import_file(dataset, path) for s in (remote, local)]
    summaries = [await overview.dataset_overview(s, dataset) for s in (remote, local)]
    assert (over_http.format, over_http.rows, over_http.rejected_rows) == ("records-csv", 3, 1)
    assert over_http.rejects == in_process.rejects and over_http.rejects[0].line == 4
    assert over_http.unpriced_models == ["mystery-model"]
    assert over_http.total_cost_usd == pytest.approx(in_process.total_cost_usd, rel=1e-12)
    assert (over_http.first_ts, over_http.last_ts) == (in_process.first_ts, in_process.last_ts)
    assert differences(summaries[1], summaries[0]) == []


@pytest.mark.parametrize("fmt", ["records-csv", "records-jsonl"])
async def test_calls_without_usage_are_kept_and_summed_as_on_duckdb(
    remote: ClickHouseStore, dataset: str, tmp_path: Path, fmt: str
) -> None:
    text = as_csv(calls()) if fmt == "records-csv" else as_jsonl(calls())
    path = write(tmp_path, "calls.txt", text)
    async with open_store(tmp_path) as duck:
        expected = await duck.import_file(dataset, path, fmt)
        duck_overview = await overview.dataset_overview(duck, dataset)
        duck_errors = await questions.error_cost(duck, dataset)
        duck_rows = await duck.fetch(STORED, [dataset])
    result = await remote.import_file(dataset, path, fmt)
    assert (result.rows, result.rejected_rows) == (54, 0)
    assert result.report == expected.report
    assert result.report.kept == {"failed_calls_without_usage": 11, "usage_unknown": 3}
    assert result.total_cost_usd == pytest.approx(expected.total_cost_usd, rel=1e-12)
    assert result.unpriced_models == []
    click_overview = await overview.dataset_overview(remote, dataset)
    assert (click_overview["usage_unknown_requests"], click_overview["input_tokens"],
            click_overview["error_rate"]) == (3, 40_000, round(13 / 54, 4))  # fmt: skip
    assert differences(duck_overview, click_overview) == []
    assert differences(duck_errors, await questions.error_cost(remote, dataset)) == []
    assert differences(duck_rows, await remote.fetch(STORED, [dataset])) == []


def test_a_table_made_before_usage_recorded_gains_it(server: str) -> None:
    client = _client(server)
    client.command("CREATE DATABASE IF NOT EXISTS legacy")
    old_columns = TABLE_COLUMNS.replace(", usage_recorded Nullable(Bool)", "")
    assert old_columns != TABLE_COLUMNS
    client.command(f"CREATE TABLE legacy.requests ({old_columns}) "
                   "ENGINE = MergeTree ORDER BY (dataset_id, ts)")  # fmt: skip
    client.command("INSERT INTO legacy.requests (dataset_id, ts, provider, model, input_tokens, "
                   "output_tokens, status, cost_usd) VALUES ('old', '2026-01-01 10:00:00', "
                   "'openai', 'gpt-4o', 1000, 100, 'ok', 0.0035)")  # fmt: skip
    store = ClickHouseStore(server.rsplit("/", 1)[0] + "/legacy")
    for _ in range(2):  # opening again finds the column there
        asyncio.run(store.open())
        old = asyncio.run(store.fetch("SELECT usage_recorded FROM requests WHERE dataset_id = ?",
                                      ["old"]))  # fmt: skip
        added = asyncio.run(store.insert_records("new", [record(status="error", input_tokens=None,
                                                                output_tokens=None)]))  # fmt: skip
        totals = asyncio.run(overview.overview_totals(store, "old"))
        asyncio.run(store.close())
    assert old == [{"usage_recorded": True}]
    assert added.report.kept["failed_calls_without_usage"] == 1
    assert (totals["requests"], totals["failed_without_usage_requests"]) == (1, 0)


async def test_resent_records_are_not_counted_twice(remote: ClickHouseStore, dataset: str) -> None:
    batch = [record(request_id="a"), record(request_id="b"), record(request_id="a")]
    first = await remote.insert_records(dataset, batch)
    again = await remote.insert_records(dataset, [*batch[:2], record(request_id="c")])
    rows = await remote.fetch(
        "SELECT request_id, count(*) AS n FROM requests WHERE dataset_id = ? "
        "GROUP BY request_id ORDER BY request_id",
        [dataset],
    )
    assert (first.rows, first.inserted_rows, first.dataset_rows) == (3, 2, 2)
    assert (again.rows, again.inserted_rows, again.dataset_rows) == (3, 1, 3)
    assert rows == [{"request_id": r, "n": 1} for r in ("a", "b", "c")]


async def test_delete_removes_only_that_dataset(remote: ClickHouseStore, dataset: str) -> None:
    kept = dataset + "-kept"
    await remote.generate_demo(dataset, rows=200, seed=1, end=END)
    await remote.insert_records(kept, [record(), record()])
    await remote.delete_dataset(dataset)
    rows = await remote.fetch(
        "SELECT dataset_id, count(*) AS n FROM requests WHERE dataset_id IN (?, ?) GROUP BY 1",
        [dataset, kept],
    )
    assert rows == [{"dataset_id": kept, "n": 2}]


async def test_a_failing_statement_raises_clickhouses_error(
    remote: ClickHouseStore, local: ClickHouseStore
) -> None:
    sql = "SELECT no_such_column FROM requests"
    with pytest.raises(Exception) as in_process:  # noqa: B017 - chdb's own error class
        await local.fetch(sql)
    with pytest.raises(DatabaseError) as over_http:
        await remote.fetch(sql)
    assert "DB::Exception" in str(in_process.value)
    assert str(in_process.value) in str(over_http.value)
    assert over_http.value.code == 47  # UNKNOWN_IDENTIFIER
    with pytest.raises(DatabaseError, match=r"Code: 62\. DB::Exception: Syntax error"):
        await asyncio.to_thread(remote.executor.execute, "SELEC 1")
    assert (await remote.ping()) > 0  # the server and the client carry on


async def test_two_clients_see_each_others_writes(
    server: str, remote: ClickHouseStore, dataset: str
) -> None:
    other = ClickHouseStore(server)
    await other.open()
    try:
        await remote.insert_records(dataset, [record(request_id="one")])
        seen = await other.insert_records(dataset, [record(request_id="one"), record()])
        [row] = await remote.fetch(
            "SELECT count(*) AS n FROM requests WHERE dataset_id = ?", [dataset]
        )
    finally:
        await other.close()
    assert (seen.inserted_rows, seen.dataset_rows, row["n"]) == (1, 2, 2)


async def test_another_process_sees_and_adds_rows(
    server: str, remote: ClickHouseStore, dataset: str
) -> None:
    await remote.insert_records(dataset, [record(request_id="parent")])
    script = textwrap.dedent("""
        import asyncio, sys
        from netra.telemetry.store.clickhouse_store import ClickHouseStore
        from tests.telemetry.helpers import record

        async def main(url: str, dataset: str) -> None:
            store = ClickHouseStore(url)
            await store.open()
            sent = [record(request_id="parent"), record(request_id="child")]
            result = await store.insert_records(dataset, sent)
            await store.close()
            print(result.inserted_rows, result.dataset_rows)

        asyncio.run(main(*sys.argv[1:]))
    """)
    child = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script, server, dataset],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    [row] = await remote.fetch("SELECT count(*) AS n FROM requests WHERE dataset_id = ?", [dataset])
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["1", "2"] and row["n"] == 2


# -- the HTTP interface as clickhouse-connect and ClickHouse speak it ----------------------


@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", "none"])
def test_compressed_inserts_and_server_side_parameters(server: str, compress: str) -> None:
    client = _client(server, compress=False if compress == "none" else compress)
    table = f"t_{compress}"
    client.command(f"CREATE TABLE {table} (n Int64, s String) ENGINE = MergeTree ORDER BY n")
    summary = client.insert(table, [[i, f"v{i}"] for i in range(5_000)], column_names=["n", "s"])
    result = client.query(  # {low:Int64}: bound by the server, from a param_low URL parameter
        f"SELECT count(), sum(n), max(s) FROM {table} WHERE n >= {{low:Int64}}",
        parameters={"low": 10},
    )
    client.close()
    assert summary.written_rows == 5_000
    assert result.result_rows == [(4_990, sum(range(10, 5_000)), "v999")]


def test_parameters_sent_in_a_multipart_form(server: str) -> None:
    client = _client(server, form_encode_query_params=True)
    sql = "SELECT {word:String} AS word, {n:Int64} * 2 AS twice"
    result = client.query(sql, parameters={"word": "it's", "n": 21})
    client.close()
    assert result.result_rows == [("it's", 42)]


def test_settings_last_one_request_unless_set_in_a_session(server: str) -> None:
    client = _client(server, autogenerate_session_id=False)
    session = _client(server, autogenerate_session_id=True)
    default = client.command("SELECT getSetting('max_threads')")
    assert client.command("SELECT getSetting('max_threads')", settings={"max_threads": 3}) == 3
    assert client.command("SELECT getSetting('max_threads')") == default != 3
    session.command("SET max_threads = 5")
    assert session.command("SELECT getSetting('max_threads')", settings={"max_threads": 2}) == 2
    assert session.command("SELECT getSetting('max_threads')") == 5
    assert client.command("SELECT getSetting('max_threads')") == default
    client.close()
    session.close()


def test_raw_http_answers_as_clickhouse_does(server: str) -> None:
    base = f"http://{parse_url(server).host}:{parse_url(server).port}"
    with urlopen(f"{base}/ping") as ping:
        assert ping.read() == b"Ok.\n"
    post = Request(f"{base}/?query=SELECT%20number%20%2B%20", data=b"1 FROM numbers(2)")
    with urlopen(post) as answer:
        assert answer.read() == b"1\n2\n"
        assert answer.headers["X-ClickHouse-Format"] == "TabSeparated"
        assert answer.headers["X-ClickHouse-Query-Id"]
    with pytest.raises(HTTPError) as failed:
        urlopen(Request(base, data=b"SELECT * FROM no_such_table"))
    assert failed.value.code == 404  # ClickHouse's status for UNKNOWN_TABLE
    assert failed.value.headers["X-ClickHouse-Exception-Code"] == "60"
    assert failed.value.read().startswith(b"Code: 60. DB::Exception: ")
