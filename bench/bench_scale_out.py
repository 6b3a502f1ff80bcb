"""Scale-out on PostgreSQL + Redis: what the shared run queue carries.

1 `netra serve` that executes no runs and 2 `netra worker`s; USERS users, each on their
own WebSocket, ask at the same moment. Every run must complete and no socket may see
another user's event; the answer p95 is reported, and runs/s with 2 workers against the
same burst through 1 worker. The users have no dataset: this measures the engine
(queue, steps, events, fan-out), not the analyses, which `golden_path` measures (the
processes share a ClickHouse engine through the test suite's ClickHouse HTTP interface,
as workers must).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.e2e.client import User, signup
from tests.e2e.processes import Netra
from tests.e2e.server import Server
from tests.fakes.clickhouse_server import clickhouse_server

from bench._common import Figure, LiveSocket, gather_limited, percentile

QUESTION = "What data do you need?"
ADMIN_DATABASE_URL = os.environ.get(
    "NETRA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("NETRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

FIGURE_NAMES = (
    "scale-out: runs completed",
    "scale-out: events crossing users",
    "scale-out: answer p95, 2 workers",
    "scale-out: runs/s, 2 workers",
)


@dataclass(frozen=True)
class Sizes:
    users: int


FULL = Sizes(users=200)
QUICK = Sizes(users=10)


def run(args: argparse.Namespace) -> list[Figure]:
    return asyncio.run(_scale_out(QUICK if args.quick else FULL))


@contextlib.asynccontextmanager
async def _postgres() -> AsyncIterator[str]:
    from tests.conftest import _create_postgres_database, _drop_postgres_database

    url = await _create_postgres_database(ADMIN_DATABASE_URL)
    try:
        yield url
    finally:
        await _drop_postgres_database(ADMIN_DATABASE_URL, url)


async def _scale_out(sizes: Sizes) -> list[Figure]:
    two = await _burst(sizes, workers=2)
    one = await _burst(sizes, workers=1)
    detail = (f"{sizes.users} users at once, 1 serve (no runs) + N workers, PostgreSQL + "
              "Redis, no dataset")
    return [
        Figure("scale-out: runs completed", 100 * two.completed / sizes.users, "%",
               detail=f"{two.completed} of {sizes.users}; with 1 worker {one.completed}"),
        Figure("scale-out: events crossing users", float(two.crossed + one.crossed), "events",
               target=0.0, detail="frames of another user's run, both bursts"),
        Figure("scale-out: answer p95, 2 workers", two.answer_p95, "ms",
               baseline=one.answer_p95, baseline_name="1 worker p95", detail=detail),
        Figure("scale-out: runs/s, 2 workers", two.runs_per_s, "runs/s",
               baseline=one.runs_per_s, baseline_name="1 worker", detail=detail),
    ]


@dataclass
class Burst:
    completed: int
    crossed: int
    answer_p95: float
    runs_per_s: float


async def _burst(sizes: Sizes, workers: int) -> Burst:
    async with _postgres() as database_url:
        with (tempfile.TemporaryDirectory(prefix="netra-scale-") as tmp,
              clickhouse_server(Path(tmp) / "clickhouse") as analytics_url):
            env = {"NETRA_DATABASE_URL": database_url, "NETRA_REDIS_URL": REDIS_URL,
                   "NETRA_ANALYTICS_URL": analytics_url, "NETRA_LOG_LEVEL": "WARNING"}
            processes = [Netra("worker", Path(tmp) / f"w{i}", env) for i in range(workers)]
            processes.append(Netra("serve", Path(tmp) / "s",
                                   {**env, "NETRA_EXECUTE_RUNS": "false"}))
            try:
                for process in processes:
                    process.start()
                return await _ask_all(processes[-1].server, sizes)
            finally:
                for process in processes:
                    process.stop()


async def _ask_all(server: Server, sizes: Sizes) -> Burst:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as http:
        users: list[User] = await gather_limited(
            8, *(signup(http, server.ws_url, f"u{i}") for i in range(sizes.users)))
        threads = await gather_limited(20, *(u.thread() for u in users))
        sockets = await gather_limited(20, *(_Watched.open(u) for u in users))
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(s.ask(t) for s, t in zip(sockets, threads, strict=True)),
            return_exceptions=True)
        elapsed = time.perf_counter() - started
        for socket in sockets:
            await socket.close()
    answers = [o for o in outcomes if isinstance(o, float)]
    return Burst(completed=len(answers), crossed=sum(s.crossed for s in sockets),
                 answer_p95=percentile(answers, 95) if answers else float("nan"),
                 runs_per_s=len(answers) / elapsed)


class _Watched:
    """A user's socket, and the runs it asked for (any other run it hears of crossed)."""

    def __init__(self, live: LiveSocket) -> None:
        self.live = live
        self.mine: set[str] = set()

    @classmethod
    async def open(cls, user: User) -> _Watched:
        return cls(await LiveSocket.open(user))

    @property
    def crossed(self) -> int:
        return len(self.live.run_ids - self.mine)

    async def ask(self, thread_id: str) -> float:
        sent, run_id = await self.live.ask(thread_id, QUESTION, "")
        self.mine.add(run_id)
        finished, _ = await self.live.finished(run_id)
        return (finished - sent) * 1000

    async def close(self) -> None:
        await self.live.close()


__all__ = ["FIGURE_NAMES", "run"]
