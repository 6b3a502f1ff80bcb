"""What-if replay and the focused questions on a large demo dataset, in process.

1. `simulate` with every switch on (model map, half the traffic, batch, prompt cache,
   response cache: the most window work a scenario can ask for), p50/p95;
2. the five focused questions (profile, last-week spend, latency, error cost, provider
   comparison) one after another, p50/p95.

Baseline: one raw scan of the same rows (spend per feature and model) on the same store,
so the ratio is the replay's cost over reading the data once.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import date
from pathlib import Path

from bench._common import Figure, latency_figures, timed_ms
from netra.analysis import questions
from netra.analysis.whatif import Scenario, simulate
from netra.telemetry.store.duckdb_store import DuckDBStore

SIMULATE_P95_TARGET_MS = 250.0
QUESTIONS_P95_TARGET_MS = 250.0
END = date(2026, 11, 25)
SCENARIO = Scenario(model_map={"gpt-4o": "gpt-4o-mini", "claude-sonnet-4-5": "claude-haiku-4-5"},
                    share_pct=50, batch=True, prompt_cache=True, response_cache=True)
RAW = """
SELECT coalesce(feature, '(none)') AS feature, model, count(*), sum(cost_usd)
FROM requests WHERE dataset_id = 'd' GROUP BY ALL
"""


async def _questions(store: DuckDBStore) -> None:
    await questions.dataset_profile(store, "d")
    await questions.spend_slice(store, "d", "feature", last_days=7)
    await questions.latency_by_model(store, "d")
    await questions.error_cost(store, "d")
    await questions.compare_providers(store, "d", None)


async def _measure(rows: int, samples: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="netra-bench-whatif-") as tmp:
        store = DuckDBStore(Path(tmp) / "analytics.duckdb")
        await store.open()
        try:
            await store.generate_demo("d", rows=rows, seed=3, end=END)
            raw = await timed_ms(samples, lambda: store.fetch(RAW))
            replay = await timed_ms(samples, lambda: simulate(store, "d", SCENARIO))
            asked = await timed_ms(samples, lambda: _questions(store))
        finally:
            await store.close()
    detail = f"{rows:,} rows, {samples} samples"
    return [
        *latency_figures("what-if replay, every switch on", replay, raw, "raw scan",
                         p95_target=SIMULATE_P95_TARGET_MS, detail=detail),
        *latency_figures("five focused questions", asked, raw, "raw scan",
                         p95_target=QUESTIONS_P95_TARGET_MS, detail=detail),
    ]  # fmt: skip


def run(args: argparse.Namespace) -> list[Figure]:
    rows, samples = (10_000, 5) if args.quick else (100_000, 20)
    return asyncio.run(_measure(rows, samples))
