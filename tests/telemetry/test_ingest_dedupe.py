"""The ingestion API's request_id de-duplication, enforced by the state database: each
dataset's request_ids are claimed in `ingested_requests` (a unique key per dataset) in the
request's transaction, so a batch re-sent, or sent to two processes at once, is added once.

Real SQLite/PostgreSQL (see tests/conftest.py), real DuckDB, and ClickHouse through its
HTTP interface (tests/fakes/clickhouse_server.py) where two processes share one engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from netra.db import Database
from netra.telemetry import service
from netra.telemetry.models import IngestedRequest
from netra.telemetry.store import AnalyticsStore, ImportResult, Reject
from netra.telemetry.store.clickhouse_store import ClickHouseStore
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.fakes.clickhouse_server import clickhouse_server
from tests.telemetry.helpers import record
from tests.telemetry.test_service import create_user


@pytest.fixture(scope="module")
def clickhouse_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with clickhouse_server(tmp_path_factory.mktemp("clickhouse-server")) as url:
        yield url


async def create_dataset(
    database: Database, email: str = "ada@example.com"
) -> tuple[service.Owner, str]:
    user_id = await create_user(database, email)
    async with database.transaction() as session:
        dataset = await service.create_empty(session, user_id, name="live")
    return user_id, dataset.id


async def ingest(
    database: Database,
    store: AnalyticsStore,
    user_id: service.Owner,
    dataset_id: str,
    records: list[dict[str, Any]],
) -> ImportResult:
    """One ingestion request: its own transaction, committed when it returns."""
    async with database.transaction() as session:
        return await service.ingest_records(session, store, user_id, dataset_id, records)


async def stored_rows(store: AnalyticsStore, dataset_id: str) -> int:
    [row] = await store.fetch(
        "SELECT count(*) AS n FROM requests WHERE dataset_id = ?", [dataset_id]
    )
    return int(row["n"])


async def claims(database: Database, dataset_id: str) -> int:
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(IngestedRequest)
            .where(IngestedRequest.dataset_id == dataset_id)
        )
    return int(count or 0)


async def catalogued_rows(
    database: Database, user_id: service.Owner, dataset_id: str
) -> tuple[int, int]:
    async with database.transaction() as session:
        dataset = await service.get_dataset(session, user_id.organization_id, dataset_id)
        return dataset.rows, dataset.rejected_rows


async def test_a_batch_sent_twice_is_added_once(database: Database, store: DuckDBStore) -> None:
    user_id, dataset_id = await create_dataset(database)
    batch = [record(request_id="a"), record(request_id="b")]
    first = await ingest(database, store, user_id, dataset_id, batch)
    again = await ingest(database, store, user_id, dataset_id, batch)
    assert (first.rows, first.inserted_rows) == (2, 2)
    assert (again.rows, again.rejected_rows, again.inserted_rows) == (2, 0, 0)
    assert await stored_rows(store, dataset_id) == 2
    assert await claims(database, dataset_id) == 2
    assert await catalogued_rows(database, user_id, dataset_id) == (2, 0)


@asynccontextmanager
async def two_stores(
    engine: str, path: Path, clickhouse: str | None
) -> AsyncIterator[tuple[AnalyticsStore, AnalyticsStore]]:
    """Two clients of one analytics engine, as two processes hold them: each with its own
    connection and its own locks."""
    one: AnalyticsStore
    two: AnalyticsStore
    if engine == "duckdb":
        one, two = DuckDBStore(path), DuckDBStore(path)
    else:
        assert clickhouse is not None
        one, two = ClickHouseStore(clickhouse), ClickHouseStore(clickhouse)
    await one.open()
    await two.open()
    try:
        yield one, two
    finally:
        await two.close()
        await one.close()


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
async def test_a_batch_sent_to_two_processes_at_once_is_added_once(
    engine: str, database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clickhouse = request.getfixturevalue("clickhouse_url") if engine == "clickhouse" else None
    user_id, dataset_id = await create_dataset(database)
    # The other process: its own engine and pool on the same state database.
    other = Database(database.url.render_as_string(hide_password=False))
    batch = [record(request_id=f"r{i}", input_tokens=1000 + i) for i in range(300)]
    batch.append(record())  # no request_id: each process adds it
    try:
        async with two_stores(engine, tmp_path / "analytics.duckdb", clickhouse) as (one, two):
            first, second = await asyncio.gather(
                ingest(database, one, user_id, dataset_id, batch),
                ingest(other, two, user_id, dataset_id, batch),
            )
            rows = await stored_rows(one, dataset_id)
    finally:
        await other.close()
    assert first.rows == second.rows == 301
    assert sorted([first.inserted_rows, second.inserted_rows]) == [1, 301]
    assert rows == 302
    assert await claims(database, dataset_id) == 300
    # the second to commit waited for the first, so its view of the dataset is whole
    assert await catalogued_rows(database, user_id, dataset_id) == (302, 0)


async def test_a_rejected_record_keeps_its_index_and_its_corrected_resend_is_added(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    await ingest(database, store, user_id, dataset_id, [record(request_id="a")])
    batch = [
        record(request_id="a"),  # already there: accepted, never sent to the store
        record(request_id="x", output_tokens=-1),
        record(request_id="y"),
    ]
    result = await ingest(database, store, user_id, dataset_id, batch)
    assert (result.rows, result.rejected_rows, result.inserted_rows) == (2, 1, 1)
    assert result.rejects == [Reject(1, "output_tokens: must be a whole number ≥ 0 (got -1)")]
    corrected = await ingest(database, store, user_id, dataset_id, [record(request_id="x")])
    assert (corrected.rows, corrected.inserted_rows) == (1, 1)
    assert await stored_rows(store, dataset_id) == 3
    assert await claims(database, dataset_id) == 3
    assert await catalogued_rows(database, user_id, dataset_id) == (3, 1)


async def test_rejects_past_the_listed_ones_release_their_claims_too(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    broken = [record(request_id=f"b{i}", output_tokens=-1) for i in range(150)]
    result = await ingest(database, store, user_id, dataset_id, [record(request_id="ok"), *broken])
    assert (result.rows, result.rejected_rows, len(result.rejects)) == (1, 150, 100)
    assert [r.line for r in result.rejects] == list(range(1, 101))
    assert await claims(database, dataset_id) == 1
    fixed = [record(request_id=f"b{i}") for i in range(150)]
    again = await ingest(database, store, user_id, dataset_id, fixed)
    assert again.inserted_rows == 150
    assert await stored_rows(store, dataset_id) == 151


async def test_a_request_id_repeated_in_one_call_counts_once(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    batch = [record(request_id="d", output_tokens=-1), record(request_id="d"),
             record(request_id="d")]  # fmt: skip
    result = await ingest(database, store, user_id, dataset_id, batch)
    assert (result.rows, result.rejected_rows, result.inserted_rows) == (2, 1, 1)
    assert [r.line for r in result.rejects] == [0]
    assert await claims(database, dataset_id) == 1  # a valid "d" went in: its claim stays
    again = await ingest(database, store, user_id, dataset_id, [record(request_id="d")])
    assert again.inserted_rows == 0
    assert await stored_rows(store, dataset_id) == 1


async def test_records_without_a_request_id_are_never_deduplicated(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    batch = [record(), record(), record(request_id=""), record(request_id=None)]
    for _ in range(2):
        result = await ingest(database, store, user_id, dataset_id, batch)
        assert (result.rows, result.inserted_rows) == (4, 4)
    assert await stored_rows(store, dataset_id) == 8
    assert await claims(database, dataset_id) == 0


async def test_request_ids_are_matched_as_the_store_keeps_them(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    spellings: list[dict[str, Any]] = [
        {"request_id": " r1 "}, {"Request_ID": "r1"}, {" request_id": "r1\t"},
        {"request_id": 7}, {"request_id": "7"},
    ]  # fmt: skip
    results = [
        await ingest(database, store, user_id, dataset_id, [record(**spelling)])
        for spelling in spellings
    ]
    assert [r.inserted_rows for r in results] == [1, 0, 0, 1, 0]
    assert await claims(database, dataset_id) == 2
    [row] = await store.fetch(
        "SELECT list(request_id ORDER BY request_id) AS ids FROM requests WHERE dataset_id = ?",
        [dataset_id],
    )
    assert row["ids"] == ["7", "r1"]


async def test_a_failed_store_write_rolls_its_claims_back(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    batch = [record(request_id="a"), record(request_id="b")]
    await store.close()
    with pytest.raises(RuntimeError, match="not open"):
        await ingest(database, store, user_id, dataset_id, batch)
    assert await claims(database, dataset_id) == 0
    await store.open()
    result = await ingest(database, store, user_id, dataset_id, batch)
    assert result.inserted_rows == 2


async def test_rows_ingested_before_claims_existed_are_still_recognised(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    await store.insert_records(dataset_id, [record(request_id="old")])  # no claim for it
    result = await ingest(database, store, user_id, dataset_id, [record(request_id="old")])
    assert (result.rows, result.inserted_rows) == (1, 0)
    assert await stored_rows(store, dataset_id) == 1
    assert await claims(database, dataset_id) == 1  # claimed now


async def test_deleting_a_dataset_removes_its_claims(
    database: Database, store: DuckDBStore
) -> None:
    user_id, dataset_id = await create_dataset(database)
    async with database.transaction() as session:
        kept = await service.create_empty(session, user_id, name="kept")
    batch = [record(request_id="a"), record(request_id="b")]
    await ingest(database, store, user_id, dataset_id, batch)
    await ingest(database, store, user_id, kept.id, batch)
    async with database.transaction() as session:
        await service.delete_dataset(session, store, user_id.organization_id, dataset_id)
    assert await claims(database, dataset_id) == 0
    assert await claims(database, kept.id) == 2
