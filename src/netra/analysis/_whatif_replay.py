"""The replay's SQL: the scenario's moves applied to the matching requests and priced,
one row per (feature, model, new model), in a statement whose window work is only there
for the switches the scenario turns on."""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_CTE
from netra.analysis._whatif_scenario import RESPONSE_CACHE_TTL_S, Move, Scenario
from netra.analysis.prompt_caching import rules_sql as cache_rules_sql
from netra.telemetry import pricing

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


def _flag(value: bool | None) -> str:
    return "true" if value else "false"


def replay_sql(
    scenario: Scenario, dataset_id: str, moves: list[Move], keys: list[_rates.Key]
) -> tuple[str, list[Any]]:
    """The replay statement and its parameters: the moves, cache rules and rates as
    VALUES tables, at the catalogue's rates for every key the moved requests will have."""
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
