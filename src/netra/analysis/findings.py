"""All eight finding categories of TELEMETRY.md, and their savings totalled honestly.

`ALL_FINDERS` maps each category to its finder; `find_all` runs them and ranks the
findings by monthly savings; `combined_savings` adds savings up without counting
overlapping findings twice.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, TypeVar

from netra.analysis import _rates
from netra.analysis.batch_api import find_batch_api
from netra.analysis.context_growth import find_context_growth
from netra.analysis.model_rightsizing import find_model_rightsizing
from netra.analysis.output_limits import find_output_limits
from netra.analysis.prompt_caching import find_prompt_caching
from netra.analysis.provider_switch import find_provider_switch
from netra.analysis.response_caching import find_response_caching
from netra.analysis.retry_waste import find_retry_waste
from netra.errors import ValidationFailed
from netra.telemetry.store import AnalyticsStore

Finder = Callable[[AnalyticsStore, str], Awaitable[list[dict[str, Any]]]]
T = TypeVar("T")

# Finders run three at a time. On a small dataset much of a finder's time is Python and
# per-query set-up, which the others' queries fill in (100,000 rows on 2 cores: p50 286
# ms one at a time, 214 ms two, 181 ms three); on 10 million rows DuckDB keeps both cores
# busy either way (6.5 s whichever), and each more at once holds its hash tables too
# (peak RSS 1.29 GB at two, 1.39 GB at three).
FINDERS_AT_ONCE = 3


ALL_FINDERS: dict[str, Finder] = {
    "model_rightsizing": find_model_rightsizing,
    "response_caching": find_response_caching,
    "prompt_caching": find_prompt_caching,
    "batch_api": find_batch_api,
    "output_limits": find_output_limits,
    "retry_waste": find_retry_waste,
    "context_growth": find_context_growth,
    "provider_switch": find_provider_switch,
}

# Both change the model a slice runs on: they are alternatives, never done together.
ROUTING = frozenset({"model_rightsizing", "provider_switch"})

RULE = (
    "Findings on the same traffic (feature, provider and model) are combined once: of "
    "alternative model changes (right-sizing, provider switch) only the larger counts, "
    "and the others apply one after another to what is left of that traffic's cost, so "
    "together they save cost × (1 − Π(1 − savingsᵢ / cost))."
)


def analysis_run() -> AbstractContextManager[None]:
    """A block whose finders share the dataset's keys, window and traffic summary: each
    is read once instead of once per finder, also when they run side by side."""
    return _rates.one_run()


async def find_all(
    store: AnalyticsStore, dataset_id: str, categories: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Every finding of the chosen categories (default: all), ranked by monthly savings."""
    chosen = list(ALL_FINDERS) if categories is None else list(categories)
    unknown = [c for c in chosen if c not in ALL_FINDERS]
    if unknown:
        raise ValidationFailed(
            f"unknown finding categories {unknown}; use any of: {', '.join(ALL_FINDERS)}"
        )
    with analysis_run():
        found = await side_by_side(partial(ALL_FINDERS[c], store, dataset_id) for c in chosen)
    findings = [f for some in found for f in some]
    return sorted(findings, key=lambda f: (-f["savings_usd_month"], f["id"]))


async def side_by_side(
    calls: Iterable[Callable[[], Awaitable[T]]], at_once: int = FINDERS_AT_ONCE
) -> list[T]:
    """The calls' results in order, `at_once` running at a time. The first failure
    cancels the others (and waits for them to stop) and is raised as itself."""
    gate = asyncio.Semaphore(at_once)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(call)) for call in calls]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


def _slice(finding: dict[str, Any]) -> tuple[str, ...]:
    """The traffic a finding acts on; without feature/provider/model, the finding alone."""
    evidence = finding.get("evidence") or {}
    key = tuple(evidence.get(name) for name in ("feature", "provider", "model"))
    if any(part is None for part in key):
        return ("finding", str(finding["id"]))
    return tuple(str(part) for part in key)


def _slice_savings(findings: list[dict[str, Any]]) -> tuple[float, float]:
    """(combined savings, cost) of findings on one slice of traffic."""
    routing = [f for f in findings if f["category"] in ROUTING]
    kept = [f for f in findings if f["category"] not in ROUTING]
    if routing:
        kept.append(max(routing, key=lambda f: f["savings_usd_month"]))
    # Each finding's current cost covers part of the slice (e.g. only successful
    # requests); the largest is the best estimate of the slice's cost.
    cost = max(max(f["current_cost_usd_month"], f["savings_usd_month"]) for f in kept)
    if cost <= 0:
        return 0.0, 0.0
    remaining = math.prod(1 - min(max(f["savings_usd_month"], 0.0) / cost, 1.0) for f in kept)
    return cost * (1 - remaining), cost


def combined_savings(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Total monthly savings with overlap removed (see RULE), and how it was done."""
    slices: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        slices[_slice(finding)].append(finding)
    by_slice: list[dict[str, Any]] = []
    total = 0.0
    for key, group in slices.items():
        saved, cost = _slice_savings(group)
        total += saved
        by_slice.append({
            "slice": dict(zip(("feature", "provider", "model"), key, strict=False))
            if key[0] != "finding" else {"finding": key[1]},
            "findings": [f["id"] for f in group],
            "cost_usd_month": round(cost, 6),
            "savings_usd_month": round(saved, 6),
        })  # fmt: skip
    gross = sum(f["savings_usd_month"] for f in findings)
    return {
        "savings_usd_month": round(total, 6),
        "gross_savings_usd_month": round(gross, 6),
        "overlap_usd_month": round(gross - total, 6),
        "rule": RULE,
        "slices": sorted(by_slice, key=lambda s: -s["savings_usd_month"]),
    }
