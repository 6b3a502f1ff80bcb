"""Results kept per dataset version, on real SQLite and PostgreSQL."""

from __future__ import annotations

from netra.analysis import cache
from netra.db import Database
from netra.telemetry import service
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
