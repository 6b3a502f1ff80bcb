"""The supervisor as a language model: a pydantic-ai agent that plans, calls the analysis
tools (`toolbox`), reads their results, may call more, and writes the answer.

It runs inside the run's durable workflow: pydantic-ai's DBOS integration makes every
model request a checkpointed step (a resumed run reads finished answers back instead of
paying for them again), and each tool call is a step of its own. Tool calls run one at a
time, so their steps replay in the order they were made.

While the model writes, its text streams to the client as `answer_delta` events (a draft:
its figures are not yet checked). The final answer is then checked number by number
against the run's tool results and the question (`numbers.check_numbers`): what cannot be
traced is left out and listed in `report.unverified`. If the model fails (down, slow,
rate-limited, malformed, looping past the run's limits), the built-in analyst answers
instead and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable
from typing import Any

from pydantic_ai import Agent
from pydantic_ai import RunContext as AgentContext
from pydantic_ai.durable_exec.dbos import DBOSDurability
from pydantic_ai.exceptions import AgentRunError, UserError
from pydantic_ai.messages import (
    AgentStreamEvent,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    PartDeltaEvent,
    PartEndEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    UserPromptPart,
)
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import UsageLimits

from netra.agents import own_usage
from netra.agents.answer import charts
from netra.agents.numbers import check_numbers
from netra.agents.reporting import send_chunk
from netra.agents.toolbox import Deps, agent_tools
from netra.db import Database
from netra.runs.context import RunContext, RunError, Turn
from netra.runs.workflow import Answer, Team, timeout_message
from netra.settings import Settings
from netra.telemetry.store import AnalyticsStore
from netra.web.markdown import ANSWER_CHUNK, render_markdown, sections

log = logging.getLogger(__name__)
AGENT_NAME = "netra"
DRAFT_CHUNK = 160  # characters of draft text per answer_delta event

INSTRUCTIONS = """\
You are Netra Apex, a team of analysts who help a company spend less on LLM APIs. The user's
LLM usage telemetry (one record per request: time, provider, model, tokens, latency, status,
feature, end user, cost) is available ONLY through your tools. Answer the user's question
from tool results.

Rules:
- Every number you write must come from a tool result of this conversation or from the
  question, with its unit and scale exactly as the tool gives it (a count of requests is not
  a dollar amount). Never estimate, extrapolate or invent a figure. Monthly figures may be
  multiplied by 12 for a yearly figure if you say so.
- Call tools before answering. `dataset_profile` and `dataset_overview` orient you;
  `spend_breakdown`, `latency_by_model`, `error_cost`, `compare_providers` measure;
  `find_savings` finds quantified optimizations; `what_if` prices a change on the user's own
  traffic; `action_plan` gives the exact changes and files; `query` runs one read-only SQL
  SELECT over the table `requests` for anything else (per-request averages, end users, week
  over week, spikes): if it is refused, read the message and correct the SQL.
- If the data cannot answer the question (a field is missing, a feature or model name does
  not exist in the dataset), say so plainly, say what data would answer it, and stop; do
  not substitute another analysis. If the question is ambiguous, ask one short clarifying
  question instead of guessing.
- For a follow-up ("the second one", "and for feature X?"), call `previous_answer`.
- Answer in the language of the question, but write numbers as the tools give them: a point
  for decimals and commas for thousands (1,234.56), whatever the language. Be as short as
  the question allows: follow the
  user's format requests (e.g. "3 bullet points"). Use Markdown; name models and features
  exactly as the data does; give savings as $/month; for each recommendation say the exact
  change to make.
"""


def model_configured(settings: Settings) -> bool:
    return bool(settings.llm_base_url)


def build_agent(settings: Settings) -> Agent[Deps, str]:
    """The agent on the OpenAI-compatible endpoint the settings name."""
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "unused"
    model = OpenAIChatModel(settings.llm_model,
                            provider=OpenAIProvider(base_url=settings.llm_base_url,
                                                    api_key=api_key))
    return Agent(
        model,
        name=AGENT_NAME,
        deps_type=Deps,
        output_type=str,
        instructions=INSTRUCTIONS,
        tools=agent_tools(),
        retries=3,  # a refused query or bad arguments go back to the model this often
        model_settings=ModelSettings(temperature=settings.llm_temperature,
                                     max_tokens=settings.llm_max_output_tokens,
                                     timeout=settings.llm_timeout_s),
        capabilities=[DBOSDurability(event_stream_handler=_stream_draft,
                                     parallel_execution_mode="sequential")],
    )


async def _stream_draft(ctx: AgentContext[Deps], events: AsyncIterable[AgentStreamEvent]) -> None:
    """The model's text as it writes it, as `answer_delta` events (runs inside the
    model-request step, so a resumed run does not send it again). Each carries the new
    text, and the whole draft so far rendered (sanitised) so a page shows it formatted."""
    buffer = draft = ""

    async def send() -> None:
        nonlocal buffer, draft
        if buffer:
            draft += buffer
            await ctx.deps.run.emit("answer_delta", "supervisor",
                                    {"text": buffer, "html": render_markdown(draft)})
        buffer = ""

    async for event in events:
        if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
            buffer += event.part.content
        elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
            buffer += event.delta.content_delta
        elif isinstance(event, PartEndEvent) and isinstance(event.part, TextPart):
            await send()
            continue
        else:
            continue
        if len(buffer) >= DRAFT_CHUNK:
            await send()
    await send()


def history(turns: list[Turn]) -> list[ModelMessage]:
    """The thread's earlier turns as the model's message history."""
    messages: list[ModelMessage] = []
    for turn in turns:  # already bounded by the run (`runs.workflow.HISTORY_TURNS`)
        text = turn.content
        if turn.role == "user":
            messages.append(ModelRequest(parts=[UserPromptPart(content=text)]))
        else:
            messages.append(ModelResponse(parts=[TextPart(content=text)]))
    return messages


class ModelSupervisor:
    """The team led by a language model; the built-in analyst stands in when it fails."""

    def __init__(self, settings: Settings, db: Database, store: AnalyticsStore,
                 offline: Team) -> None:
        self._settings = settings
        self._db = db
        self._store = store
        self._offline = offline
        self._agent = build_agent(settings)

    async def answer(self, ctx: RunContext) -> Answer:
        deps = Deps(ctx, self._store, ctx.request.dataset_id, ctx.request.last_report())
        await ctx.think("supervisor", "Planning which analyses this question needs.")
        limits = UsageLimits(request_limit=self._settings.llm_max_calls,
                             total_tokens_limit=self._settings.llm_max_tokens)
        try:
            # The run's deadline, here too: DBOS enforces it between steps, and a model
            # call is one long step.
            async with asyncio.timeout(self._settings.run_timeout_s):
                result = await self._agent.run(
                    ctx.request.question, deps=deps, usage_limits=limits,
                    message_history=history(ctx.request.history))
        except TimeoutError:
            await self._close_team(ctx, deps, "stopped: out of time")
            raise RunError("timeout", timeout_message(self._settings)) from None
        except (AgentRunError, UserError) as error:
            return await self._fall_back(ctx, deps, error)
        request = ctx.request
        calls = own_usage.calls(self._settings, result.all_messages(), request.run_id,
                                request.thread_id, request.user_id)
        await ctx.step("record_own_usage", lambda: own_usage.record(
            self._db, self._store, request.user_id, calls))
        return await self._finish(ctx, deps, result.output, own_usage.summary(calls))

    async def _close_team(self, ctx: RunContext, deps: Deps, summary: str) -> None:
        for group in deps.opened:
            await ctx.emit("agent_completed", group, {"summary": summary})
        deps.opened.clear()

    async def _finish(self, ctx: RunContext, deps: Deps, text: str,
                      usage: dict[str, Any]) -> Answer:
        await self._close_team(ctx, deps, "done")
        async with ctx.agent("reporting") as step:
            await ctx.think("reporting", "Checking every figure against the tool results.")
            checked = check_numbers(text, deps.evidence, ctx.request.question)
            if checked.unverified:
                await ctx.think("reporting", f"{len(checked.unverified)} figure(s) could not "
                                "be traced to a tool result and were left out.")
            for chunk in sections(checked.text, ANSWER_CHUNK):
                await send_chunk(ctx, "reporting", chunk)
            step.summary = f"answer checked ({len(checked.text):,} characters)"
        return checked.text, self._report(deps, checked.unverified, usage)

    def _report(self, deps: Deps, unverified: list[str], usage: dict[str, Any]) -> dict[str, Any]:
        plan = deps.plan or {}
        facts = {f"by_{r['by']}": r for r in [deps.facts.get("spend_breakdown") or {}]
                 if r.get("by")}
        # A follow-up that called no finder answers about the previous findings: keep
        # them, so the next follow-up can still refer to them.
        findings = deps.findings or list((deps.previous or {}).get("findings") or [])
        return {
            "findings": findings,
            "totals": plan.get("totals") or {},
            "charts": charts(facts, findings),
            "actions": plan.get("changes") or [],
            "downloads": plan.get("downloads") or [],
            "intent": "agent",
            "dataset_id": deps.dataset_id,
            "unverified": unverified,
            "usage": usage,
        }

    async def _fall_back(self, ctx: RunContext, deps: Deps, error: Exception) -> Answer:
        log.warning("run %s: the language model failed (%s); the built-in analyst answers",
                    ctx.request.run_id, error)
        await self._close_team(ctx, deps, "stopped: the language model failed")
        await ctx.think("supervisor", f"The language model failed ({_reason(error)}); the "
                        "built-in analyst answers instead.")
        note = (f"_The language model was unavailable ({_reason(error)}), so the built-in "
                "analyst answered; it understands fewer kinds of question._\n\n")
        await send_chunk(ctx, "supervisor", note)
        content, report = await self._offline.answer(ctx)
        return note + content, report | {"fallback": _reason(error)}


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0][:200]
