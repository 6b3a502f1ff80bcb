"""The supervisor: triage → data → optimization → actions → reporting."""

from __future__ import annotations

from typing import Any

from netra.agents import actions, answer, data, optimization, reporting
from netra.agents.context import RunContext
from netra.agents.llm import LanguageModel
from netra.agents.triage import triage
from netra.telemetry.store import AnalyticsStore

ANALYSES = ("optimize",)


class AgentTeam:
    def __init__(self, analytics: AnalyticsStore, llm: LanguageModel) -> None:
        self._analytics = analytics
        self._llm = llm

    async def answer(self, ctx: RunContext) -> tuple[str, dict[str, Any]]:
        """Run the sub-agents in order; returns the Markdown answer and the report."""
        plan = await triage(ctx, self._llm)
        dataset_id = ctx.request.dataset_id
        if dataset_id is None:
            draft = answer.no_data_answer()
            content = await reporting.write(ctx, self._llm, draft, {})
            return content, {"findings": [], "totals": {}, "charts": [], "actions": [],
                             "intent": plan.intent, "dataset_id": None}
        facts = await data.gather(ctx, self._analytics, dataset_id)
        findings: list[dict[str, Any]] = []
        plan_actions: list[dict[str, Any]] = []
        monthly = float(facts["overview"]["monthly_spend_usd"] or 0)
        totals: dict[str, Any] = {"current_monthly_spend_usd": round(monthly, 2)}
        if plan.intent in ("optimize", "spend"):
            findings = await optimization.find_savings(ctx, self._analytics, dataset_id)
            plan_actions, totals = await actions.plan(ctx, findings, monthly)
        if plan.intent == "optimize":
            draft = answer.optimization_answer(facts, findings, plan_actions, totals)
        else:
            draft = answer.breakdown_answer(plan.intent, facts)
            if plan.intent == "data_help":
                draft += "\n" + answer.DATA_HELP
        report = {"findings": findings, "totals": totals, "actions": plan_actions,
                  "charts": answer.charts(facts, findings), "intent": plan.intent,
                  "dataset_id": dataset_id}
        content = await reporting.write(ctx, self._llm, draft, {**facts, "totals": totals,
                                                               "findings": findings})
        return content, report
