"""The tools agents call. Each reads the workload data through the analytics store and
returns a result plus a one-line summary; every number an answer shows comes from here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

from netra.analysis import questions
from netra.analysis.findings import ALL_FINDERS
from netra.analysis.overview import dataset_overview, spend_breakdown
from netra.analysis.whatif import Scenario, simulate
from netra.runs.context import ToolOutcome
from netra.telemetry.store import AnalyticsStore

FINDING_CATEGORIES = tuple(ALL_FINDERS)


def usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


async def overview_tool(store: AnalyticsStore, dataset_id: str) -> ToolOutcome:
    result = await dataset_overview(store, dataset_id)
    summary = (f"{result['requests']:,} requests over {result['window_days']:.1f} days, "
               f"{usd(result['spend_usd'])} spent ({usd(result['monthly_spend_usd'])}/month)")
    return ToolOutcome(result, summary)


async def profile_tool(store: AnalyticsStore, dataset_id: str) -> ToolOutcome:
    result = await questions.dataset_profile(store, dataset_id)
    fields = result.get("fields", {})
    present = sorted(name for name, share in fields.items() if float(share or 0) > 0)
    return ToolOutcome(result, f"{len(result.get('features') or [])} feature(s), "
                       f"{len(result.get('models') or [])} model(s); fields: {', '.join(present)}")


async def breakdown_tool(
    store: AnalyticsStore, dataset_id: str, by: str, last_days: int | None = None
) -> ToolOutcome:
    if last_days is None:
        result = await spend_breakdown(store, dataset_id, by)
    else:
        result = await questions.spend_slice(store, dataset_id, by, last_days=last_days)
    rows = result["rows"]
    if not rows:
        return ToolOutcome(result, f"no spend by {by}")
    if by == "day":
        return ToolOutcome(result, f"{len(rows)} days of spend")
    top = rows[0]
    return ToolOutcome(result, f"{len(rows)} {by}s; top: {top['key']} at "
                       f"{usd(top['spend_usd'])} ({top['share_pct']:.0f}%)")


async def latency_tool(store: AnalyticsStore, dataset_id: str) -> ToolOutcome:
    result = await questions.latency_by_model(store, dataset_id)
    rows = result["rows"]
    if not rows:
        return ToolOutcome(result, "no latency recorded")
    slowest = rows[0]
    return ToolOutcome(result, f"slowest: {slowest['model']} at p95 "
                       f"{slowest['p95_latency_ms']:,.0f} ms")


async def error_cost_tool(store: AnalyticsStore, dataset_id: str) -> ToolOutcome:
    result = await questions.error_cost(store, dataset_id)
    return ToolOutcome(result, f"{result['failed_requests']:,} failed requests cost "
                       f"{usd(result['cost_usd'])} ({usd(result['cost_usd_month'])}/month)")


async def providers_tool(store: AnalyticsStore, dataset_id: str, model: str | None) -> ToolOutcome:
    result = await questions.compare_providers(store, dataset_id, model)
    rows = result.get("rows") or []
    return ToolOutcome(result, f"{len(rows)} provider option(s) compared")


async def findings_tool(store: AnalyticsStore, dataset_id: str, category: str) -> ToolOutcome:
    findings: list[dict[str, Any]] = await ALL_FINDERS[category](store, dataset_id)
    savings = sum(f["savings_usd_month"] for f in findings)
    summary = (f"{len(findings)} finding(s), {usd(savings)}/month"
               if findings else "nothing to gain here")
    return ToolOutcome(findings, summary)


async def simulate_tool(store: AnalyticsStore, dataset_id: str, scenario: Scenario) -> ToolOutcome:
    result = await simulate(store, dataset_id, scenario)
    return ToolOutcome(result, f"would have paid {usd(result['simulated_cost_usd'])} instead of "
                       f"{usd(result['current_cost_usd'])} ({usd(result['savings_usd_month'])}"
                       "/month less)")


def ranked(found: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Findings of several finders (in FINDING_CATEGORIES order) as one list, ranked by
    monthly savings (ties keep that order)."""
    findings = [f for some in found for f in some]
    findings.sort(key=lambda f: f["savings_usd_month"], reverse=True)
    return findings


def standard_calls(
    store: AnalyticsStore, dataset_id: str
) -> list[tuple[str, dict[str, Any], Callable[[], Awaitable[ToolOutcome]]]]:
    """The results computed once per dataset version, in the background (the tool
    names and arguments the agents call them with, without the dataset id)."""
    calls: list[tuple[str, dict[str, Any], Callable[[], Awaitable[ToolOutcome]]]] = [
        ("dataset_profile", {}, partial(profile_tool, store, dataset_id)),
        ("dataset_overview", {}, partial(overview_tool, store, dataset_id)),
    ]
    calls += [("spend_breakdown", {"by": by}, partial(breakdown_tool, store, dataset_id, by))
              for by in ("model", "feature", "provider", "day")]
    calls += [("latency_by_model", {}, partial(latency_tool, store, dataset_id)),
              ("error_cost", {}, partial(error_cost_tool, store, dataset_id)),
              ("compare_providers", {"model": None},
               partial(providers_tool, store, dataset_id, None))]
    calls += [(f"find_{category}", {}, partial(findings_tool, store, dataset_id, category))
              for category in FINDING_CATEGORIES]
    return calls
