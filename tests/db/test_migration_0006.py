"""Migration 0006 on a database holding data: every user gets a personal organization, as
its owner, and their datasets and API keys move into it (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from netra.db import Database
from netra.db.engine import alembic_config

USERS = [("u-ada", "ada@example.com", "Ada"), ("u-bob", "bob@example.com", ""),
         ("u-cy", "cy@example.com", "Cy")]


async def _to(database: Database, revision: str) -> None:
    def upgrade(connection: Connection) -> None:
        config = alembic_config(database.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(upgrade)


async def _seed(database: Database) -> None:
    """What a 0005 database holds: users with datasets and API keys (Cy with none)."""
    async with database.engine.begin() as connection:
        for user_id, email, name in USERS:
            await connection.execute(text(
                "INSERT INTO users (id, email, name, password_hash, created_at) "
                "VALUES (:id, :email, :name, 'x', CURRENT_TIMESTAMP)"),
                {"id": user_id, "email": email, "name": name})
        for dataset_id, user_id in (("d-ada-1", "u-ada"), ("d-ada-2", "u-ada"),
                                    ("d-bob-1", "u-bob")):
            await connection.execute(text(
                "INSERT INTO datasets (id, user_id, name, format, rows, rejected_rows, "
                "total_cost_usd, created_at, version) VALUES (:id, :user, 'n', 'demo', 1, 0, "
                "0, CURRENT_TIMESTAMP, 1)"), {"id": dataset_id, "user": user_id})
        await connection.execute(text(
            "INSERT INTO api_keys (id, user_id, name, key_hash, created_at) "
            "VALUES ('k-bob', 'u-bob', 'bot', 'h', CURRENT_TIMESTAMP)"))


async def test_existing_data_moves_into_personal_organizations(database_url: str) -> None:
    database = Database(database_url)
    try:
        await _to(database, "0005_oidc_identities")
        await _seed(database)
        await database.migrate()
        async with database.engine.connect() as connection:
            organizations = {row.personal_user_id: row for row in (await connection.execute(
                text("SELECT id, name, personal_user_id, require_sso FROM organizations")))}
            members = set((await connection.execute(text(
                "SELECT organization_id, user_id, role FROM memberships"))).tuples())
            datasets = dict((await connection.execute(text(
                "SELECT id, organization_id FROM datasets"))).tuples().all())
            keys = dict((await connection.execute(text(
                "SELECT id, organization_id FROM api_keys"))).tuples().all())
    finally:
        await database.close()
    assert set(organizations) == {"u-ada", "u-bob", "u-cy"}
    assert organizations["u-ada"].name == "Ada's workspace"
    assert organizations["u-bob"].name == "bob's workspace"  # no name: the email's
    assert not any(o.require_sso for o in organizations.values())
    assert members == {(organizations[u].id, u, "owner") for u in organizations}
    assert datasets == {"d-ada-1": organizations["u-ada"].id,
                        "d-ada-2": organizations["u-ada"].id,
                        "d-bob-1": organizations["u-bob"].id}
    assert keys == {"k-bob": organizations["u-bob"].id}


async def test_it_goes_down_and_up_again(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.migrate()
        await _to_down(database, "0005_oidc_identities")
        await database.migrate()
        assert await database.ping() >= 0
    finally:
        await database.close()


async def _to_down(database: Database, revision: str) -> None:
    def downgrade(connection: Connection) -> None:
        config = alembic_config(database.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(downgrade)
