"""Shared fixtures: real databases (SQLite always; PostgreSQL when
NETRA_TEST_DATABASE_URL is set, as CI sets it), real Redis when NETRA_TEST_REDIS_URL is set.

Tests read the test-only variables here, never in the package: the package reads its
configuration only through netra.settings.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from netra.db import Database
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.in_process import app_client
from tests.telemetry.helpers import open_store

pytest_plugins = ["tests.fakes.openai_server"]

TEST_DATABASE_URL = os.environ.get("NETRA_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("NETRA_TEST_REDIS_URL")
IN_CI = os.environ.get("CI") == "true"


def _skip_or_fail(reason: str) -> None:
    # CI must never silently skip the PostgreSQL/Redis legs.
    if IN_CI:
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


async def _create_postgres_database(base_url: str) -> str:
    """A throwaway database per use, so tests never see each other's rows."""
    name = f"netra_t_{secrets.token_hex(6)}"
    admin = create_async_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL: SQLite, and PostgreSQL when configured."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'netra.db'}"
        return
    async with throwaway_postgres("PostgreSQL leg needs NETRA_TEST_DATABASE_URL") as url:
        yield url


@contextlib.asynccontextmanager
async def throwaway_postgres(reason: str) -> AsyncIterator[str]:
    """A new PostgreSQL database, dropped afterwards; skipped (failed in CI) without one."""
    if not TEST_DATABASE_URL:
        _skip_or_fail(reason)
    assert TEST_DATABASE_URL
    url = await _create_postgres_database(TEST_DATABASE_URL)
    try:
        yield url
    finally:
        await _drop_postgres_database(TEST_DATABASE_URL, url)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database of its own (the processes of a test share it)."""
    async with throwaway_postgres("this test needs PostgreSQL: NETRA_TEST_DATABASE_URL") as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database, on each engine."""
    db = Database(database_url)
    await db.migrate()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not TEST_REDIS_URL:
        _skip_or_fail("Redis tests need NETRA_TEST_REDIS_URL")
    assert TEST_REDIS_URL
    yield TEST_REDIS_URL


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    """An empty embedded analytics store in the test's directory (a module may define
    its own `store`, e.g. with data in it)."""
    async with open_store(tmp_path) as opened:
        yield opened


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app in this process on the embedded default, over HTTP without a socket
    (a module may define its own `client`, e.g. with other settings)."""
    async with app_client(tmp_path) as http:
        yield http
