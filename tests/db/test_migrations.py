from sqlalchemy import inspect

from netra.db import Database
from netra.db.base import Base


async def test_migrations_create_every_table(database: Database) -> None:
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_migrating_twice_is_a_no_op(database: Database) -> None:
    await database.migrate()
    assert await database.ping() >= 0
