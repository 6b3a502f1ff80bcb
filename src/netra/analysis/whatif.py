"""What-if replay: what the dataset's own traffic would have cost under an alternative.

A Scenario names the change: other models (`model_map`), other providers
(`provider_map`), the batch API on or off, provider prompt caching on or off, an exact
response cache, for some features only and for a share of the matching traffic. The
replay re-prices exactly those requests, in SQL, at the catalogue's rates for each
request's day, tier and batch flag (telemetry.pricing, one rate row per distinct key).

- **Matching traffic**: the requests of the named features (all when none are named) of
  the models and providers the maps name (all when no map is given).
- **Share**: of the matching requests of each (feature, provider, model), in time order,
  the k-th moves when ⌊k·share/100⌋ steps up: exactly ⌊n·share/100⌋ of n move, spread
  evenly over the window, the same ones on every replay.
- **Batch**: on, the catalogue's batch prices (no batch price: the normal one, never an
  invented discount); off, the normal prices.
- **Prompt cache** on: requests that report no cached tokens are replayed per
  (new provider, new model, prefix_hash) under the provider's cache rule
  (catalog.cache_rule), as the prompt_caching analysis does: the cacheable prefix is the
  shortest prompt of that prefix, rounded down to the rule's increment, nothing below its
  minimum; a request within the cache lifetime of the previous one reads it, any other
  writes it; explicit caches pay storage. Off: cached and written tokens at the input rate.
- **Response cache** on: a successful request whose identical prompt (prompt_hash, same
  new model) came within RESPONSE_CACHE_TTL_S of the previous one is answered from the
  cache at no cost. Off changes nothing: past cache hits are not in the data.

Requests the catalogue cannot price (before or after the change) are left out of both
figures and named in `unpriced`, never counted as free; requests whose token usage the
source did not record are left out too, and counted in `usage_unknown_requests`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from genai_prices import data_snapshot

from netra.analysis import _rates
from netra.analysis._common import WINDOW_CTE
from netra.analysis.catalog import spec, spec_by_model
from netra.analysis.prompt_caching import rules_sql as cache_rules_sql
from netra.errors import ValidationFailed
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

RESPONSE_CACHE_TTL_S = 24 * 3600


@dataclass(frozen=True)
class Scenario:
    """The alternative to replay (None: keep what each request did)."""

    model_map: dict[str, str] = field(default_factory=dict)
    provider_map: dict[str, str] = field(default_factory=dict)
    features: tuple[str, ...] | None = None
    share_pct: float = 100.0
    batch: bool | None = None
    prompt_cache: bool | None = None
    response_cache: bool | None = None


Move = tuple[str, str, str, str]  # provider, model -> new provider, new model

_CONTENTS = """
SELECT DISTINCT provider, model, coalesce(feature, '(none)') AS feature
FROM requests WHERE dataset_id = ?
"""

_SIMULATE = """
WITH {window},
m AS (SELECT * FROM {moves} AS m(provider, model, to_provider, to_model)),
u AS (SELECT * FROM {rules} AS u(provider, model, min_tokens, ttl_s, step, storage, premium)),
r AS (SELECT * FROM {rates} AS r),
matching AS (
  SELECT q.*, coalesce(q.feature, '(none)') AS feature_key, m.to_provider, m.to_model,
    {k} AS k
  FROM requests AS q JOIN m ON m.provider = q.provider AND m.model = q.model
  WHERE q.dataset_id = ? AND {feature_filter}
),
moved AS (
  SELECT *, {to_batch} AS to_batch,
    {response_cache} AND status = 'ok' AND prompt_hash IS NOT NULL AS answerable
  FROM matching WHERE floor(k * ?::DOUBLE / 100) > floor((k - 1) * ?::DOUBLE / 100)
),
answered AS (
  SELECT *, {response_hit} AS response_hit
  FROM moved
),
candidates AS (
  SELECT a.*, u.min_tokens, u.ttl_s, u.step, u.storage,
    {prompt_cache} AND NOT a.response_hit AND a.prefix_hash IS NOT NULL
      AND a.cached_input_tokens = 0 AND a.cache_write_tokens = 0
      AND u.min_tokens IS NOT NULL AS prefix_candidate
  FROM answered AS a LEFT JOIN u ON u.provider = a.to_provider AND u.model = a.to_model
),
gaps AS (
  SELECT *, {prefix_gaps}
),
flags AS (
  SELECT *, prefix_candidate AND cacheable >= min_tokens AS cached_prefix,
    prefix_candidate AND cacheable >= min_tokens AND coalesce(gap_s <= ttl_s, false)
      AS prefix_hit
  FROM gaps
),
s AS (
  SELECT g.feature_key AS feature, g.provider, g.model, g.to_provider, g.to_model,
    g.to_batch AS batch, g.ts, g.input_tokens, g.output_tokens, g.cost_usd, g.response_hit,
    g.prefix_hit,
    CASE WHEN g.prefix_hit THEN g.cacheable WHEN {prompt_cache_off} THEN 0
      ELSE g.cached_input_tokens END AS cached_input_tokens,
    CASE WHEN g.cached_prefix AND NOT g.prefix_hit THEN g.cacheable
      WHEN {prompt_cache_off} THEN 0 ELSE g.cache_write_tokens END AS cache_write_tokens,
    CASE WHEN g.cached_prefix THEN g.cacheable * g.storage
      * least(coalesce(g.next_gap_s, g.ttl_s), g.ttl_s) / 3600 / 1e6 ELSE 0.0 END AS storage_usd
  FROM flags AS g
),
priced AS (
  SELECT s.*, r.r_input IS NOT NULL AS target_priced,
    s.cost_usd IS NOT NULL AND r.r_input IS NOT NULL AS priced,
    CASE WHEN s.response_hit THEN 0.0 ELSE {cost} + s.storage_usd END AS simulated_usd
  FROM s LEFT JOIN r ON r.provider = s.to_provider AND r.model = s.to_model AND {join}
)
SELECT feature, provider, model, to_provider, to_model, count(*) AS requests,
  count(*) FILTER (WHERE priced) AS priced_requests,
  -- a request of unknown usage has no cost anywhere: neither model is unpriced for it
  count(*) FILTER (WHERE input_tokens IS NULL) AS usage_unknown_requests,
  count(*) FILTER (WHERE cost_usd IS NULL AND input_tokens IS NOT NULL) > 0 AS source_unpriced,
  count(*) FILTER (WHERE NOT target_priced AND input_tokens IS NOT NULL) > 0 AS target_unpriced,
  count(*) FILTER (WHERE priced AND response_hit) AS response_cache_hits,
  count(*) FILTER (WHERE priced AND prefix_hit) AS prompt_cache_hits,
  coalesce(sum(cost_usd) FILTER (WHERE priced), 0) AS current_cost_usd,
  coalesce(sum(simulated_usd) FILTER (WHERE priced), 0) AS simulated_cost_usd,
  any_value(win.days) AS window_days
FROM priced, win
GROUP BY ALL
"""

# Window work only runs for the switches a scenario turns on (a 100% share needs no order).
_ORDER_K = """row_number() OVER (PARTITION BY coalesce(q.feature, '(none)'), q.provider, q.model
      ORDER BY q.ts, q.request_id, q.input_tokens, q.output_tokens, q.cached_input_tokens,
        q.cache_write_tokens, q.batch, q.status)"""
_RESPONSE_HIT = """answerable AND coalesce(date_diff('millisecond', lag(ts) OVER (
      PARTITION BY to_provider, to_model, prompt_hash, answerable ORDER BY ts, request_id, k
    ), ts) / 1000.0 <= {ttl}, false)"""
_PREFIX_GAPS = """floor(min(input_tokens) OVER prefix / step) * step AS cacheable,
    date_diff('millisecond', lag(ts) OVER prefix_time, ts) / 1000.0 AS gap_s,
    date_diff('millisecond', ts, lead(ts) OVER prefix_time) / 1000.0 AS next_gap_s
  FROM candidates
  WINDOW prefix AS (PARTITION BY to_provider, to_model, prefix_hash, prefix_candidate),
    prefix_time AS (PARTITION BY to_provider, to_model, prefix_hash, prefix_candidate
                    ORDER BY ts, request_id, k)"""
_NO_GAPS = (
    "NULL::DOUBLE AS cacheable, NULL::DOUBLE AS gap_s, NULL::DOUBLE AS next_gap_s FROM candidates"
)

_MOVE_VALUES = "(?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::VARCHAR)"
_NO_MOVES = f"(SELECT * FROM (VALUES {_MOVE_VALUES}) WHERE false)"


# -- the scenario against the dataset ------------------------------------------------------


def _is_model(provider: str, model: str, name: str) -> bool:
    """A dataset model is `name` itself or a dated id of it (gpt-4o-2024-08-06 is gpt-4o)."""
    found = spec(provider, model)
    return model.lower() == name.lower() or (found is not None and found.model == name.lower())


def _serving_provider(model: str) -> str | None:
    """The provider that serves a model in the catalogues (ours first, then genai-prices)."""
    found = spec_by_model(model)
    if found is not None:
        return found.provider
    try:
        return data_snapshot.get_snapshot().find_provider_model(model, None, None, None)[0].id
    except LookupError:
        return None


def _target(scenario: Scenario, provider: str, model: str, day: date) -> tuple[str, str] | None:
    """Where a dataset model goes under the scenario's maps; None when no map names it."""
    new_model = next(
        (to for name, to in scenario.model_map.items() if _is_model(provider, model, name)), None
    )
    new_provider = scenario.provider_map.get(provider)
    if new_model is None and new_provider is None:
        return None
    to_model = new_model or model
    to_provider = new_provider or provider
    # "gpt-4o -> claude-haiku-4-5" needs no provider_map: the model says where it runs.
    if new_provider is None and pricing.price_per_mtok(to_provider, to_model, day) is None:
        to_provider = _serving_provider(to_model) or to_provider
    if pricing.price_per_mtok(to_provider, to_model, day) is None:
        hint = (
            "name a catalogued model (e.g. gpt-4o-mini, claude-haiku-4-5, gemini-2.5-flash)"
            if new_model is not None
            else "name a provider that serves it"
        )
        raise ValidationFailed(
            f"{'model_map' if new_model is not None else 'provider_map'}: the price catalogue "
            f"does not know model {to_model!r} at provider {to_provider!r}, so it cannot "
            f"re-price {provider}/{model} traffic; {hint}"
        )
    return to_provider, to_model


def _unknown(where: str, kind: str, name: str, known: list[str]) -> ValidationFailed:
    return ValidationFailed(
        f"{where}: {name!r} is not a {kind} of this dataset "
        f"(its {kind}s: {', '.join(known) or 'none'})"
    )


def _check_names(scenario: Scenario, contents: list[dict[str, Any]]) -> None:
    """Every model, provider and feature a scenario names must be in the dataset."""
    if not 0 < scenario.share_pct <= 100:
        raise ValidationFailed(f"share_pct: must be > 0 and ≤ 100 (got {scenario.share_pct})")
    models = sorted({(r["provider"], r["model"]) for r in contents})
    for name in scenario.model_map:
        if not any(_is_model(p, m, name) for p, m in models):
            raise _unknown("model_map", "model", name, sorted({m for _, m in models}))
    providers = sorted({p for p, _ in models})
    for name in scenario.provider_map:
        if name not in providers:
            raise _unknown("provider_map", "provider", name, providers)
    features = sorted({r["feature"] for r in contents})
    for name in scenario.features or ():
        if name not in features:
            raise _unknown("features", "feature", name, features)


def _moves(scenario: Scenario, contents: list[dict[str, Any]], day: date) -> list[Move]:
    """(provider, model, new provider, new model) for every dataset model the scenario
    touches: all of them when it names no model or provider."""
    pairs = sorted({(r["provider"], r["model"]) for r in contents})
    if not (scenario.model_map or scenario.provider_map):
        return [(p, m, p, m) for p, m in pairs]
    moves = []
    for provider, model in pairs:
        target = _target(scenario, provider, model, day)
        if target is not None:
            moves.append((provider, model, *target))
    return moves


# -- the replay ------------------------------------------------------------------------


def _flag(value: bool | None) -> str:
    return "true" if value else "false"


async def simulate(store: AnalyticsStore, dataset_id: str, scenario: Scenario) -> dict[str, Any]:
    """Re-price the dataset's own traffic under `scenario` (see the module docstring)."""
    # Provider ids are stored lower-case (TELEMETRY.md: genai-prices ids).
    providers = {k.strip().lower(): v.strip().lower() for k, v in scenario.provider_map.items()}
    scenario = replace(scenario, provider_map=providers)
    contents = await store.fetch(_CONTENTS, [dataset_id])
    _check_names(scenario, contents)
    keys = await _rates.dataset_keys(store, dataset_id)
    last_day = max((k[3] for k in keys), default=date.today())
    moves = _moves(scenario, contents, last_day)
    sql, params = _replay_sql(scenario, dataset_id, moves, keys)
    groups = await store.fetch(sql, params)
    return _result(scenario, groups, moves)


def _replay_sql(
    scenario: Scenario, dataset_id: str, moves: list[Move], keys: list[_rates.Key]
) -> tuple[str, list[Any]]:
    targets = {(p, m): (tp, tm) for p, m, tp, tm in moves}
    wanted = {
        (*targets[(p, m)], batch if scenario.batch is None else scenario.batch, day)
        for p, m, batch, day in keys
        if (p, m) in targets
    }
    rates, rate_params, _ = _rates.rate_table(wanted)
    rules, rule_params = cache_rules_sql(
        {(tp, tm) for _, _, tp, tm in moves} if scenario.prompt_cache else set()
    )
    move_sql = f"(VALUES {', '.join([_MOVE_VALUES] * len(moves))})" if moves else _NO_MOVES
    move_params = [v for move in moves for v in move] if moves else [None] * 4
    feature_filter, feature_params = "true", []
    if scenario.features is not None:
        feature_filter = "list_contains(?::VARCHAR[], coalesce(q.feature, '(none)'))"
        feature_params = [list(scenario.features)]
    sql = _SIMULATE.format(
        window=WINDOW_CTE, moves=move_sql, rules=rules, rates=rates,
        feature_filter=feature_filter,
        to_batch="batch" if scenario.batch is None else _flag(scenario.batch),
        k=_ORDER_K if scenario.share_pct < 100 else "1",
        response_cache=_flag(scenario.response_cache),
        response_hit=_RESPONSE_HIT.format(ttl=RESPONSE_CACHE_TTL_S)
        if scenario.response_cache else "false",
        prompt_cache=_flag(scenario.prompt_cache),
        prefix_gaps=_PREFIX_GAPS if scenario.prompt_cache else _NO_GAPS,
        prompt_cache_off=_flag(scenario.prompt_cache is False),
        cost=pricing.cost_sql("s", "r"), join=pricing.rate_join("s", "r", same_model=False),
    )  # fmt: skip
    params = [dataset_id, *move_params, *rule_params, *rate_params, dataset_id, *feature_params]
    return sql, [*params, scenario.share_pct, scenario.share_pct]


def _result(scenario: Scenario, groups: list[dict[str, Any]], moves: list[Move]) -> dict[str, Any]:
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
