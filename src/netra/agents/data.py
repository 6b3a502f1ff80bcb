"""The data agent: measures what the question needs: totals, breakdowns, latency, errors,
provider prices."""

from __future__ import annotations

from functools import partial
from typing import Any

from netra.agents import tools
from netra.agents.triage import Plan
from netra.runs.context import RunContext, ToolOutcome
from netra.telemetry.store import AnalyticsStore

# The breakdowns each intent shows (the full report also charts spend by day).
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "optimize": ("model", "feature", "day"),
    "action_plan": ("model", "feature", "day"),
    "overview": ("model", "feature", "provider", "day"),
    "trend": ("day", "model"),
    "caching": ("feature",),
    "batch": ("feature",),
    "output_limits": ("feature",),
    "context": ("feature",),
    "errors": ("model",),
}
_SPEND_WORDS = {"model": ("model",), "provider": ("provider", "vendor"), "day": ("day", "daily")}


def spend_dimensions(question: str) -> tuple[str, ...]:
    """"spend by feature last week" -> ("feature",); unspecified -> feature and model."""
    text = question.lower()
    chosen = [by for by, words in _SPEND_WORDS.items() if any(w in text for w in words)]
    if "feature" in text or not chosen:
        chosen.insert(0, "feature")
    if len(chosen) == 1 and chosen[0] == "feature" and "feature" not in text:
        chosen.append("model")
    return tuple(dict.fromkeys(chosen))


async def gather(ctx: RunContext, store: AnalyticsStore, plan: Plan) -> dict[str, Any]:
    dataset_id = plan.dataset_id
    assert dataset_id is not None
    async with ctx.agent("data") as step:
        await ctx.think("data", "Measuring spend, volume, latency and errors in the dataset.")

        async def call(name: str, args: dict[str, Any], fn: Any) -> Any:
            outcome: ToolOutcome = await ctx.tool("data", name, {"dataset_id": dataset_id, **args},
                                                  fn, keep=True)
            return outcome.result

        facts: dict[str, Any] = {"overview": await call(
            "dataset_overview", {}, lambda: tools.overview_tool(store, dataset_id))}
        last_days = plan.ask.days if plan.intent == "spend" else None
        dimensions = (spend_dimensions(plan.ask.question) if plan.intent == "spend"
                      else BREAKDOWNS.get(plan.intent, ()))
        for by in dimensions:
            args = {"by": by} | ({"last_days": last_days} if last_days else {})
            facts[f"by_{by}"] = await call(
                "spend_breakdown", args,
                partial(tools.breakdown_tool, store, dataset_id, by, last_days))
        if plan.intent == "latency":
            facts["latency"] = await call("latency_by_model", {},
                                          lambda: tools.latency_tool(store, dataset_id))
        if plan.intent == "errors":
            facts["errors"] = await call("error_cost", {},
                                         lambda: tools.error_cost_tool(store, dataset_id))
        if plan.intent == "providers":
            model = plan.ask.models[0] if plan.ask.models else None
            facts["providers"] = await call(
                "compare_providers", {"model": model},
                lambda: tools.providers_tool(store, dataset_id, model))
        overview = facts["overview"]
        step.summary = (f"{overview['requests']:,} requests, "
                        f"{tools.usd(overview['monthly_spend_usd'])}/month")
        return facts
