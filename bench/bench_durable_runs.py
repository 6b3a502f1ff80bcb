"""Durable runs: what durability costs one user on the embedded default.

Message → the supervisor's `agent_started` and message → the final answer, p95, on a
2,000-row demo dataset through one `netra serve` (SQLite + DuckDB); baseline: the same
questions to the code before durable runs (commit BEFORE, exported from git and served
side by side in this run, the questions alternating between the two). Target ≤ 1.2×.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tests.e2e.client import signup
from tests.e2e.server import Server, running_server

from bench._common import Figure, LiveSocket, percentile, source_at

# The last commit before runs became durable workflows.
BEFORE = "1ce88d7"
QUESTION = "How can we cut our LLM costs?"
COST_TARGET = 1.2

FIGURE_NAMES = (
    "durable: message→agent_started p95",
    "durable: message→answer p95",
    "durable: answer p95, after ÷ before",
)


@dataclass(frozen=True)
class Sizes:
    questions: int
    rows: int


FULL = Sizes(questions=40, rows=2000)
QUICK = Sizes(questions=4, rows=500)


def run(args: argparse.Namespace) -> list[Figure]:
    return asyncio.run(_cost(QUICK if args.quick else FULL))


async def _cost(sizes: Sizes) -> list[Figure]:
    with (source_at(BEFORE) as old_src, tempfile.TemporaryDirectory(prefix="netra-dur-") as tmp,
          running_server(Path(tmp) / "after") as after,
          running_server(Path(tmp) / "before", PYTHONPATH=str(old_src)) as before):
        samples: dict[str, tuple[list[float], list[float]]] = {}
        async with (_asker(before, sizes) as ask_before, _asker(after, sizes) as ask_after):
            for name, ask in (("before", ask_before), ("after", ask_after)):
                await ask()  # warm-up: first-use costs are not latency
                samples[name] = ([], [])
            for _ in range(sizes.questions):  # alternating, so drift hits both alike
                for name, ask in (("before", ask_before), ("after", ask_after)):
                    started_ms, answer_ms = await ask()
                    samples[name][0].append(started_ms)
                    samples[name][1].append(answer_ms)
    detail = f"{sizes.questions} questions each, {sizes.rows:,}-row dataset, one user"
    return [
        Figure(f"durable: message→{what} p95", percentile(samples["after"][i], 95), "ms",
               baseline=percentile(samples["before"][i], 95),
               baseline_name=f"before durable runs ({BEFORE}) p95", detail=detail)
        for i, what in enumerate(("agent_started", "answer"))
    ] + [_ratio_figure(samples)]


def _ratio_figure(samples: dict[str, tuple[list[float], list[float]]]) -> Figure:
    after = percentile(samples["after"][1], 95)
    before = percentile(samples["before"][1], 95)
    return Figure("durable: answer p95, after ÷ before", after / before, "×",
                  target=COST_TARGET, detail="target ≤ 1.2× the code before durable runs")


@contextlib.asynccontextmanager
async def _asker(server: Server, sizes: Sizes) -> AsyncIterator[Any]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
        user = await signup(http, server.ws_url, "durable")
        dataset_id = await user.demo_dataset(rows=sizes.rows)
        thread_id = await user.thread()
        socket = await LiveSocket.open(user)

        async def ask() -> tuple[float, float]:
            sent, run_id = await socket.ask(thread_id, QUESTION, dataset_id)
            started = await socket.started_at(run_id)
            finished, _ = await socket.finished(run_id)
            return (started - sent) * 1000, (finished - sent) * 1000

        try:
            yield ask
        finally:
            await socket.close()


__all__ = ["FIGURE_NAMES", "run"]
