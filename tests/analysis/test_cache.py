"""Results kept per dataset version, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from netra.agents import actions, tools
from netra.analysis import cache
from netra.db import Database
from netra.runs.analysis import Kept
from netra.runs.context import ToolOutcome
from netra.telemetry import service
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.test_service import create_user


async def test_results_are_kept_per_version_and_the_first_write_wins(database: Database) -> None:
    ada = await create_user(database, "ada@example.com")
    async with database.transaction() as session:
        dataset = await service.create_empty(session, ada, name="api")
    key = cache.key("spend_breakdown", {"by": "model"})
    await cache.write(database, dataset.id, 1, {key: cache.Cached("spend_breakdown", [1], "a")})
    await cache.write(database, dataset.id, 1, {key: cache.Cached("spend_breakdown", [2], "b")})
    assert await cache.read_all(database, dataset.id, 1) == {
        key: cache.Cached("spend_breakdown", [1], "a")}
    assert await cache.read_all(database, dataset.id, 2) == {}


async def test_results_of_a_dataset_deleted_meanwhile_are_dropped(database: Database) -> None:
    """A background analysis that ends after its dataset was deleted keeps nothing and
    raises nothing (the foreign key refuses the rows)."""
    ada = await create_user(database, "ada@example.com")
    async with database.transaction() as session:
        dataset = await service.create_empty(session, ada, name="api")
    async with database.transaction() as session:
        await session.delete(dataset)
    await cache.write(database, dataset.id, 1, {"k": cache.Cached("overview", {}, "")})
    await cache.mark_complete(database, dataset.id, 1)
    assert await cache.read_all(database, dataset.id, 1) == {}
    assert not await cache.is_complete(database, dataset.id, 1)


async def test_every_kept_result_reads_back_as_computed(
    database: Database, store: DuckDBStore
) -> None:
    """Results identical with and without the cache: every standard result of a version
    and the action plan derived from them, computed live, then kept and read back (as a
    run reads them) compare equal, to the last digit and in the same order."""
    ada = await create_user(database, "ada@example.com")
    async with database.transaction() as session:
        dataset = await service.create_empty(session, ada, name="api")
    await store.generate_demo(dataset.id, rows=3_000, seed=7, end=date(2026, 11, 25))
    live: list[tuple[str, dict[str, Any], ToolOutcome]] = []
    writing = Kept(database, dataset.id, 1, {})
    for name, args, call in tools.standard_calls(store, dataset.id):
        outcome = await call()
        assert outcome == await call(), f"{name} gives the same result twice"
        args = {"dataset_id": dataset.id, **args}  # as a run passes them
        live.append((name, args, outcome))
        await writing.keeping(name, args, call)()
    plan = actions.follow_up_calls(writing.lookup, dataset.id)
    assert plan, "the demo data has findings, so an action plan"
    for name, args, call in plan:
        live.append((name, args, await call()))
        await writing.keeping(name, args, call)()

    read = await Kept.read(database, dataset.id, 1)
    for name, args, outcome in live:
        assert read.lookup(name, args) == outcome, name
    assert (await Kept.read(database, dataset.id, 2)).lookup(*live[0][:2]) is None  # per version
