"""The actions agent: the exact change for each finding, the files to download, and the
savings totalled without counting overlapping findings twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from netra.agents.action_plan import action_plan
from netra.agents.tools import FINDING_CATEGORIES, ranked, usd
from netra.analysis.findings import combined_savings
from netra.runs.context import RunContext, ToolOutcome


def totals(findings: list[dict[str, Any]], monthly_spend: float) -> dict[str, Any]:
    combined = combined_savings(findings)
    savings = round(float(combined["savings_usd_month"]), 2)
    return {
        "current_monthly_spend_usd": round(monthly_spend, 2),
        "savings_usd_month": savings,
        "savings_usd_year": round(savings * 12, 2),
        "savings_pct": round(100 * savings / monthly_spend, 1) if monthly_spend else 0.0,
        "projected_monthly_spend_usd": round(monthly_spend - savings, 2),
        "projected_annual_spend_usd": round((monthly_spend - savings) * 12, 2),
        "findings": len(findings),
        "gross_savings_usd_month": round(sum(f["savings_usd_month"] for f in findings), 2),
        "overlap_rule": combined.get("rule", ""),
    }


PlanCall = tuple[str, dict[str, Any], Callable[[], Awaitable[ToolOutcome]]]


def plan_calls(findings: list[dict[str, Any]], monthly_spend: float) -> list[PlanCall]:
    """The two tool calls of an action plan: the changes and files, and the totals. Both
    depend only on the findings (the version's) and the version's spend, so they are kept
    with the version and a later question reads them back."""
    ids = {"findings": [f["id"] for f in findings]}

    async def draft() -> ToolOutcome:
        changes, downloads = action_plan(findings)
        files = ", ".join(d["filename"] for d in downloads) or "no files"
        return ToolOutcome({"changes": changes, "downloads": downloads},
                           f"{len(changes)} change(s); {files}")

    async def total() -> ToolOutcome:
        result = totals(findings, monthly_spend)
        return ToolOutcome(result, f"{usd(result['savings_usd_month'])}/month after "
                           "removing overlap between findings")

    return [("draft_action_plan", ids, draft), ("total_savings", ids, total)]


async def plan(
    ctx: RunContext, findings: list[dict[str, Any]], monthly_spend: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Returns (changes, downloads, totals)."""
    async with ctx.agent("actions") as step:
        await ctx.think("actions", "Writing the exact change for each finding.")
        (draft_name, ids, draft), (total_name, _, total) = plan_calls(findings, monthly_spend)
        drafted = (await ctx.tool("actions", draft_name, ids, draft, keep=True)).result
        summary = (await ctx.tool("actions", total_name, ids, total, keep=True)).result
        step.summary = (f"{len(drafted['changes'])} change(s), "
                        f"{usd(summary['savings_usd_month'])}/month")
        return drafted["changes"], drafted["downloads"], summary


def follow_up_calls(lookup: Callable[[str, dict[str, Any]], ToolOutcome | None],
                    dataset_id: str) -> list[PlanCall]:
    """The action plan of the question most asked (every finding category: "how can we
    cut our costs?"), from a version's kept results, so that the version's analysis keeps
    it too and a user's first question costs what a follow-up does. The same findings in
    the same order as the optimization agent ranks them, so the same keys."""
    kept = [lookup(f"find_{category}", {"dataset_id": dataset_id})
            for category in FINDING_CATEGORIES]
    overview = lookup("dataset_overview", {"dataset_id": dataset_id})
    if overview is None or any(outcome is None for outcome in kept):
        return []
    findings = ranked(outcome.result for outcome in kept if outcome is not None)
    return plan_calls(findings, float(overview.result["monthly_spend_usd"] or 0))
