"""Triage: what is being asked, and can the data answer it?"""

from __future__ import annotations

from dataclasses import dataclass

from netra.agents.context import RunContext
from netra.agents.llm import LanguageModel

# label -> the words that signal it (the offline model scores on these; a hosted model
# reads them as descriptions).
INTENTS: dict[str, str] = {
    "optimize": "optimize optimise save savings reduce cut lower cheaper recommendations "
                "improve waste efficient bill cost costs money",
    "spend": "spend spending breakdown where goes which model models feature features provider "
             "expensive biggest top day week trend",
    "latency": "latency slow slowest fast fastest p95 p50 response time speed performance",
    "errors": "errors error failures failed failing retry retries rate limit timeout reliability",
    "data_help": "upload import ingest format formats csv jsonl bring data dataset connect "
                 "api telemetry send",
}


@dataclass(frozen=True)
class Plan:
    intent: str
    has_data: bool


async def triage(ctx: RunContext, llm: LanguageModel) -> Plan:
    async with ctx.agent("triage") as step:
        await ctx.think("triage", "Reading the question to decide which analyses it needs.")
        intent = await llm.classify(ctx.request.question, INTENTS)
        has_data = ctx.request.dataset_id is not None
        if not has_data:
            await ctx.think("triage", "There is no dataset yet: the answer will say what to bring.")
        else:
            await ctx.think("triage", f"This is a question about {intent.replace('_', ' ')}.")
        step.summary = f"intent: {intent}" + ("" if has_data else " (no data yet)")
        return Plan(intent=intent, has_data=has_data)
