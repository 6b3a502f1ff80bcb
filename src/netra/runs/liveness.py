"""Which processes are alive: each registers under its executor id and beats a heartbeat.

DBOS knows which executor owns each workflow, not whether that executor still lives; a
process's runs are recovered by a survivor only once it is known to be gone: it stopped
(it says so on the way out), its heartbeat is older than `executor_dead_after_s`, or it
ran on this host and its process no longer exists (a restart finds its predecessor at
once). A process never ends, or takes, a live process's runs.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from netra.db import Database
from netra.db.base import utcnow
from netra.runs.models import Executor
from netra.settings import Settings


def executor_id(settings: Settings, role: str) -> str:
    """The configured id, else one unique to this process: ids must never be shared by
    two live processes (each recovers only what it is told is dead)."""
    if settings.executor_id:
        return settings.executor_id
    host = socket.gethostname()[:40]
    return f"{host}-{role}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Peer:
    id: str
    role: str
    executes_runs: bool
    host: str
    pid: int
    heartbeat_at: datetime
    stopped: bool


class Liveness:
    def __init__(self, settings: Settings, db: Database, me: str, role: str,
                 executes_runs: bool) -> None:
        self._settings = settings
        self._db = db
        self.me = me
        self._role = role
        self._executes_runs = executes_runs
        self._host = socket.gethostname()[:255]

    async def register(self) -> None:
        async with self._db.transaction() as session:
            session.add(Executor(id=self.me, role=self._role, executes_runs=self._executes_runs,
                                 host=self._host, pid=os.getpid()))

    async def beat(self) -> None:
        async with self._db.transaction() as session:
            await session.execute(update(Executor).where(Executor.id == self.me)
                                  .values(heartbeat_at=utcnow()))

    async def stopped(self) -> None:
        """Say this process is gone, so survivors recover its runs without waiting."""
        async with self._db.transaction() as session:
            await session.execute(update(Executor).where(Executor.id == self.me)
                                  .values(stopped_at=utcnow()))

    async def peers(self) -> list[Peer]:
        """Every process not yet known to be gone and taken over, this one included."""
        async with self._db.transaction() as session:
            rows = (await session.scalars(select(Executor).where(
                Executor.taken_over_by.is_(None)))).all()
        return [Peer(r.id, r.role, r.executes_runs, r.host, r.pid, r.heartbeat_at,
                     r.stopped_at is not None) for r in rows]

    def is_alive(self, peer: Peer, now: datetime) -> bool:
        if peer.id == self.me:
            return True
        if peer.stopped:
            return False
        if peer.host == self._host and (peer.pid == os.getpid() or not _pid_exists(peer.pid)):
            return False  # an earlier process of this host that is gone (or was us)
        return now - peer.heartbeat_at < timedelta(seconds=self._settings.executor_dead_after_s)

    async def taken_over(self, ids: list[str]) -> None:
        async with self._db.transaction() as session:
            await session.execute(update(Executor).where(
                Executor.id.in_(ids), Executor.taken_over_by.is_(None)
            ).values(taken_over_by=self.me))


    async def forget(self, older_than: datetime) -> None:
        """Drop processes that were taken over long ago (a record of each start would
        otherwise grow forever)."""
        async with self._db.transaction() as session:
            await session.execute(delete(Executor).where(
                Executor.taken_over_by.is_not(None), Executor.heartbeat_at < older_than))


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
