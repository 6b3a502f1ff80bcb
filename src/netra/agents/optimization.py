"""The optimization agent: runs the finding categories a question needs, re-runs one
finding for a follow-up, or replays the traffic under a what-if scenario."""

from __future__ import annotations

from functools import partial
from typing import Any

from netra.agents import tools
from netra.agents.scenarios import build_scenario
from netra.agents.triage import Plan
from netra.analysis.findings import analysis_run, side_by_side
from netra.runs.context import RunContext
from netra.telemetry.store import AnalyticsStore


async def _findings(ctx: RunContext, store: AnalyticsStore, dataset_id: str,
                    categories: tuple[str, ...]) -> list[dict[str, Any]]:
    # The calls are made (and their steps numbered) here, in order, before any runs.
    calls = [ctx.tool_call("optimization", f"find_{category}", {"dataset_id": dataset_id},
                           partial(tools.findings_tool, store, dataset_id, category), keep=True)
             for category in categories]
    with analysis_run():
        outcomes = await side_by_side(calls)
    return tools.ranked(outcome.result for outcome in outcomes)


async def find_savings(ctx: RunContext, store: AnalyticsStore, dataset_id: str,
                       categories: tuple[str, ...]) -> list[dict[str, Any]]:
    async with ctx.agent("optimization") as step:
        await ctx.think("optimization", "Looking for savings: "
                        + ", ".join(c.replace("_", " ") for c in categories) + ".")
        findings = await _findings(ctx, store, dataset_id, categories)
        step.summary = f"{len(findings)} finding(s)"
        return findings


def pick_finding(previous: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """"the second finding" → the second of the last report's ranked findings."""
    findings = previous["findings"]
    if plan.ask.ordinal is not None and findings:
        index = plan.ask.ordinal - 1 if plan.ask.ordinal > 0 else len(findings) - 1
        return dict(findings[min(max(index, 0), len(findings) - 1)])
    for finding in findings:
        if (finding.get("evidence") or {}).get("feature") in plan.ask.features:
            return dict(finding)
    return dict(findings[0])


async def refresh_finding(ctx: RunContext, store: AnalyticsStore, plan: Plan) -> dict[str, Any]:
    """Re-measure the finding a follow-up asks about, so its evidence is current."""
    assert plan.previous is not None and plan.dataset_id is not None
    chosen = pick_finding(plan.previous, plan)
    async with ctx.agent("optimization") as step:
        await ctx.think("optimization", f"Re-measuring the finding: {chosen['title']}.")
        fresh = await _findings(ctx, store, plan.dataset_id, (chosen["category"],))
        current = next((f for f in fresh if f["id"] == chosen["id"]), None)
        step.summary = "finding re-measured" if current else "finding no longer present"
        return current or {**chosen, "stale": True}


async def what_if(ctx: RunContext, store: AnalyticsStore, plan: Plan) -> dict[str, Any]:
    assert plan.dataset_id is not None
    dataset_id = plan.dataset_id
    async with ctx.agent("optimization") as step:
        findings = list((plan.previous or {}).get("findings") or [])
        if not findings:
            await ctx.think("optimization", "Finding the candidate changes first.")
            findings = await _findings(ctx, store, dataset_id, ("model_rightsizing",
                                                                "provider_switch"))
        scenario, description = build_scenario(plan.ask, findings)
        await ctx.think("optimization", f"Replaying the traffic with {description}.")
        outcome = await ctx.tool("optimization", "simulate",
                                 {"dataset_id": dataset_id, **scenario.__dict__},
                                 lambda: tools.simulate_tool(store, dataset_id, scenario))
        step.summary = outcome.summary
        return {**outcome.result, "description": description}
