"""The replay's answer: the priced groups summed into totals, monthly figures and
roll-ups per feature and per model, with the sentence and the assumptions that say
what was replayed."""

from __future__ import annotations

from typing import Any

from netra.analysis._whatif_scenario import RESPONSE_CACHE_TTL_S, Move, Scenario


def result_of(
    scenario: Scenario, groups: list[dict[str, Any]], moves: list[Move]
) -> dict[str, Any]:
    """The totals, monthly figures and roll-ups of the replayed groups, and their words."""
    current = sum(float(g["current_cost_usd"]) for g in groups)
    simulated = sum(float(g["simulated_cost_usd"]) for g in groups)
    days = float(groups[0]["window_days"]) if groups else 1.0
    savings = current - simulated
    unpriced = sorted(
        {g["model"] for g in groups if g["source_unpriced"]}
        | {g["to_model"] for g in groups if g["target_unpriced"]}
    )
    requests = sum(int(g["requests"]) for g in groups)
    priced = sum(int(g["priced_requests"]) for g in groups)
    unknown = sum(int(g["usage_unknown_requests"]) for g in groups)
    return {
        "description": describe(scenario, moves),
        "scenario": {**scenario.__dict__, "features": list(scenario.features or []) or None},
        "affected_requests": requests,
        "priced_requests": priced,
        "unpriced_requests": requests - priced - unknown,
        "usage_unknown_requests": unknown,
        "current_cost_usd": round(current, 6),
        "simulated_cost_usd": round(simulated, 6),
        "savings_usd": round(savings, 6),
        "current_cost_usd_month": round(current * 30 / days, 6),
        "simulated_cost_usd_month": round(simulated * 30 / days, 6),
        "savings_usd_month": round(savings * 30 / days, 6),
        "savings_pct": round(100 * savings / current, 2) if current else 0.0,
        "window_days": round(days, 4),
        "response_cache_hits": sum(int(g["response_cache_hits"]) for g in groups),
        "prompt_cache_hits": sum(int(g["prompt_cache_hits"]) for g in groups),
        "by_feature": _rollup(groups, ("feature",)),
        "by_model": _rollup(groups, ("provider", "model", "to_provider", "to_model")),
        "unpriced": unpriced,
        "assumptions": assumptions(scenario, moves, unpriced, days, usage_unknown=unknown),
    }


def _rollup(groups: list[dict[str, Any]], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Requests and costs summed per `by`, the biggest current cost first."""
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for g in groups:
        row = totals.setdefault(
            tuple(g[k] for k in by),
            {**{k: g[k] for k in by}, "requests": 0, "current_cost_usd": 0.0,
             "simulated_cost_usd": 0.0},
        )  # fmt: skip
        row["requests"] += int(g["requests"])
        row["current_cost_usd"] += float(g["current_cost_usd"])
        row["simulated_cost_usd"] += float(g["simulated_cost_usd"])
    rows = sorted(totals.values(), key=lambda r: (-r["current_cost_usd"], *map(str, r.values())))
    for row in rows:
        row["current_cost_usd"] = round(row["current_cost_usd"], 6)
        row["simulated_cost_usd"] = round(row["simulated_cost_usd"], 6)
        row["savings_usd"] = round(row["current_cost_usd"] - row["simulated_cost_usd"], 6)
    return rows


# -- words -----------------------------------------------------------------------------


def describe(scenario: Scenario, moves: list[Move] | None = None) -> str:
    """One sentence naming the change, its scope and its share."""
    if moves is not None:
        parts = [f"{p}/{m} → {tp}/{tm}" for p, m, tp, tm in moves if (p, m) != (tp, tm)]
    else:
        parts = [f"{a} → {b}" for a, b in scenario.model_map.items()]
        parts += [f"{a} → {b} (provider)" for a, b in scenario.provider_map.items()]
    if scenario.batch is not None:
        parts.append("through the batch API" if scenario.batch else "without the batch API")
    if scenario.prompt_cache is not None:
        parts.append(
            "with provider prompt caching" if scenario.prompt_cache else "without prompt caching"
        )
    if scenario.response_cache:
        parts.append("with an exact response cache")
    scope = ", ".join(scenario.features) if scenario.features else "all features"
    change = "; ".join(parts) or "no change"
    return f"{change}, for {scope}, on {scenario.share_pct:g}% of the matching traffic"


def assumptions(
    scenario: Scenario,
    moves: list[Move],
    unpriced: list[str],
    days: float,
    *,
    usage_unknown: int = 0,
) -> list[str]:
    """What the replay takes for granted, in the order a reader needs it."""
    notes = [
        "Prices are the genai-prices catalogue's for each request's provider, model, day, "
        "size tier and batch flag; requests keep their recorded token counts.",
        f"Monthly figures scale the dataset's window ({days:.1f} days) to 30 days.",
    ]
    if scenario.share_pct < 100:
        notes.append(
            f"{scenario.share_pct:g}% of the matching requests move: of each feature and "
            f"model's requests in time order, the k-th moves when ⌊k·{scenario.share_pct:g}"
            "/100⌋ steps up, so the moved requests are spread evenly over the window."
        )
    if any((p, m) != (tp, tm) for p, m, tp, tm in moves):
        notes.append(
            "The new model is assumed to read and write as many tokens as the old one "
            "(tokenisers and answer lengths differ in practice) and to do the work as well: "
            "run a quality check on a sample before switching."
        )
    notes += _switch_notes(scenario)
    if unpriced:
        notes.append(
            f"Requests of models the catalogue cannot price ({', '.join(unpriced)}) are left "
            "out of both figures, never counted as free."
        )
    if usage_unknown:
        notes.append(
            f"{usage_unknown:,} requests whose token usage the source did not record are left "
            "out of both figures: their cost is unknown."
        )
    return notes


def _switch_notes(scenario: Scenario) -> list[str]:
    notes = []
    if scenario.batch:
        notes.append(
            "Batch requests are billed at the catalogue's batch prices (where a model has "
            "none, at the normal price); batch answers arrive within 24 hours."
        )
    elif scenario.batch is False:
        notes.append("Requests sent through a batch API are billed at the normal prices.")
    if scenario.prompt_cache:
        notes.append(
            "Prompt caching follows each provider's rule (minimum cacheable prompt, cache "
            "lifetime refreshed on use, write premium, storage for explicit caches); the "
            "cached prefix is the shortest prompt sharing a prefix_hash. Requests that "
            "already report cached tokens keep them."
        )
    elif scenario.prompt_cache is False:
        notes.append("Cached and cache-written prompt tokens are billed at the input price.")
    if scenario.response_cache:
        notes.append(
            "The response cache is keyed on the model and prompt_hash: a successful request "
            f"whose identical prompt came within {RESPONSE_CACHE_TTL_S // 3600} h of the "
            "previous one is answered from the cache at no cost; failures are never cached."
        )
    elif scenario.response_cache is False:
        notes.append("Turning a response cache off changes nothing here: past cache hits "
                     "are not in the data.")  # fmt: skip
    return notes
