"""The optimization agent: runs each finding category and ranks what it finds."""

from __future__ import annotations

from typing import Any

from netra.agents import tools
from netra.agents.context import RunContext
from netra.telemetry.store import AnalyticsStore


async def find_savings(
    ctx: RunContext, store: AnalyticsStore, dataset_id: str
) -> list[dict[str, Any]]:
    async with ctx.agent("optimization") as step:
        await ctx.think("optimization", "Looking for savings: cheaper models for simple work "
                        "and repeated identical prompts.")
        findings: list[dict[str, Any]] = []
        for category in tools.FINDING_CATEGORIES:
            outcome = await ctx.tool(
                "optimization", f"find_{category}", {"dataset_id": dataset_id},
                lambda category=category: tools.findings_tool(store, dataset_id, category),  # type: ignore[misc]
            )
            findings.extend(outcome.result)
        findings.sort(key=lambda f: f["savings_usd_month"], reverse=True)
        step.summary = f"{len(findings)} finding(s)"
        return findings
