"""The data agent: the state of the workload: totals, and spend by model, feature and day."""

from __future__ import annotations

from typing import Any

from netra.agents import tools
from netra.agents.context import RunContext
from netra.telemetry.store import AnalyticsStore

BREAKDOWNS = ("model", "feature", "provider", "day")


async def gather(ctx: RunContext, store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    async with ctx.agent("data") as step:
        await ctx.think("data", "Measuring spend, volume, latency and errors in the dataset.")
        overview = await ctx.tool("data", "dataset_overview", {"dataset_id": dataset_id},
                                  lambda: tools.overview_tool(store, dataset_id))
        facts: dict[str, Any] = {"overview": overview.result}
        for by in BREAKDOWNS:
            outcome = await ctx.tool(
                "data", "spend_breakdown", {"dataset_id": dataset_id, "by": by},
                lambda by=by: tools.breakdown_tool(store, dataset_id, by),  # type: ignore[misc]
            )
            facts[f"by_{by}"] = outcome.result
        step.summary = overview.summary
        return facts
