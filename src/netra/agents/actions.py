"""The actions agent: turns each finding into the exact change to make, and totals the
savings without counting overlapping findings twice."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from netra.agents.context import RunContext, ToolOutcome
from netra.agents.tools import usd

EFFORT = {"model_rightsizing": "low", "response_caching": "medium"}


def plan_actions(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "finding_id": f["id"], "title": f["title"], "category": f["category"],
            "change": f["action"], "effort": EFFORT.get(f["category"], "medium"),
            "quick_win": EFFORT.get(f["category"]) == "low" and f["confidence"] != "low",
            "savings_usd_month": f["savings_usd_month"],
        }
        for f in findings
    ]


def combined_savings(findings: list[dict[str, Any]]) -> float:
    """Savings of findings touching the same feature compound instead of adding: once
    the biggest change has cut a feature's cost by p%, the next one saves on what is left."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        scope = (finding.get("evidence") or {}).get("feature") or finding["id"]
        groups[str(scope)].append(finding)
    total = 0.0
    for group in groups.values():
        remaining_share = 1.0
        for finding in sorted(group, key=lambda f: f["savings_usd_month"], reverse=True):
            total += finding["savings_usd_month"] * remaining_share
            remaining_share *= max(0.0, 1 - finding["savings_pct"] / 100)
    return round(total, 2)


def totals(findings: list[dict[str, Any]], monthly_spend: float) -> dict[str, Any]:
    savings = combined_savings(findings)
    return {
        "current_monthly_spend_usd": round(monthly_spend, 2),
        "savings_usd_month": savings,
        "savings_usd_year": round(savings * 12, 2),
        "savings_pct": round(100 * savings / monthly_spend, 1) if monthly_spend else 0.0,
        "projected_monthly_spend_usd": round(monthly_spend - savings, 2),
        "findings": len(findings),
        "gross_savings_usd_month": round(sum(f["savings_usd_month"] for f in findings), 2),
    }


async def plan(
    ctx: RunContext, findings: list[dict[str, Any]], monthly_spend: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    async with ctx.agent("actions") as step:
        await ctx.think("actions", "Writing the exact change for each finding.")

        async def draft() -> ToolOutcome:
            actions = plan_actions(findings)
            return ToolOutcome(actions, f"{len(actions)} change(s) drafted")

        async def total() -> ToolOutcome:
            result = totals(findings, monthly_spend)
            return ToolOutcome(result, f"{usd(result['savings_usd_month'])}/month after "
                               "removing overlap between findings")

        actions = (await ctx.tool("actions", "draft_action_plan",
                                  {"findings": [f["id"] for f in findings]}, draft)).result
        summary = (await ctx.tool("actions", "total_savings",
                                  {"findings": [f["id"] for f in findings]}, total)).result
        step.summary = f"{len(actions)} action(s), {usd(summary['savings_usd_month'])}/month"
        return actions, summary
