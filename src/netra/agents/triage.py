"""Triage: what is being asked, with which parameters, and can the data answer it?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netra.agents import tools
from netra.agents.intents import INTENTS, NEEDS, Ask, read_ask
from netra.agents.llm.offline import OfflineAnalyst, keywords
from netra.runs.context import RunContext
from netra.telemetry.store import AnalyticsStore

FIELD_PRESENT = 0.05  # a field counts as present when at least 5% of rows carry it
FOLLOW_UPS = ("finding_detail", "what_if")
# A question the built-in analyst does not recognise: it says so instead of guessing.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Plan:
    intent: str
    ask: Ask
    dataset_id: str | None
    profile: dict[str, Any] | None  # the dataset_profile tool's result
    missing: tuple[str, ...]  # fields the question needs that the data lacks
    previous: dict[str, Any] | None  # the report of the thread's last answer


def names(items: Any, key: str) -> list[str]:
    """Names from a profile list whose items are strings or dicts."""
    return [str(i[key] if isinstance(i, dict) else i) for i in items or []]


def _missing(intent: str, profile: dict[str, Any] | None) -> tuple[str, ...]:
    needed = NEEDS.get(intent, ())
    if profile is None or not needed:
        return ()
    fields = profile.get("fields", {})
    present = [f for f in needed if float(fields.get(f) or 0) >= FIELD_PRESENT]
    # Caching questions are answerable from either hash; the rest need every field.
    if intent == "caching":
        return () if present else needed
    return tuple(f for f in needed if f not in present)


async def triage(ctx: RunContext, llm: OfflineAnalyst, store: AnalyticsStore) -> Plan:
    async with ctx.agent("triage") as step:
        await ctx.think("triage", "Reading the question to decide which analyses it needs.")
        intent = await llm.classify(ctx.request.question, INTENTS)
        if not keywords(ctx.request.question) & keywords(INTENTS[intent]):
            intent = UNKNOWN  # no word of the question is one the analyst knows
        dataset_id, profile = ctx.request.dataset_id, None
        if dataset_id is not None:
            outcome = await ctx.tool("triage", "dataset_profile", {"dataset_id": dataset_id},
                                     lambda: tools.profile_tool(store, dataset_id), keep=True)
            profile = outcome.result
        ask = read_ask(ctx.request.question,
                       features=names((profile or {}).get("features"), "feature"),
                       models=names((profile or {}).get("models"), "model"))
        previous = ctx.request.last_report()
        if intent == "finding_detail" and not (previous and previous.get("findings")):
            # "first", "detail"… with no earlier findings: the question is about something
            # else (e.g. "time to first token"), or it wants the findings themselves.
            others = {k: v for k, v in INTENTS.items() if k != "finding_detail"}
            intent = await llm.classify(ctx.request.question, others)
            if not keywords(ctx.request.question) & keywords(others[intent]):
                intent = "optimize"
        missing = _missing(intent, profile)
        await ctx.think("triage", _judgement(intent, dataset_id, missing))
        step.summary = f"intent: {intent}" + (f"; missing: {', '.join(missing)}" if missing else "")
        return Plan(intent, ask, dataset_id, profile, missing, previous)


def _judgement(intent: str, dataset_id: str | None, missing: tuple[str, ...]) -> str:
    if dataset_id is None:
        return "There is no dataset yet: the answer will say what to bring and how."
    if intent == UNKNOWN:
        return ("None of the analyses I have without a language model matches this question; "
                "the answer says so, with what the data shows.")
    if missing:
        return (f"The dataset lacks {', '.join(missing)}, which this question needs: the answer "
                "will say what to add, and what it can already conclude.")
    return f"This is a question about {intent.replace('_', ' ')}; the data can answer it."
