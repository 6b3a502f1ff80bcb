"""Answers in seconds: each dataset version is analysed once, not once per question.

1. Server CPU per question (user + system time of the `netra serve` process, from
   /proc), 2,000-row dataset, its analysis already kept; baseline: the same questions to
   the code before per-version analysis (commit BEFORE, served side by side from git).
   Target ≤ 40 ms.
2. USERS users, each with their own 2,000-row dataset (analysed after the import, before
   the burst), ask at the same moment on the embedded default: every run completes;
   answer p95, target ≤ 5 s; baseline: the same burst on the code before.
3. Larger datasets (100,000 and 10,000,000 rows in a full run): how long the analysis of
   a new version takes, and question latency once it is kept (target p95 ≤ 200 ms at
   10M rows); baseline: the raw scan of the dataset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.e2e.client import User, signup
from tests.e2e.server import Server, running_server, server_env

from bench._common import Figure, LiveSocket, gather_limited, percentile, source_at
from netra.settings import Settings
from netra.telemetry.schemas import MAX_DEMO_ROWS

# The last commit before answers read the analysis of their dataset's version.
BEFORE = "632fbba"
QUESTION = "How can we cut our LLM costs?"
CPU_TARGET_MS = 40.0
BURST_P95_TARGET_MS = 5000.0
LARGE_P95_TARGET_MS = 200.0
TICKS = os.sysconf("SC_CLK_TCK")

FIGURE_NAMES = (
    "server CPU per question, analysis kept",
    "burst: runs completed",
    "burst: answer p95",
    "new version analysed, large dataset",
    "question on a kept version, large dataset p95",
)


@dataclass(frozen=True)
class Sizes:
    questions: int
    users: int
    user_rows: int
    large_rows: tuple[int, ...]
    large_questions: int


FULL = Sizes(questions=30, users=200, user_rows=2000, large_rows=(100_000, 10_000_000),
             large_questions=20)
QUICK = Sizes(questions=4, users=10, user_rows=500, large_rows=(20_000,), large_questions=4)


def run(args: argparse.Namespace) -> list[Figure]:
    sizes = QUICK if args.quick else FULL
    return asyncio.run(_all(sizes))


async def _all(sizes: Sizes) -> list[Figure]:
    with source_at(BEFORE) as old_src, tempfile.TemporaryDirectory(prefix="netra-ans-") as tmp:
        figures = [await _cpu(sizes, Path(tmp), old_src)]
        figures += await _burst(sizes, Path(tmp), old_src)
        for rows in sizes.large_rows:
            figures += await _large(sizes, rows, Path(tmp))
    return figures


def cpu_seconds(pid: int) -> float:
    """User + system time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextlib.asynccontextmanager
async def _asker(server: Server, rows: int) -> AsyncIterator[tuple[User, LiveSocket, str, str]]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=300) as http:
        if rows > MAX_DEMO_ROWS:  # `netra demo` made it for the demo login
            user = await _demo_login(http, server.ws_url)
            dataset_id = str((await user.get("/api/datasets")).json()[0]["id"])
        else:
            user = await signup(http, server.ws_url, "bench")
            dataset_id = await user.demo_dataset(rows=rows)
        socket = await LiveSocket.open(user)
        try:
            yield user, socket, dataset_id, await user.thread()
        finally:
            await socket.close()


async def _demo_login(http: httpx.AsyncClient, ws_url: str) -> User:
    # The test server's environment sets no NETRA_DEMO_*: the defaults.
    email, password = (Settings.model_fields[f"demo_{k}"].default for k in ("email", "password"))
    response = await http.post("/api/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    body = response.json()
    return User(http, ws_url, email, body["access_token"], body["refresh_token"],
                body["user"]["id"])


async def _ask(socket: LiveSocket, thread_id: str, dataset_id: str) -> float:
    sent, run_id = await socket.ask(thread_id, QUESTION, dataset_id)
    finished, _ = await socket.finished(run_id)
    return (finished - sent) * 1000


async def _cpu_per_question(server: Server, sizes: Sizes) -> float:
    async with _asker(server, 2000) as (_, socket, dataset_id, thread_id):
        await _ask(socket, thread_id, dataset_id)  # analyses the version, warms up
        await _ask(socket, thread_id, dataset_id)
        before = cpu_seconds(server.process.pid)
        for _ in range(sizes.questions):
            await _ask(socket, thread_id, dataset_id)
        return (cpu_seconds(server.process.pid) - before) * 1000 / sizes.questions


async def _cpu(sizes: Sizes, tmp: Path, old_src: Path) -> Figure:
    with running_server(tmp / "cpu-before", PYTHONPATH=str(old_src)) as server:
        before = await _cpu_per_question(server, sizes)
    with running_server(tmp / "cpu-after") as server:
        after = await _cpu_per_question(server, sizes)
    return Figure("server CPU per question, analysis kept", after, "ms", target=CPU_TARGET_MS,
                  baseline=before, baseline_name=f"before ({BEFORE})",
                  detail=f"{sizes.questions} questions, 2,000-row dataset, user + system time")


async def _burst_p95(server: Server, sizes: Sizes) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=600,
                                 limits=httpx.Limits(max_connections=50)) as http:
        users: list[User] = await gather_limited(
            8, *(signup(http, server.ws_url, f"b{i}") for i in range(sizes.users)))
        datasets = await gather_limited(4, *(u.demo_dataset(rows=sizes.user_rows)
                                             for u in users))
        threads = await gather_limited(20, *(u.thread() for u in users))
        sockets = await gather_limited(20, *(LiveSocket.open(u) for u in users))
        await _analysed(http, sizes.users)  # every version analysed before the burst
        outcomes = await asyncio.gather(
            *(_ask(s, t, d) for s, t, d in zip(sockets, threads, datasets, strict=True)),
            return_exceptions=True)
        for socket in sockets:
            await socket.close()
    answers = [o for o in outcomes if isinstance(o, float)]
    return len(answers), percentile(answers, 95) if answers else float("nan")


async def _analysed(http: httpx.AsyncClient, versions: int, timeout_s: float = 600) -> None:
    """Wait until the server has analysed this many dataset versions (its metric).
    A server from before per-version analysis has no such metric: nothing to wait for."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = (await http.get("/metrics")).text
        if "netra_dataset_analyses_total" not in text:
            return
        done = sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith("netra_dataset_analyses_total"))
        if done >= versions:
            return
        await asyncio.sleep(0.5)  # polling a counter, bounded by the deadline
    raise TimeoutError(f"{versions} dataset versions not analysed in {timeout_s:g} s")


async def _burst(sizes: Sizes, tmp: Path, old_src: Path) -> list[Figure]:
    with running_server(tmp / "burst-before", PYTHONPATH=str(old_src)) as server:
        _, before = await _burst_p95(server, sizes)
    with running_server(tmp / "burst-after") as server:
        done, after = await _burst_p95(server, sizes)
    detail = (f"{sizes.users} users at once, each their own {sizes.user_rows:,}-row dataset, "
              "embedded default, 2 cores")
    return [
        Figure("burst: runs completed", 100 * done / sizes.users, "%",
               detail=f"{done} of {sizes.users}"),
        Figure("burst: answer p95", after, "ms", target=BURST_P95_TARGET_MS, baseline=before,
               baseline_name=f"before ({BEFORE})", detail=detail),
    ]


async def _large(sizes: Sizes, rows: int, tmp: Path) -> list[Figure]:
    data = tmp / f"large-{rows}"
    if rows > MAX_DEMO_ROWS:  # past what the API makes: the CLI makes it, before serving
        data.mkdir(parents=True)
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "netra.cli", "demo", "--rows", str(rows)],
            env=server_env(data), cwd=data, check=True, capture_output=True)
    with running_server(data) as server:
        async with _asker(server, rows) as (user, socket, dataset_id, thread_id):
            started = time.perf_counter()
            await _ask(socket, thread_id, dataset_id)  # waits for (triggers) the analysis
            analysed = (time.perf_counter() - started) * 1000
            latencies = [await _ask(socket, thread_id, dataset_id)
                         for _ in range(sizes.large_questions)]
            scan = [await _scan_ms(user, dataset_id) for _ in range(5)]
    detail = f"{rows:,} rows"
    return [
        Figure("new version analysed, large dataset", analysed, "ms",
               detail=f"{detail}: the first question, which waits for the analysis"),
        Figure("question on a kept version, large dataset p95", percentile(latencies, 95),
               "ms", target=LARGE_P95_TARGET_MS if rows >= 10_000_000 else None,
               baseline=percentile(scan, 50), baseline_name="dataset summary p50",
               detail=detail),
    ]


async def _scan_ms(user: User, dataset_id: str) -> float:
    started = time.perf_counter()
    answer = await user.get(f"/api/datasets/{dataset_id}/summary")
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000


__all__ = ["FIGURE_NAMES", "run"]
