"""The golden path through a real `netra serve` (SQLite + DuckDB, real default limits).

1. message → the supervisor's `agent_started`, p50/p95, for 1 user and for many users
   sending at the same moment; baseline: WebSocket ping → pong on the same server
   under the same concurrency (the floor of any reply).
2. message → the final `agent_completed` on a large demo dataset, p50/p95 over
   sequential runs; baseline: the same analysis tools run directly on a DuckDBStore
   in this process (so the ratio is the platform's overhead over the raw analysis).
3. RSS growth of the server over many runs after a warm-up; baseline: its growth over
   as many ping → pong exchanges.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.e2e.client import User, signup
from tests.e2e.server import Server

from bench._common import (
    Figure,
    LiveSocket,
    ServerError,
    bench_server,
    gather_limited,
    latency_figures,
    rss_mb,
)
from netra.agents import data, tools
from netra.analysis.findings import analysis_run
from netra.telemetry.store.duckdb_store import DuckDBStore

QUESTION = "How can we cut our LLM costs?"
SEED = 11
STARTED_P95_TARGET_MS = 50.0
ANSWER_P95_TARGET_MS = 2000.0
RSS_GROWTH_TARGET_MB = 5.0

FIGURE_NAMES = (
    "message→agent_started, 1 user p50",
    "message→agent_started, 1 user p95",
    "message→agent_started, concurrent users p50",
    "message→agent_started, concurrent users p95",
    "message→final answer, large dataset p50",
    "message→final answer, large dataset p95",
    "server RSS growth over runs",
)


@dataclass(frozen=True)
class Sizes:
    solo_samples: int
    users: int
    rounds: int
    user_rows: int
    dataset_rows: int
    answer_runs: int
    warmup_runs: int
    rss_runs: int
    rss_users: int = 4
    runs_per_user: int = 2  # in flight per user: under the default limit of 5
    runs_per_thread: int = 10
    ping_sockets: int = 20


FULL = Sizes(solo_samples=30, users=100, rounds=3, user_rows=500, dataset_rows=100_000,
             answer_runs=20, warmup_runs=100, rss_runs=1000)
QUICK = Sizes(solo_samples=8, users=10, rounds=1, user_rows=100, dataset_rows=10_000,
              answer_runs=4, warmup_runs=10, rss_runs=100)


@dataclass
class Participant:
    user: User
    socket: LiveSocket
    dataset_id: str
    thread_id: str


async def join(http: httpx.AsyncClient, server: Server, name: str, rows: int) -> Participant:
    user = await signup(http, server.ws_url, name)
    dataset_id = await user.demo_dataset(rows=rows, seed=SEED)
    thread_id = await user.thread("bench")
    return Participant(user, await LiveSocket.open(user), dataset_id, thread_id)


async def timed_run(p: Participant, thread_id: str | None = None) -> tuple[float, float]:
    """One question to the end; (ms to the supervisor's agent_started, ms to the answer)."""
    sent, run_id = await p.socket.ask(thread_id or p.thread_id, QUESTION, p.dataset_id)
    started = await p.socket.started_at(run_id)
    finished, event = await p.socket.finished(run_id)
    if event["payload"]["report"].get("dataset_id") != p.dataset_id:
        raise ServerError(f"run {run_id} answered about another dataset")
    return (started - sent) * 1000, (finished - sent) * 1000


# -- 1. message → agent_started -------------------------------------------------------


async def first_event(server: Server, sizes: Sizes) -> list[Figure]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        crowd = await gather_limited(8, *(join(http, server, f"crowd{i}", sizes.user_rows)
                                          for i in range(sizes.users)))
        solo = crowd[0]
        await timed_run(solo)  # warm-up: first-use costs are not latency
        solo_pings, solo_started = [], []
        for _ in range(sizes.solo_samples):
            solo_pings.append(await solo.socket.ping_ms())
            solo_started.append((await timed_run(solo))[0])
        crowd_pings: list[float] = []
        crowd_started: list[float] = []
        for _ in range(sizes.rounds):
            crowd_pings += await asyncio.gather(*(p.socket.ping_ms() for p in crowd))
            crowd_started += [s for s, _ in await asyncio.gather(*(timed_run(p) for p in crowd))]
        for p in crowd:
            await p.socket.close()
    return [
        *latency_figures("message→agent_started, 1 user", solo_started, solo_pings,
                         "ping→pong", p95_target=STARTED_P95_TARGET_MS,
                         detail=f"n={len(solo_started)} sequential"),
        *latency_figures("message→agent_started, concurrent users", crowd_started, crowd_pings,
                         "ping→pong", p95_target=STARTED_P95_TARGET_MS,
                         detail=f"{sizes.users} users at once × {sizes.rounds} rounds, "
                                f"n={len(crowd_started)}"),
    ]


# -- 2. message → final answer on a large dataset --------------------------------------


async def answer_time(server: Server, sizes: Sizes) -> list[float]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
        analyst = await join(http, server, "analyst", sizes.dataset_rows)
        await timed_run(analyst)  # warm-up: DuckDB's first scan of the new rows
        samples = [(await timed_run(analyst))[1] for _ in range(sizes.answer_runs)]
        await analyst.socket.close()
    return samples


async def raw_analysis_time(sizes: Sizes) -> list[float]:
    """The tools an optimization run calls (overview, its breakdowns, every finder), called
    directly on a DuckDBStore in this process holding the same demo rows."""
    with tempfile.TemporaryDirectory(prefix="netra-bench-raw-") as tmp:
        store = DuckDBStore(Path(tmp) / "analytics.duckdb")
        await store.open()
        try:
            await store.generate_demo("raw", rows=sizes.dataset_rows, seed=SEED)
            samples = []
            for _ in range(sizes.answer_runs + 1):  # the first is the warm-up
                start = time.perf_counter()
                await tools.overview_tool(store, "raw")
                for by in data.BREAKDOWNS["optimize"]:
                    await tools.breakdown_tool(store, "raw", by)
                with analysis_run():  # as the optimization agent calls them
                    for category in tools.FINDING_CATEGORIES:
                        await tools.findings_tool(store, "raw", category)
                samples.append((time.perf_counter() - start) * 1000)
            return samples[1:]
        finally:
            await store.close()


# -- 3. RSS growth ---------------------------------------------------------------------


async def many_runs(workers: list[Participant], total: int, runs_per_thread: int) -> None:
    """`total` runs, one in flight per worker; a worker starts a new thread every
    runs_per_thread runs, as people start new conversations."""
    counter = itertools.count()

    async def work(p: Participant) -> None:
        done = 0
        while next(counter) < total:
            if done and done % runs_per_thread == 0:
                p.thread_id = await p.user.thread("bench")
            await timed_run(p)
            done += 1

    await asyncio.gather(*(work(p) for p in workers))


def _tenths(total: int) -> list[int]:
    """`total` split into ten nearly equal parts."""
    return [total // 10 + (1 if i < total % 10 else 0) for i in range(10)]


async def many_pings(sockets: list[LiveSocket], total: int) -> None:
    counter = itertools.count()

    async def work(socket: LiveSocket) -> None:
        while next(counter) < total:
            await socket.ping_ms()

    await asyncio.gather(*(work(s) for s in sockets))


async def memory(server: Server, sizes: Sizes) -> Figure:
    pid = server.process.pid
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        users = [await join(http, server, f"steady{i}", 1000) for i in range(sizes.rss_users)]
        workers = list(users)
        for p in users:
            for _ in range(sizes.runs_per_user - 1):
                workers.append(Participant(p.user, await LiveSocket.open(p.user), p.dataset_id,
                                           await p.user.thread("bench")))
        pingers = [await LiveSocket.open(users[i % len(users)].user)
                   for i in range(sizes.ping_sockets)]
        await many_runs(workers, sizes.warmup_runs, sizes.runs_per_thread)
        await many_pings(pingers, sizes.warmup_runs)
        before_pings = rss_mb(pid)
        await many_pings(pingers, sizes.rss_runs)
        before_runs = rss_mb(pid)
        started = time.perf_counter()
        trajectory = []  # RSS after every tenth of the runs: a leak climbs, a cache levels off
        for share in _tenths(sizes.rss_runs):
            await many_runs(workers, share, sizes.runs_per_thread)
            trajectory.append(rss_mb(pid))
        took = time.perf_counter() - started
        after_runs = trajectory[-1]
        for socket in [w.socket for w in workers] + pingers:
            await socket.close()
    return Figure(
        "server RSS growth over runs", after_runs - before_runs, "MB",
        target=RSS_GROWTH_TARGET_MB, baseline=before_runs - before_pings,
        baseline_name=f"over {sizes.rss_runs} pings", compare="difference",
        detail=(f"{sizes.rss_runs} runs after {sizes.warmup_runs} warm-up, {len(workers)} in "
                f"flight ({sizes.rss_runs / took:.1f} runs/s); RSS {before_pings:.1f} → "
                f"{before_runs:.1f} → {after_runs:.1f} MB; every tenth of the runs: "
                f"{', '.join(f'{mb:.0f}' for mb in trajectory)} MB"),
    )


def run(args: argparse.Namespace) -> list[Figure]:
    sizes = QUICK if args.quick else FULL
    with bench_server("first-event") as server:
        figures = asyncio.run(first_event(server, sizes))
    with bench_server("answer") as server:
        answers = asyncio.run(answer_time(server, sizes))
    raw = asyncio.run(raw_analysis_time(sizes))
    figures += latency_figures(
        "message→final answer, large dataset", answers, raw, "raw analysis",
        p95_target=ANSWER_P95_TARGET_MS,
        detail=f"{sizes.dataset_rows:,} rows, n={len(answers)} sequential",
    )
    with bench_server("memory") as server:
        figures.append(asyncio.run(memory(server, sizes)))
    return figures
