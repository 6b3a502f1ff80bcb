"""response_caching: identical prompts (prompt_hash) answered again and again.

An exact response cache keyed on (model, prompt) would answer every repeat of a prompt
after its first successful answer; the saving is the cost of those repeats within the
dataset's window, scaled to a month.
"""

from __future__ import annotations

from typing import Any

from netra.analysis._common import WINDOW_CTE, finding, slug
from netra.telemetry.store import AnalyticsStore

MIN_REPEATS = 5
HIGH_SHARE, HIGH_REPEATS = 0.30, 100
MEDIUM_SHARE, MEDIUM_REPEATS = 0.10, 20

QUERY = f"""
WITH {WINDOW_CTE},
q AS (
  SELECT coalesce(feature, '(none)') AS feature, provider, model, prompt_hash, cost_usd,
    row_number() OVER (PARTITION BY coalesce(feature, '(none)'), provider, model, prompt_hash
                       ORDER BY ts, request_id) AS occurrence
  FROM requests
  WHERE dataset_id = ? AND status = 'ok' AND prompt_hash IS NOT NULL AND cost_usd IS NOT NULL
)
SELECT feature, provider, model, count(*) AS requests,
  count(DISTINCT prompt_hash) AS distinct_prompts,
  count(*) FILTER (WHERE occurrence > 1) AS affected_requests,
  round(count(*) FILTER (WHERE occurrence > 1) / count(*), 4) AS repeat_share,
  round(sum(cost_usd), 6) AS current_cost_usd,
  round(coalesce(sum(cost_usd) FILTER (WHERE occurrence > 1), 0), 6) AS repeat_cost_usd,
  any_value(win.days) AS window_days,
  round(sum(cost_usd) * 30 / any_value(win.days), 6) AS current_cost_usd_month,
  round((sum(cost_usd) - coalesce(sum(cost_usd) FILTER (WHERE occurrence > 1), 0)) * 30
    / any_value(win.days), 6) AS projected_cost_usd_month,
  round(coalesce(sum(cost_usd) FILTER (WHERE occurrence > 1), 0) * 30 / any_value(win.days), 6)
    AS savings_usd_month,
  round(100 * coalesce(sum(cost_usd) FILTER (WHERE occurrence > 1), 0)
    / nullif(sum(cost_usd), 0), 2) AS savings_pct,
  (SELECT list(struct_pack(prompt_hash := h, requests := n) ORDER BY n DESC)[1:5] FROM (
     SELECT prompt_hash AS h, count(*) AS n FROM q AS t
     WHERE t.feature = q.feature AND t.provider = q.provider AND t.model = q.model
     GROUP BY 1 HAVING count(*) > 1)) AS top_prompts
FROM q, win
GROUP BY feature, provider, model
HAVING count(*) FILTER (WHERE occurrence > 1) >= {MIN_REPEATS}
ORDER BY savings_usd_month DESC
"""


def _confidence(row: dict[str, Any]) -> str:
    share, repeats = row["repeat_share"], row["affected_requests"]
    if share >= HIGH_SHARE and repeats >= HIGH_REPEATS:
        return "high"
    if share >= MEDIUM_SHARE and repeats >= MEDIUM_REPEATS:
        return "medium"
    return "low"


async def find_response_caching(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) whose prompts repeat."""
    findings = []
    for row in await store.fetch(QUERY, [dataset_id, dataset_id]):
        feature, model = row["feature"], row["model"]
        findings.append(
            finding(
                id=slug("response_caching", feature, model),
                title=f"Cache answers of '{feature}': {row['repeat_share']:.0%} are repeats",
                category="response_caching",
                numbers=row,
                confidence=_confidence(row),
                evidence={**row, "query": QUERY.strip()},
                action=(
                    f"Put an exact-match response cache in front of '{feature}' ({model}), "
                    "keyed on a hash of the model and the full prompt (e.g. Redis with a "
                    f"24 h TTL): {row['distinct_prompts']} distinct prompts made "
                    f"{row['requests']} successful requests. Only cache successful answers "
                    "and clear the cache when the underlying content (FAQ, docs) changes."
                ),
            )
        )
    return findings
