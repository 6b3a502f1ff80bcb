"""The tools the language-model agent calls: thin typed wrappers over the analyses.

Each tool runs through the run's `RunContext`, so it is a checkpointed step with its
`tool_executing` / `tool_completed` events, named for the sub-agent whose tool it is
(data, optimization, actions, triage). What goes back to the model is compact: figures
and keys, never SQL text or whole evidence tables; the full result stays in `Deps` for
the report and for the numbers guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, cast

from pydantic_ai import ModelRetry, Tool
from pydantic_ai import RunContext as AgentContext

from netra.agents import tools
from netra.agents.action_plan import action_plan
from netra.agents.actions import totals as savings_totals
from netra.analysis.findings import ALL_FINDERS, analysis_run, side_by_side
from netra.analysis.query import run_query
from netra.analysis.whatif import Scenario
from netra.runs.context import RunContext, ToolFailed, ToolOutcome
from netra.telemetry.store import AnalyticsStore

Category = Literal[
    "model_rightsizing", "response_caching", "prompt_caching", "batch_api", "output_limits",
    "retry_waste", "context_growth", "provider_switch",
]
Breakdown = Literal["model", "feature", "provider", "day", "end_user"]
# Which sub-agent each tool belongs to: the team stays visible in the events.
GROUPS = {
    "previous_answer": "triage", "dataset_profile": "triage",
    "dataset_overview": "data", "spend_breakdown": "data", "latency_by_model": "data",
    "error_cost": "data", "compare_providers": "data", "query": "data",
    "find_savings": "optimization", "what_if": "optimization",
    "action_plan": "actions",
}
# Tools whose result depends only on the dataset's version and their arguments.
KEPT = frozenset({"dataset_profile", "dataset_overview", "spend_breakdown", "latency_by_model",
                  "error_cost", "compare_providers"})
MAX_ROWS_TO_MODEL = 25
# Explanations and SQL the report shows, but the model does not need to answer.
_HIDDEN = frozenset({"sql", "query", "rule", "assumptions", "method", "slices"})


@dataclass
class Deps:
    """What the agent's tools share during one run."""

    run: RunContext
    store: AnalyticsStore
    dataset_id: str | None
    previous: dict[str, Any] | None  # the report of the thread's last answer
    facts: dict[str, Any] = field(default_factory=dict)  # latest result per tool
    evidence: list[Any] = field(default_factory=list)  # every result, for the guard
    findings: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None  # the action plan, when one was made
    opened: list[str] = field(default_factory=list)  # sub-agents started in this run


def compact(value: Any, depth: int = 0) -> Any:
    """A tool result as the model sees it: long lists cut, bulky explanation left out."""
    if isinstance(value, dict):
        return {k: compact(v, depth + 1) for k, v in value.items() if k not in _HIDDEN}
    if isinstance(value, list):
        shown = [compact(v, depth + 1) for v in value[:MAX_ROWS_TO_MODEL]]
        if len(value) > MAX_ROWS_TO_MODEL:
            shown.append(f"… {len(value) - MAX_ROWS_TO_MODEL} more")
        return shown
    if isinstance(value, float):
        return round(value, 6)
    return value


async def _open(deps: Deps, group: str) -> None:
    """Start the tool's sub-agent the first time the run uses it (closed at the end)."""
    if group not in deps.opened:
        deps.opened.append(group)
        await deps.run.emit("agent_started", group, {})


def _dataset(deps: Deps) -> str:
    if deps.dataset_id is None:
        raise ModelRetry("There is no dataset in this conversation: the user has not brought "
                         "any data yet. Do not call data tools; explain how to bring data.")
    return deps.dataset_id


async def _use(ctx: AgentContext[Deps], name: str, args: dict[str, Any],
               call: Any, *, include_result: bool = True) -> Any:
    """Run one tool call as the run's step; a failure goes back to the model to act on.
    A result that depends only on the dataset's version is kept for it."""
    deps = ctx.deps
    group = GROUPS[name]
    await _open(deps, group)
    try:
        outcome: ToolOutcome = await deps.run.tool(group, name, args, call,
                                                   include_result=include_result,
                                                   keep=name in KEPT)
    except ToolFailed as failed:
        cause = failed.__cause__
        raise ModelRetry(str(cause) if cause is not None else str(failed)) from None
    deps.facts[name] = outcome.result
    deps.evidence.append(outcome.result)
    return compact(outcome.result)


async def previous_answer(ctx: AgentContext[Deps]) -> Any:
    """The findings and totals of this conversation's previous answer (for follow-up
    questions such as "tell me more about the second one"); empty when there is none."""
    previous = ctx.deps.previous or {}

    async def read() -> ToolOutcome:
        findings = previous.get("findings") or []
        return ToolOutcome({"findings": findings, "totals": previous.get("totals") or {}},
                           f"{len(findings)} earlier finding(s)")

    return await _use(ctx, "previous_answer", {}, read)


async def dataset_profile(ctx: AgentContext[Deps]) -> Any:
    """Which fields the dataset carries (share of rows), its features and models."""
    dataset_id = _dataset(ctx.deps)
    return await _use(ctx, "dataset_profile", {"dataset_id": dataset_id},
                      partial(tools.profile_tool, ctx.deps.store, dataset_id))


async def dataset_overview(ctx: AgentContext[Deps]) -> Any:
    """Totals: requests, spend and monthly spend, window in days, p50/p95 latency, error
    rate, unpriced models."""
    dataset_id = _dataset(ctx.deps)
    return await _use(ctx, "dataset_overview", {"dataset_id": dataset_id},
                      partial(tools.overview_tool, ctx.deps.store, dataset_id))


async def spend_breakdown(
    ctx: AgentContext[Deps], by: Breakdown, last_days: int | None = None
) -> Any:
    """Spend (total, monthly, per request), requests, share, p95 latency and error rate
    per model, feature, provider, day or end user; `last_days` limits it to the last N
    days of the data."""
    dataset_id = _dataset(ctx.deps)
    args: dict[str, Any] = {"dataset_id": dataset_id, "by": by}
    if last_days:
        args["last_days"] = last_days
    return await _use(ctx, "spend_breakdown", args,
                      partial(tools.breakdown_tool, ctx.deps.store, dataset_id, by, last_days))


async def latency_by_model(ctx: AgentContext[Deps]) -> Any:
    """p50/p95/p99 latency and time to first token per provider and model."""
    dataset_id = _dataset(ctx.deps)
    return await _use(ctx, "latency_by_model", {"dataset_id": dataset_id},
                      partial(tools.latency_tool, ctx.deps.store, dataset_id))


async def error_cost(ctx: AgentContext[Deps]) -> Any:
    """What failed requests cost, by error type."""
    dataset_id = _dataset(ctx.deps)
    return await _use(ctx, "error_cost", {"dataset_id": dataset_id},
                      partial(tools.error_cost_tool, ctx.deps.store, dataset_id))


async def compare_providers(ctx: AgentContext[Deps], model: str | None = None) -> Any:
    """The dataset's traffic re-priced at every provider offering an equivalent model
    (optionally only for one of the dataset's models)."""
    dataset_id = _dataset(ctx.deps)
    return await _use(ctx, "compare_providers", {"dataset_id": dataset_id, "model": model},
                      partial(tools.providers_tool, ctx.deps.store, dataset_id, model))


async def find_savings(ctx: AgentContext[Deps], categories: list[Category] | None = None) -> Any:
    """Quantified savings findings (monthly $, %, confidence, the change to make), ranked;
    all eight categories unless some are named."""
    deps = ctx.deps
    dataset_id = _dataset(deps)
    chosen = list(dict.fromkeys(categories or ALL_FINDERS))
    await _open(deps, "optimization")
    # One step per category, numbered now, in order, before any runs.
    calls = [deps.run.tool_call("optimization", f"find_{c}", {"dataset_id": dataset_id},
                                partial(tools.findings_tool, deps.store, dataset_id, c),
                                keep=True)
             for c in chosen]
    with analysis_run():
        outcomes = await side_by_side(calls)
    found = sorted((f for o in outcomes for f in o.result),
                   key=lambda f: (-f["savings_usd_month"], f["id"]))
    known = {f["id"] for f in deps.findings}
    deps.findings += [f for f in found if f["id"] not in known]
    deps.facts["find_savings"] = found
    deps.evidence.append(found)
    return compact([_finding_for_model(f) for f in found])


def _finding_for_model(finding: dict[str, Any]) -> dict[str, Any]:
    evidence = finding.get("evidence") or {}
    where = {k: evidence[k] for k in ("feature", "provider", "model", "suggested_model",
                                       "suggested_provider") if evidence.get(k)}
    return {k: finding.get(k) for k in ("id", "title", "category", "savings_usd_month",
                                        "savings_pct", "current_cost_usd_month",
                                        "affected_requests", "confidence", "action")} | where


async def what_if(
    ctx: AgentContext[Deps],
    model_map: dict[str, str] | None = None,
    provider_map: dict[str, str] | None = None,
    features: list[str] | None = None,
    share_pct: float = 100.0,
    batch: bool | None = None,
    prompt_cache: bool | None = None,
    response_cache: bool | None = None,
) -> Any:
    """Replay the dataset's own traffic under a change (models or providers swapped, only
    some features, a share of the traffic, batch, caching) and price it."""
    dataset_id = _dataset(ctx.deps)
    scenario = Scenario(model_map=model_map or {}, provider_map=provider_map or {},
                        features=tuple(features) if features else None, share_pct=share_pct,
                        batch=batch, prompt_cache=prompt_cache, response_cache=response_cache)
    args = {"dataset_id": dataset_id, **scenario.__dict__}
    return await _use(ctx, "what_if", args,
                      partial(tools.simulate_tool, ctx.deps.store, dataset_id, scenario))


async def action_plan_tool(ctx: AgentContext[Deps], finding_ids: list[str] | None = None) -> Any:
    """The exact change for each finding (this answer's, else the previous answer's),
    ready-to-use files (e.g. a LiteLLM config.yaml), and the savings totalled with
    overlapping findings counted once."""
    deps = ctx.deps
    pool = deps.findings or list((deps.previous or {}).get("findings") or [])
    chosen = [f for f in pool if not finding_ids or f["id"] in finding_ids]
    if not chosen:
        raise ModelRetry("No findings to plan for: call find_savings first"
                         + (f" (unknown ids: {finding_ids})" if finding_ids else ""))
    overview = deps.facts.get("dataset_overview") or {}
    monthly = float(overview.get("monthly_spend_usd") or sum(
        f.get("current_cost_usd_month", 0) for f in chosen))

    async def plan() -> ToolOutcome:
        changes, downloads = action_plan(chosen)
        total = savings_totals(chosen, monthly)
        return ToolOutcome({"changes": changes, "downloads": downloads, "totals": total},
                           f"{len(changes)} change(s), {tools.usd(total['savings_usd_month'])}"
                           "/month after overlap")

    result = await _use(ctx, "action_plan", {"findings": [f["id"] for f in chosen]}, plan)
    deps.plan = deps.facts["action_plan"]
    return {"totals": result["totals"],
            "changes": [{k: c.get(k) for k in ("finding_id", "title", "change", "effort",
                                                 "quick_win")} for c in result["changes"]],
            "downloads": [d.get("filename") for d in deps.plan["downloads"]]}


async def query(ctx: AgentContext[Deps], sql: str) -> Any:
    """One read-only SELECT over this dataset, seen as the table `requests` (columns: ts,
    provider, model, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
    reasoning_tokens, latency_ms, ttft_ms, status, error_type, feature, end_user,
    conversation_id, request_id, prompt_hash, prefix_hash, max_tokens, batch,
    source_cost_usd, metadata, cost_usd). At most 200 rows come back."""
    deps = ctx.deps
    dataset_id = _dataset(deps)

    async def run() -> ToolOutcome:
        result = await run_query(deps.store, dataset_id, sql)  # QueryRefused: to the model
        rows = result["row_count"]
        return ToolOutcome(result, f"{rows} row(s)" + (" (truncated)" if result["truncated"]
                                                       else ""))

    return await _use(ctx, "query", {"sql": sql}, run)


def agent_tools() -> list[Tool[Deps]]:
    """Every tool, under the name the model (and the events) know it by."""
    named = [(previous_answer, "previous_answer"), (dataset_profile, "dataset_profile"),
             (dataset_overview, "dataset_overview"), (spend_breakdown, "spend_breakdown"),
             (latency_by_model, "latency_by_model"), (error_cost, "error_cost"),
             (compare_providers, "compare_providers"), (find_savings, "find_savings"),
             (what_if, "what_if"), (action_plan_tool, "action_plan"), (query, "query")]
    return [Tool(cast(Any, function), name=name, takes_ctx=True) for function, name in named]
