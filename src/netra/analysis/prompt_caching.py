"""prompt_caching: long shared prefixes (prefix_hash) sent without provider prompt caching.

For requests that report no cached or cache-written tokens, the requests sharing a
prefix at the same provider and model are replayed in time order under that provider's
cache rule (catalog.cache_rule):

- the cacheable prefix is the shortest prompt carrying that prefix_hash (every prompt
  contains the prefix, so it cannot be longer), rounded down to the rule's increment;
  below the rule's minimum nothing is cached;
- the shortest prompt is only trusted as the prefix's length when the short prompts
  crowd against it (the 5th percentile within FLOOR of it), as short questions after a
  long system prompt do; when every prompt carries a long variable part (documents,
  diffs) the data cannot tell how long the shared part is, and no saving is claimed;
- a request whose previous same-prefix request came within the cache lifetime reads
  the prefix at the cache-read rate; any other request writes it (Anthropic bills the
  write at 1.25× input, OpenAI and Gemini at the input rate);
- explicit Gemini caches also pay storage per token-hour for the time they are kept.

Rates are the catalogue's for each request's day and tier, joined in SQL.
"""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.analysis.catalog import cache_rule
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

MIN_ELIGIBLE = 20
HIGH_REQUESTS, HIGH_HIT_RATE, HIGH_SAVINGS_PCT = 200, 0.5, 10.0
MEDIUM_REQUESTS = 50
FLOOR = 1.15  # the 5th-percentile prompt within 15% of the shortest: a shared floor

# Requests that read and wrote nothing from a cache, with a 64-bit key of their prefix at
# their model (grouping and joining on it is far faster than on the strings). Each use
# reads the table afresh: a scan is cheap, while a CTE used more than once is
# materialised, strings and all (much slower).
_BASE = """
  SELECT coalesce(feature, '(none)') AS feature, provider, model, ts, batch, input_tokens,
    cost_usd, hash(provider, model, prefix_hash) AS prefix_key
  FROM requests
  WHERE dataset_id = ? AND prefix_hash IS NOT NULL AND cost_usd IS NOT NULL
    AND cached_input_tokens = 0 AND cache_write_tokens = 0
"""

QUERY = """
WITH {window},
rules AS (
  SELECT * FROM {rules} AS u(provider, model, min_tokens, ttl_s, step, storage, write_premium)
),
prefixes AS (
  SELECT prefix_key, any_value(provider) AS provider, any_value(model) AS model,
    min(input_tokens) AS shortest
  FROM ({base}) AS b GROUP BY prefix_key
),
eligible AS (
  -- every prompt holds the prefix, so the shortest bounds it; when the short prompts
  -- crowd against it (5% within {floor} x) it is the prefix itself, not a short prompt
  SELECT prefix_key, p.provider, p.model, u.min_tokens, u.ttl_s, u.storage, u.write_premium,
    floor(p.shortest / u.step) * u.step AS cacheable
  FROM prefixes AS p JOIN rules AS u USING (provider, model)
    JOIN ({base}) AS b USING (prefix_key)
  WHERE floor(p.shortest / u.step) * u.step >= u.min_tokens
  GROUP BY ALL
  HAVING avg((b.input_tokens <= {floor} * p.shortest)::INT) >= 0.05
),
gaps AS (
  -- the window carries only what it must (the rules join in after): a narrow sort is fast
  SELECT b.feature, b.ts, b.batch, b.input_tokens, b.cost_usd, b.prefix_key,
    epoch(b.ts - lag(b.ts) OVER w) AS gap_s, epoch(lead(b.ts) OVER w - b.ts) AS next_gap_s
  FROM ({base}) AS b SEMI JOIN eligible AS e USING (prefix_key)
  WINDOW w AS (PARTITION BY b.prefix_key ORDER BY b.ts)
),
q AS (SELECT g.*, e.* EXCLUDE (prefix_key) FROM gaps AS g JOIN eligible AS e USING (prefix_key)),
priced AS (
  SELECT q.*, coalesce(q.gap_s <= q.ttl_s, false) AS hit,
    CASE WHEN q.gap_s <= q.ttl_s THEN q.cacheable * (r.r_cached - r.r_input) / 1e6
      ELSE q.cacheable * (r.r_cache_write - r.r_input) / 1e6 END
    -- storage (explicit caches): kept until the next use, or for one lifetime
    + q.cacheable * q.storage * least(coalesce(q.next_gap_s, q.ttl_s), q.ttl_s)
      / 3600 / 1e6 AS delta
  FROM q LEFT JOIN {rates} AS r ON {join}
)
SELECT feature, provider, model, count(*) AS requests,
  count(DISTINCT prefix_key) AS prefixes, count(*) AS affected_requests,
  count(*) FILTER (WHERE hit) AS cache_hits, count(*) FILTER (WHERE NOT hit) AS cache_writes,
  any_value(min_tokens) AS min_cacheable_tokens, any_value(ttl_s) AS cache_lifetime_s,
  any_value(write_premium) AS write_premium,
  round(avg(cacheable)) AS avg_cached_prefix_tokens,
  round(quantile_cont(gap_s, 0.5), 1) AS p50_seconds_between_requests,
  round(sum(cost_usd), 6) AS current_cost_usd,
  any_value(win.days) AS window_days,
  round(sum(cost_usd) {month}, 6) AS current_cost_usd_month,
  round(sum(cost_usd + delta) {month}, 6) AS projected_cost_usd_month,
  round(-sum(delta) {month}, 6) AS savings_usd_month,
  round(-100 * sum(delta) / nullif(sum(cost_usd), 0), 2) AS savings_pct
FROM priced, win
GROUP BY feature, provider, model
ORDER BY savings_usd_month DESC
"""


_RULE_CASTS = "(?::VARCHAR, ?::VARCHAR, ?::BIGINT, ?::DOUBLE, ?::BIGINT, ?::DOUBLE, ?::DOUBLE)"


def rules_sql(models: set[tuple[str, str]]) -> tuple[str, list[Any]]:
    rows, params = [], []
    for provider, model in sorted(models):
        rule = cache_rule(provider, model)
        if rule is None:
            continue
        rows.append(_RULE_CASTS)
        params += [provider, model, rule.min_tokens, rule.ttl_s, rule.increment]
        params += [rule.storage_usd_per_mtok_hour, rule.write_premium]
    if not rows:
        return "(SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE false)", []
    return f"(VALUES {', '.join(rows)})", params


def _confidence(row: dict[str, Any]) -> str:
    hit_rate = row["cache_hits"] / max(row["affected_requests"], 1)
    if (
        row["affected_requests"] >= HIGH_REQUESTS
        and hit_rate >= HIGH_HIT_RATE
        and row["savings_pct"] >= HIGH_SAVINGS_PCT
    ):
        return "high"
    return "medium" if row["affected_requests"] >= MEDIUM_REQUESTS else "low"


async def find_prompt_caching(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) whose shared prefixes would be read from cache."""
    keys = await _rates.dataset_keys(store, dataset_id)
    rates, rate_params, _ = _rates.rate_table(keys)
    rules, rule_params = rules_sql({(k[0], k[1]) for k in keys})
    sql = QUERY.format(
        window=WINDOW_VALUE_CTE, base=_BASE, rules=rules, rates=rates,
        join=pricing.rate_join("q", "r"), month=_rates.MONTH, floor=FLOOR,
    )  # fmt: skip
    days = await _rates.window_days(store, dataset_id)
    params = [days, *rule_params, *[dataset_id] * 3, *rate_params]
    rows = await store.fetch(sql, params)
    findings = []
    for row in rows:
        if row["affected_requests"] < MIN_ELIGIBLE or not (row["savings_usd_month"] or 0) > 0:
            continue
        findings.append(_finding(row, sql))
    return findings


def _finding(row: dict[str, Any], sql: str) -> dict[str, Any]:
    feature, provider, model = row["feature"], row["provider"], row["model"]
    rule = cache_rule(provider, model)
    assert rule is not None
    how = (
        "it is automatic: keep the shared prefix byte-identical at the very start of the "
        "prompt (system prompt and tools first, variable content last) and pass a stable "
        "prompt_cache_key"
        if rule.automatic
        else "mark the end of the shared prefix with a cache breakpoint (cache_control "
        "on the last system/tools block)"
        if provider != "google"
        else f"create an explicit context cache for the prefix with a TTL of {rule.ttl_s:.0f} s"
    )
    hit_rate = row["cache_hits"] / max(row["affected_requests"], 1)
    return finding(
        id=slug("prompt_caching", feature, model),
        title=f"Cache the shared prompt prefix of '{feature}' ({model})",
        category="prompt_caching",
        numbers=row,
        confidence=_confidence(row),
        evidence={
            **row,
            "cache_hit_rate": round(hit_rate, 4),
            "rule": {**rule.__dict__},
            "prefix_estimate": "the shortest prompt sharing the prefix_hash",
            "query": sql.strip(),
        },
        action=(
            f"Turn on prompt caching for '{feature}' on {provider} {model}: {how}. "
            f"About {row['avg_cached_prefix_tokens']:.0f} prefix tokens repeat across "
            f"{row['affected_requests']} requests; {hit_rate:.0%} of them follow the previous "
            f"one within the {rule.ttl_s / 60:.0f}-minute cache lifetime. Check "
            "cached_input_tokens in the responses after the change."
        ),
    )
