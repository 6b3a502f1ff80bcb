"""The golden path through a real `netra serve` (SQLite + DuckDB, real default limits).

1. message → the supervisor's `agent_started`, p50/p95, for 1 user and for many users
   sending at the same moment; baseline: WebSocket ping → pong on the same server
   under the same concurrency (the floor of any reply).
2. message → the final `agent_completed` on a large demo dataset, p50/p95 over
   sequential runs; baseline: the same analysis tools run directly on a DuckDBStore
   in this process (so the ratio is the platform's overhead over the raw analysis).
3. RSS growth of the server over 1,000 runs after a warm-up long enough for DuckDB's
   bounded bookkeeping to fill (see section 3); baseline: its growth over as many
   ping → pong exchanges.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
             answer_runs=20, warmup_runs=2500, rss_runs=1000)
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
#
# The warm-up is long because DuckDB holds memory per database that grows with the
# queries it runs, outside its buffer pool's accounting (duckdb_memory()), until the
# database closes; and it levels off. In a DuckDB-only script, one windowed query over
# 1,000 rows repeated 20,000 times raised the RSS by 27 MB, and 80,000 more times by
# 1.3 MB (`python -m bench.duckdb_rss`). Through the server it took about 1,250 runs
# to level off (README, "RSS through the server"). A leak keeps climbing after that; a
# full cache does not.
#
# The RSS moves by up to ±10 MB between two quiet moments of the same server, even after
# glibc's malloc_trim, so one pair of samples cannot tell 5 MB from noise. The growth
# over the measured runs is the slope of a least-squares line through the RSS sampled
# every SAMPLE_EVERY_S against the runs completed by then, times the number of runs.

SAMPLE_EVERY_S = 0.25
REFRESH_EVERY = 250  # runs: each user's access token is refreshed between such batches


async def many_runs(workers: list[Participant], total: int, runs_per_thread: int,
                    done: list[int] | None = None) -> None:
    """`total` runs, one in flight per worker; a worker starts a new thread every
    runs_per_thread runs, as people start new conversations. Each finished run adds 1
    to done[0]."""
    counter = itertools.count()

    async def work(p: Participant) -> None:
        runs = 0
        while next(counter) < total:
            if runs and runs % runs_per_thread == 0:
                p.thread_id = await p.user.thread("bench")
            await timed_run(p)
            runs += 1
            if done is not None:
                done[0] += 1

    await asyncio.gather(*(work(p) for p in workers))


async def many_pings(sockets: list[LiveSocket], total: int,
                     done: list[int] | None = None) -> None:
    counter = itertools.count()

    async def work(socket: LiveSocket) -> None:
        while next(counter) < total:
            await socket.ping_ms()
            if done is not None:
                done[0] += 1

    await asyncio.gather(*(work(s) for s in sockets))


async def rss_trace(pid: int, work: Callable[[list[int]], Coroutine[Any, Any, None]]
                    ) -> list[tuple[int, float]]:
    """(steps done, RSS in MB) every SAMPLE_EVERY_S while `work` runs, and once after."""
    done = [0]
    trace: list[tuple[int, float]] = []
    task = asyncio.create_task(work(done))
    while not task.done():
        trace.append((done[0], rss_mb(pid)))
        await asyncio.wait([task], timeout=SAMPLE_EVERY_S)
    await task
    trace.append((done[0], rss_mb(pid)))
    return trace


def growth(trace: list[tuple[int, float]], total: int) -> float:
    """MB over `total` steps, from the least-squares slope of RSS against steps done."""
    steps, mb = zip(*trace, strict=True)
    return statistics.linear_regression(steps, mb).slope * total


def _every_tenth(trace: list[tuple[int, float]], total: int) -> str:
    """The RSS first sampled at each tenth of the steps, for the figure's detail."""
    shown, marks = [], iter(range(0, total + 1, max(1, total // 10)))
    mark = next(marks)
    for steps, mb in trace:
        if steps >= mark:
            shown.append(f"{mb:.0f}")
            mark = next(marks, total + 1)
    return ", ".join(shown)


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

        def runs(total: int) -> Callable[[list[int]], Coroutine[Any, Any, None]]:
            async def work(done: list[int]) -> None:
                for batch in range(0, total, REFRESH_EVERY):
                    for p in users:  # the runs outlast an access token, as a day's work does
                        await p.user.refresh()
                    await many_runs(workers, min(REFRESH_EVERY, total - batch),
                                    sizes.runs_per_thread, done)
            return work

        warm = await rss_trace(pid, runs(sizes.warmup_runs))
        await many_pings(pingers, sizes.warmup_runs)
        pings = await rss_trace(pid, lambda done: many_pings(pingers, sizes.rss_runs, done))
        started = time.perf_counter()
        measured = await rss_trace(pid, runs(sizes.rss_runs))
        took = time.perf_counter() - started
        for socket in [w.socket for w in workers] + pingers:
            await socket.close()
    mbs = [mb for _, mb in measured]
    return Figure(
        "server RSS growth over runs", growth(measured, sizes.rss_runs), "MB",
        target=RSS_GROWTH_TARGET_MB, baseline=growth(pings, sizes.rss_runs),
        baseline_name=f"over {sizes.rss_runs} pings", compare="difference",
        detail=(f"{sizes.rss_runs} runs after {sizes.warmup_runs} warm-up, {len(workers)} in "
                f"flight ({sizes.rss_runs / took:.1f} runs/s); least-squares slope through "
                f"{len(measured)} samples, {min(mbs):.0f}–{max(mbs):.0f} MB; RSS at each tenth "
                f"of the warm-up: {_every_tenth(warm, sizes.warmup_runs)} MB; of the runs: "
                f"{_every_tenth(measured, sizes.rss_runs)} MB"),
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
