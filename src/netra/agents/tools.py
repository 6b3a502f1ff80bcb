"""The tools agents call. Each reads the workload data through the analytics store and
returns a result plus a one-line summary; every number an answer shows comes from here."""

from __future__ import annotations

from typing import Any

from netra.agents.context import ToolOutcome
from netra.analysis.model_rightsizing import find_model_rightsizing
from netra.analysis.overview import dataset_overview, spend_breakdown
from netra.analysis.response_caching import find_response_caching
from netra.telemetry.store import AnalyticsStore


def usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


async def overview_tool(store: AnalyticsStore, dataset_id: str) -> ToolOutcome:
    result = await dataset_overview(store, dataset_id)
    summary = (
        f"{result['requests']:,} requests over {result['window_days']:.1f} days, "
        f"{usd(result['spend_usd'])} spent ({usd(result['monthly_spend_usd'])}/month)"
    )
    return ToolOutcome(result, summary)


async def breakdown_tool(store: AnalyticsStore, dataset_id: str, by: str) -> ToolOutcome:
    result = await spend_breakdown(store, dataset_id, by)
    rows = result["rows"]
    if not rows:
        return ToolOutcome(result, f"no spend by {by}")
    if by == "day":
        return ToolOutcome(result, f"{len(rows)} days of spend")
    top = rows[0]
    summary = (
        f"{len(rows)} {by}s; top: {top['key']} at {usd(top['spend_usd'])} ({top['share_pct']:.0f}%)"
    )
    return ToolOutcome(result, summary)


async def findings_tool(store: AnalyticsStore, dataset_id: str, category: str) -> ToolOutcome:
    finders = {
        "model_rightsizing": find_model_rightsizing,
        "response_caching": find_response_caching,
    }
    findings: list[dict[str, Any]] = await finders[category](store, dataset_id)
    savings = sum(f["savings_usd_month"] for f in findings)
    summary = (
        f"{len(findings)} finding(s), {usd(savings)}/month" if findings else "nothing to gain here"
    )
    return ToolOutcome(findings, summary)


FINDING_CATEGORIES = ("model_rightsizing", "response_caching")
