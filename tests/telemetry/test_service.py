"""Datasets service on real SQLite/PostgreSQL + DuckDB: ownership and bookkeeping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from netra.analysis.slicing import Slice
from netra.auth.models import User
from netra.db import Database
from netra.errors import NotFound, TooLarge, ValidationFailed
from netra.orgs.service import personal_organization
from netra.telemetry import service
from netra.telemetry.quota import Quota
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import record, write


async def create_user(database: Database, email: str) -> service.Owner:
    """A user acting in their personal organization."""
    async with database.transaction() as session:
        user = User(email=email, name=email.split("@")[0], password_hash="x")
        session.add(user)
        await session.flush()
        personal = await personal_organization(session, user)
        return service.Owner(personal.id, user.id)


async def test_upload_creates_a_dataset_with_its_counts(
    database: Database, store: DuckDBStore, tmp_path: Path
) -> None:
    ada = await create_user(database, "ada@example.com")
    content = (
        "ts,provider,model,input_tokens,output_tokens\n"
        "2026-11-01T00:00:00Z,openai,gpt-4o,1000,100\n2026-11-02,openai,gpt-4o,x,1\n"
    )
    path = write(tmp_path, "f.csv", content)
    async with database.transaction() as session:
        dataset, result = await service.create_from_upload(
            session, store, ada, path=path, filename="f.csv", fmt="auto", name=None,
            default_model=None, default_provider=None,
        )  # fmt: skip
    async with database.transaction() as session:
        saved = await service.get_dataset(session, ada.organization_id, dataset.id)
    assert (saved.name, saved.format, saved.rows, saved.rejected_rows) == (
        "f.csv",
        "records-csv",
        1,
        1,
    )
    assert saved.total_cost_usd == pytest.approx(0.0035)
    assert saved.first_ts is not None and saved.first_ts.tzinfo is not None
    assert result.rejects[0].line == 3


async def test_a_file_without_valid_rows_is_refused(
    database: Database, store: DuckDBStore, tmp_path: Path
) -> None:
    ada = await create_user(database, "ada@example.com")
    path = write(tmp_path, "f.csv", "ts,provider,model,input_tokens,output_tokens\nx,a,b,1,1\n")
    async with database.transaction() as session:
        with pytest.raises(ValidationFailed):
            await service.create_from_upload(
                session, store, ada, path=path, filename="f.csv", fmt="records-csv",
                name="n", default_model=None, default_provider=None,
            )  # fmt: skip
        assert await service.list_datasets(session, ada.organization_id) == []
    assert await store.fetch("SELECT * FROM requests") == []


async def test_another_users_dataset_is_not_found(database: Database, store: DuckDBStore) -> None:
    ada = await create_user(database, "ada@example.com")
    bob = await create_user(database, "bob@example.com")
    async with database.transaction() as session:
        dataset = await service.create_demo(session, store, ada, rows=500, seed=1)
    async with database.transaction() as session:
        with pytest.raises(NotFound):
            await service.get_dataset(session, bob.organization_id, dataset.id)
        with pytest.raises(NotFound):
            await service.delete_dataset(session, store, bob.organization_id, dataset.id)
        with pytest.raises(NotFound):
            await service.ingest_records(session, store, bob, dataset.id, [record()])
        assert await service.list_datasets(session, bob.organization_id) == []
        assert await service.newest_datasets(
            session, {ada.organization_id, bob.organization_id}
        ) == {ada.organization_id: dataset.id}
    [row] = await store.fetch(
        "SELECT count(*) AS n FROM requests WHERE dataset_id = ?", [dataset.id]
    )
    assert row["n"] == 500


async def test_ingest_updates_the_catalogue_and_delete_removes_everything(
    database: Database, store: DuckDBStore
) -> None:
    ada = await create_user(database, "ada@example.com")
    async with database.transaction() as session:
        empty = await service.create_empty(session, ada, name="live")
        await service.create_demo(session, store, ada, rows=200, seed=2)
    async with database.transaction() as session:
        result = await service.ingest_records(
            session, store, ada, empty.id, [record(request_id="r1"), record(output_tokens=-1)]
        )
        await service.ingest_records(session, store, ada, empty.id, [record(request_id="r1")])
    async with database.transaction() as session:
        saved = await service.get_dataset(session, ada.organization_id, empty.id)
        assert (saved.rows, saved.rejected_rows) == (1, 1)
        assert result.rejects[0].line == 1
        names = [d.name for d in await service.list_datasets(session, ada.organization_id)]
        assert len(names) == 2
        await service.delete_dataset(session, store, ada.organization_id, empty.id)
    async with database.transaction() as session:
        listed = await service.list_datasets(session, ada.organization_id)
        assert [d.id for d in listed] != [empty.id]
        assert len(await service.list_datasets(session, ada.organization_id)) == 1
    assert await store.fetch("SELECT * FROM requests WHERE dataset_id = ?", [empty.id]) == []


async def test_summary_append_and_clean_demo(
    database: Database, store: DuckDBStore, tmp_path: Path
) -> None:
    ada = await create_user(database, "ada@example.com")
    bob = await create_user(database, "bob@example.com")
    content = (
        "ts,provider,model,input_tokens,output_tokens,cost_usd,latency_ms,status,feature\n"
        "2026-11-01T00:00:00Z,openai,gpt-4o,1000,100,0.01,100,ok,a\n"
        "2026-11-01T06:00:00Z,openai,gpt-4o,1000,100,,300,error,b\n"
        "2026-11-02T00:00:00Z,acme,acme-1,1000,100,0.2,500,ok,a\n"
    )
    path = write(tmp_path, "f.csv", content)
    async with database.transaction() as session:
        dataset, _ = await service.create_from_upload(
            session, store, ada, path=path, filename="f.csv", fmt="auto", name=None,
            default_model=None, default_provider=None,
        )  # fmt: skip
        more = write(tmp_path, "g.jsonl", json.dumps(record(ts="2026-11-03T00:00:00Z")) + "\n")
        added = await service.append_file(
            session, store, ada.organization_id, dataset.id, path=more, fmt="auto",
            default_model=None, default_provider=None,
        )  # fmt: skip
        assert (added.rows, added.dataset_rows) == (1, 4)
        with pytest.raises(NotFound):
            await service.append_file(session, store, bob.organization_id, dataset.id,
                                      path=more, fmt="auto",
                                      default_model=None, default_provider=None)  # fmt: skip
        with pytest.raises(NotFound):
            await service.dataset_summary(session, store, bob.organization_id, dataset.id)
        summary = await service.dataset_summary(session, store, ada.organization_id, dataset.id)
        clean = await service.create_demo(session, store, ada, rows=300, seed=1, clean=True)
    gpt = (1000 * 2.5 + 100 * 10) / 1e6
    overview = summary["overview"]
    assert (overview["requests"], overview["input_tokens"], overview["error_rate"]) == (
        4, 4000, 0.25)  # fmt: skip
    assert overview["spend_usd"] == pytest.approx(3 * gpt)
    assert overview["unpriced_models"] == ["acme-1"]
    assert overview["p50_latency_ms"] == 300
    assert [r["key"] for r in summary["by_day"]["rows"]] == [
        "2026-11-01", "2026-11-02", "2026-11-03"]  # fmt: skip
    assert [r["key"] for r in summary["by_provider"]["rows"]] == ["openai", "acme"]
    assert {r["key"] for r in summary["by_feature"]["rows"]} == {"a", "b", "(none)"}
    reported = summary["reported_cost"]
    assert (reported["requests"], reported["unpriced_requests"]) == (2, 1)
    assert reported["reported_usd"] == pytest.approx(0.21)
    assert reported["computed_usd"] == pytest.approx(gpt)
    assert reported["difference_usd"] == pytest.approx(gpt - 0.21)
    assert clean.name.startswith("Clean demo workload") and clean.rows == 300


async def test_an_upload_past_the_row_quota_is_undone(
    database: Database, store: DuckDBStore, tmp_path: Path
) -> None:
    ada = await create_user(database, "ada@example.com")
    rows = "".join(f"2026-11-01T00:00:{i:02d}Z,openai,gpt-4o,1000,100\n" for i in range(3))
    path = write(tmp_path, "f.csv", "ts,provider,model,input_tokens,output_tokens\n" + rows)
    quota = Quota(datasets=5, rows=4)
    async with database.transaction() as session:
        await service.create_from_upload(
            session, store, ada, path=path, filename="f.csv", fmt="auto", name=None,
            default_model=None, default_provider=None, quota=quota)
    async with database.transaction() as session:
        with pytest.raises(TooLarge, match="hold 3 rows; adding 3 would pass the limit of 4"):
            await service.create_from_upload(
                session, store, ada, path=path, filename="g.csv", fmt="auto", name=None,
                default_model=None, default_provider=None, quota=quota)
    async with database.transaction() as session:
        listed = await service.list_datasets(session, ada.organization_id)
        assert [d.name for d in listed] == ["f.csv"]
    assert (await store.fetch("SELECT count(*) AS n FROM requests"))[0]["n"] == 3


async def test_deleting_a_slice_of_requests_makes_a_new_version_and_frees_their_ids(
    database: Database, store: DuckDBStore
) -> None:
    ada = await create_user(database, "ada@example.com")
    first = [record(request_id=f"a{i}", ts="2026-11-01T10:00:00Z") for i in range(3)]
    second = [record(request_id=f"b{i}", ts="2026-11-02T10:00:00Z", model="gpt-4o-mini")
              for i in range(2)]
    async with database.transaction() as session:
        dataset = await service.create_empty(session, ada, name="live")
        await service.ingest_records(session, store, ada, dataset.id, first + second)
    async with database.transaction() as session:
        before = await service.get_dataset(session, ada.organization_id, dataset.id)
        version, cost = before.version, before.total_cost_usd
        day = Slice(start=datetime(2026, 11, 1), end=datetime(2026, 11, 2))
        after, deleted = await service.delete_requests(
            session, store, ada.organization_id, dataset.id, day)
    assert deleted == 3
    assert (after.rows, after.version) == (2, version + 1)
    assert after.first_ts == datetime(2026, 11, 2, 10, tzinfo=UTC) == after.last_ts
    assert 0 < after.total_cost_usd < cost
    left = await store.fetch("SELECT request_id FROM requests WHERE dataset_id = ? "
                             "ORDER BY request_id", [dataset.id])
    assert [r["request_id"] for r in left] == ["b0", "b1"]
    async with database.transaction() as session:
        # The deleted ids are free again: a corrected re-send is added, not a duplicate.
        again = await service.ingest_records(session, store, ada, dataset.id, first)
        assert again.inserted_rows == 3
        # A slice with nothing in it changes nothing; no slice at all is refused.
        nothing = Slice(values={"model": ("claude-3-haiku",)})
        same, none = await service.delete_requests(
            session, store, ada.organization_id, dataset.id, nothing)
        assert (none, same.version, same.rows) == (0, version + 2, 5)
        with pytest.raises(ValidationFailed, match="delete the dataset"):
            await service.delete_requests(session, store, ada.organization_id, dataset.id,
                                          Slice())
        mini = Slice(values={"model": ("gpt-4o-mini",)})
        _, deleted = await service.delete_requests(
            session, store, ada.organization_id, dataset.id, mini)
        assert deleted == 2
