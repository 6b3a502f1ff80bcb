"""SQLite: a server's commits never checkpoint the WAL; a background task does."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from netra.db import Database

FILLER_BYTES = 6_000_000  # about 1,500 pages: past SQLite's autocheckpoint of 1,000


async def _autocheckpoint(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int((await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one())


async def test_without_background_checkpoints_sqlite_keeps_its_default(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'netra.db'}")
    try:
        assert await _autocheckpoint(db) == 1000
    finally:
        await db.close()


async def test_background_checkpoints_copy_the_whole_wal(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'netra.db'}")
    db.start_checkpoints()
    try:
        assert await _autocheckpoint(db) == 0  # no commit waits for a checkpoint
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE filler (data BLOB)"))
            await session.execute(text(f"INSERT INTO filler VALUES (randomblob({FILLER_BYTES}))"))
        deadline = time.monotonic() + 10
        while True:  # until a background checkpoint has copied every frame of that commit
            done = db.last_checkpoint
            if done is not None and done[1] > 1000 and done[2] == done[1]:
                break
            assert time.monotonic() < deadline, f"no complete checkpoint in 10 s: {done}"
            await asyncio.sleep(0.05)
        assert done[0] == 0  # the checkpoint was not blocked
    finally:
        await db.close()
