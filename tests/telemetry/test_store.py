"""The DuckDB store: ingestion idempotency, deletion, and per-dataset isolation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import duckdb

from netra.analysis import overview
from netra.telemetry.schema import COLUMNS
from tests.telemetry.helpers import open_store, record


async def test_resending_records_never_double_counts(tmp_path: Path) -> None:
    batch = [record(request_id="a"), record(request_id="b"), record(request_id="a")]
    async with open_store(tmp_path) as store:
        first = await store.insert_records("d", batch)
        again = await store.insert_records("d", batch[:2] + [record()])
        other = await store.insert_records("e", batch[:1])
    assert (first.rows, first.inserted_rows, first.dataset_rows) == (3, 2, 2)
    assert (again.rows, again.inserted_rows, again.dataset_rows) == (3, 1, 3)
    assert other.dataset_rows == 1  # the same request_id in another dataset is its own


async def test_ingestion_rejects_carry_the_record_index(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        result = await store.insert_records(
            "d",
            [record(), "nope", record(input_tokens=None)],  # type: ignore[list-item]
        )
    assert [(r.line, r.reason) for r in result.rejects] == [
        (1, "expected a JSON object, got str"),
        (2, "input_tokens: missing, but output_tokens is given (a call whose usage was not "
         "recorded leaves out both)"),
    ]


async def test_delete_removes_only_that_dataset(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.insert_records("a", [record()])
        await store.insert_records("b", [record(), record()])
        await store.delete_dataset("a")
        rows = await store.fetch("SELECT dataset_id, count(*) AS n FROM requests GROUP BY 1")
    assert rows == [{"dataset_id": "b", "n": 2}]


async def test_concurrent_queries_and_reopen(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.generate_demo("d", rows=2000, seed=3)
        counts = await asyncio.gather(
            *(
                store.fetch("SELECT count(*) AS n FROM requests WHERE dataset_id = 'd'")
                for _ in range(8)
            )
        )
        assert await store.ping() >= 0
    assert {c[0]["n"] for c in counts} == {2000}
    async with open_store(tmp_path) as store:  # the file persists; open is idempotent
        await store.open()
        [row] = await store.fetch("SELECT count(*) AS n FROM requests")
    assert row["n"] == 2000


async def test_imports_run_at_their_own_memory_limit_and_queries_at_theirs(
    tmp_path: Path,
) -> None:
    """DuckDB's limit is per database: an import lowers it and must put it back."""
    setting = "SELECT current_setting('memory_limit') AS limit"
    async with open_store(tmp_path) as store:
        store.import_memory_limit = "300MB"
        before = (await store.fetch(setting))[0]["limit"]

        seen: list[str] = []
        original = store._insert_priced

        def spy(*args: Any, **kwargs: Any) -> int:
            seen.append(args[0].execute(setting).fetchone()[0])
            return original(*args, **kwargs)

        store._insert_priced = spy  # type: ignore[method-assign]
        await store.insert_records("d", [record()])
        after = (await store.fetch(setting))[0]["limit"]
    assert seen == ["286.1 MiB"]  # 300 MB, as DuckDB shows it
    assert after == before == "1.8 GiB"  # 2 GB


async def test_row_order_is_not_kept_from_the_start_not_only_after_an_import(
    tmp_path: Path,
) -> None:
    """preserve_insertion_order is a setting of the whole database: every query sees the
    same value, before the first import as after it."""
    setting = "SELECT current_setting('preserve_insertion_order') AS kept"
    async with open_store(tmp_path) as store:
        before = (await store.fetch(setting))[0]["kept"]
        await store.insert_records("d", [record()])
        after = (await store.fetch(setting))[0]["kept"]
    assert before is False
    assert after is False


async def test_a_file_made_before_usage_recorded_is_upgraded_in_place(tmp_path: Path) -> None:
    old_columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS if name != "usage_recorded")
    with duckdb.connect(str(tmp_path / "analytics.duckdb")) as old:
        old.execute(f"CREATE TABLE requests (dataset_id VARCHAR NOT NULL, {old_columns}, "
                    "cost_usd DOUBLE)")  # fmt: skip
        old.execute("INSERT INTO requests (dataset_id, ts, provider, model, input_tokens, "
                    "output_tokens, status, cost_usd) VALUES ('old', '2026-01-01 10:00:00', "
                    "'openai', 'gpt-4o', 1000, 100, 'ok', 0.0035)")  # fmt: skip
    for _ in range(2):  # opening again finds the column there
        async with open_store(tmp_path) as store:
            [old_row] = await store.fetch(
                "SELECT usage_recorded, input_tokens FROM requests WHERE dataset_id = 'old'"
            )
            added = await store.insert_records("new", [record(status="error", input_tokens=None,
                                                              output_tokens=None)])  # fmt: skip
            totals = await overview.overview_totals(store, "old")
    assert old_row == {"usage_recorded": True, "input_tokens": 1000}
    assert added.report.kept["failed_calls_without_usage"] == 1
    assert (totals["requests"], totals["failed_without_usage_requests"]) == (1, 0)
