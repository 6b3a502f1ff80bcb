"""The async engine and session factory for SQLite (default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from netra import jsonwire, metrics

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
CHECKPOINT_EVERY_S = 0.5
# Whether this task (or the task that started it) is inside Database.transaction.
_HOLDS_TURN: ContextVar[bool] = ContextVar("netra_db_holds_turn", default=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


class Database:
    """Owns the engine; hands out sessions whose caller owns the transaction."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.url.get_backend_name() == "sqlite":
            if self.url.database:
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            options = {"connect_args": {"timeout": 30}}
        else:
            options.update(pool_size=20, max_overflow=20, pool_timeout=10)
        # JSON columns (event payloads above all) encoded as the sockets encode them.
        options.update(json_serializer=jsonwire.dumps, json_deserializer=jsonwire.loads)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", self._sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._turns = asyncio.Lock() if self.url.get_backend_name() == "sqlite" else None
        self._checkpoints: asyncio.Task[None] | None = None
        # (busy, frames in the WAL, frames copied) of the last background checkpoint
        self.last_checkpoint: tuple[int, int, int] | None = None

    def _sqlite_pragmas(self, dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; busy_timeout makes writers queue
        # instead of failing with "database is locked" under concurrent runs.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        if self._checkpoints is not None:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # see start_checkpoints
        cursor.close()

    def start_checkpoints(self) -> None:
        """SQLite: copy the WAL into the database file from a background task, every
        CHECKPOINT_EVERY_S, instead of inside commits. Call before the first connection.

        By default SQLite checkpoints in whichever commit takes the WAL past 1,000 pages;
        that commit waits for the copy and two fsyncs (20 ms on the benchmark machine),
        and so does every transaction queued behind it: a burst of messages, say. A
        PASSIVE checkpoint waits for no one, and no one waits for it.
        """
        if self.dialect == "sqlite" and self._checkpoints is None:
            self._checkpoints = asyncio.create_task(self._checkpoint_forever(),
                                                    name="sqlite-checkpoints")

    async def _checkpoint_forever(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            started = time.perf_counter()
            try:
                async with self.engine.connect() as connection:
                    result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                    busy, frames, copied = result.one()
            except Exception as error:  # a full disk, say: report it, keep trying
                log.warning("SQLite checkpoint failed: %s", error)
                continue
            self.last_checkpoint = (busy, frames, copied)
            metrics.SQLITE_CHECKPOINT_SECONDS.observe(time.perf_counter() - started)

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on error.

        On SQLite, transactions take turns in FIFO order: SQLite has one writer, and a
        writer that finds it busy sleeps in steps of up to 100 ms before it retries, so
        under a hundred concurrent runs the queue, not the work, set the latency. A
        transaction opened inside another (same task, or a task it started) goes ahead:
        it would otherwise wait for itself.
        """
        if self._turns is None or _HOLDS_TURN.get():
            async with self._session() as session:
                yield session
            return
        async with self._turns:
            token = _HOLDS_TURN.set(True)
            try:
                async with self._session() as session:
                    yield session
            finally:
                _HOLDS_TURN.reset(token)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""

        def upgrade(connection: Connection) -> None:
            config = alembic_config(self.url.render_as_string(hide_password=False))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade)

    async def ping(self) -> float:
        """Round-trip one query; returns the latency in milliseconds."""
        start = time.perf_counter()
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return (time.perf_counter() - start) * 1000

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
        await self.engine.dispose()
