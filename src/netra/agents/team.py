"""The supervisor: triage → data → optimization → actions → reporting, as the question needs."""

from __future__ import annotations

from typing import Any

from netra.agents import actions, answer, data, optimization, replies, reporting
from netra.agents.llm.offline import OfflineAnalyst
from netra.agents.tools import FINDING_CATEGORIES
from netra.agents.triage import Plan, triage
from netra.runs.context import RunContext
from netra.telemetry.store import AnalyticsStore

# Intents answered with findings, and the categories each looks at.
FINDING_INTENTS: dict[str, tuple[str, ...]] = {
    "optimize": FINDING_CATEGORIES,
    "action_plan": FINDING_CATEGORIES,
    "caching": ("response_caching", "prompt_caching"),
    "batch": ("batch_api",),
    "output_limits": ("output_limits",),
    "context": ("context_growth",),
    "errors": ("retry_waste",),
}
Answer = tuple[str, dict[str, Any]]


def _report(plan: Plan, **parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"findings": [], "totals": {}, "charts": [], "actions": [],
                            "downloads": [], "intent": plan.intent, "dataset_id": plan.dataset_id}
    return base | parts


class AgentTeam:
    def __init__(self, analytics: AnalyticsStore, llm: OfflineAnalyst) -> None:
        self._store = analytics
        self._llm = llm

    async def answer(self, ctx: RunContext) -> Answer:
        """Run the sub-agents the question needs; returns the Markdown answer and report."""
        plan = await triage(ctx, self._llm, self._store)
        if plan.ask.unknown and plan.profile is not None:
            await ctx.think("triage", replies.not_in_data(plan.ask.unknown, plan.profile))
        if plan.dataset_id is None:
            return await self._write(ctx, plan, replies.no_data(), _report(plan), {})
        facts = await data.gather(ctx, self._store, plan)
        if plan.missing:
            draft = replies.missing_data(plan.missing, facts)
            report = _report(plan, missing=list(plan.missing))
            return await self._write(ctx, plan, draft, report, facts)
        if plan.intent in FINDING_INTENTS:
            return await self._with_findings(ctx, plan, facts)
        if plan.intent == "finding_detail":
            finding = await optimization.refresh_finding(ctx, self._store, plan)
            return await self._write(ctx, plan, replies.finding_detail(finding),
                                     _report(plan, findings=[finding]),
                                     facts | {"finding": finding})
        if plan.intent == "what_if":
            result = await optimization.what_if(ctx, self._store, plan)
            return await self._write(ctx, plan, replies.what_if(result),
                                     _report(plan, what_if=result), facts | {"what_if": result})
        draft = self._focused(plan, facts)
        report = _report(plan, charts=answer.charts(facts, []))
        return await self._write(ctx, plan, draft, report, facts)

    def _focused(self, plan: Plan, facts: dict[str, Any]) -> str:
        if plan.intent == "trend":
            return replies.trend(facts)
        if plan.intent == "latency":
            return replies.latency(facts)
        if plan.intent == "providers":
            return replies.providers(facts)
        if plan.intent == "unknown":
            return replies.needs_model(facts)
        if plan.intent == "data_help":
            return replies.DATA_HELP + "\n" + answer.state(facts["overview"]) + "\n"
        if plan.intent == "overview":
            return replies.overview_answer(facts)
        return replies.breakdowns(facts, plan.ask.days)

    async def _with_findings(self, ctx: RunContext, plan: Plan, facts: dict[str, Any]) -> Answer:
        assert plan.dataset_id is not None
        findings = await optimization.find_savings(ctx, self._store, plan.dataset_id,
                                                   FINDING_INTENTS[plan.intent])
        monthly = float(facts["overview"]["monthly_spend_usd"] or 0)
        changes, downloads, totals = await actions.plan(ctx, findings, monthly)
        coverage = (plan.profile or {}).get("fields")  # what thin data lacks, if it finds nothing
        if plan.intent == "errors":
            draft = replies.errors(facts, findings)
        else:
            draft = answer.report_answer(facts, findings, changes, totals, downloads, coverage)
        report = _report(plan, findings=findings, totals=totals, actions=changes,
                         downloads=downloads, charts=answer.charts(facts, findings),
                         **answer.report_sections(facts, findings, changes, totals, coverage))
        return await self._write(ctx, plan, draft, report,
                                 facts | {"totals": totals, "findings": findings})

    async def _write(self, ctx: RunContext, plan: Plan, draft: str, report: dict[str, Any],
                     facts: dict[str, Any]) -> Answer:
        if plan.ask.unknown and plan.profile is not None:
            draft = replies.not_in_data(plan.ask.unknown, plan.profile) + "\n\n" + draft
        content = await reporting.write(ctx, self._llm, draft, facts)
        return content, report
