"""batch_api: traffic nobody waits for (scheduled or bulk jobs) that a batch API would take.

A (feature, provider, model) is treated as non-interactive when its requests are not
conversation turns and at least SCHEDULED_SHARE of them fall into one window of
WINDOW_HOURS consecutive hours of the (UTC) day: a job that runs at a set time, not
users who come and go. The projection re-prices those very requests at the catalogue's
batch prices (`processing: batch`) for each request's day and tier; a model without a
batch price in the catalogue yields no finding (no invented discount).

Batch APIs answer within 24 hours (OpenAI, Anthropic Message Batches, Gemini batch
mode), so the action says so.
"""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

WINDOW_HOURS = 4
SCHEDULED_SHARE = 0.8
HIGH_SHARE, HIGH_DAYS, HIGH_REQUESTS = 0.95, 7, 100
MIN_REQUESTS = 20

_REPRICE = """
WITH {window},
chosen AS (SELECT * FROM (VALUES {chosen}) AS c(feature, provider, model)),
q AS (
  SELECT coalesce(r.feature, '(none)') AS feature, r.* EXCLUDE (feature) FROM requests AS r
  WHERE r.dataset_id = ? AND NOT r.batch AND r.cost_usd IS NOT NULL
),
priced AS (
  SELECT q.feature, q.provider, q.model, q.cost_usd, {cost} AS batch_cost
  FROM q SEMI JOIN chosen USING (feature, provider, model)
  LEFT JOIN {rates} AS r ON {join} AND r.batch
)
SELECT feature, provider, model, count(*) AS affected_requests,
  count(batch_cost) AS priced_requests,
  round(sum(cost_usd), 6) AS current_cost_usd, round(sum(batch_cost), 6) AS batch_cost_usd,
  any_value(win.days) AS window_days,
  round(sum(cost_usd) {month}, 6) AS current_cost_usd_month,
  round(sum(batch_cost) {month}, 6) AS projected_cost_usd_month,
  round((sum(cost_usd) - sum(batch_cost)) {month}, 6) AS savings_usd_month,
  round(100 * (sum(cost_usd) - sum(batch_cost)) / nullif(sum(cost_usd), 0), 2) AS savings_pct
FROM priced, win
GROUP BY feature, provider, model
"""


def _interactive_priced(row: dict[str, Any]) -> bool:
    """A traffic row of priced requests not already sent as batch (SQL's NOT batch)."""
    return bool(row["priced"]) and row["batch"] is not None and not row["batch"]


def _profiles(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One profile per (feature, provider, model): conversation turns, active days and
    requests by hour of day, from the dataset's traffic by day and hour (`_rates.traffic`)
    not yet sent as batch."""
    profiles: dict[tuple[str, str, str], dict[str, Any]] = {}
    days: dict[tuple[str, str, str], set[Any]] = {}
    for row in filter(_interactive_priced, rows):
        key = (row["feature"], row["provider"], row["model"])
        if key not in profiles:
            profiles[key] = {"feature": key[0], "provider": key[1], "model": key[2]}
            profiles[key].update(conversation_turns=0, by_hour={})
            days[key] = set()
        profile = profiles[key]
        profile["conversation_turns"] += row["conversation_turns"]
        profile["by_hour"][row["hour"]] = profile["by_hour"].get(row["hour"], 0) + row["requests"]
        days[key].add(row["day"])
    for key, profile in profiles.items():
        profile["active_days"] = len(days[key])
        profile["by_hour"] = dict(sorted(profile["by_hour"].items()))
    return list(profiles.values())


def _densest_window(by_hour: dict[int, int]) -> tuple[int, float]:
    """(first hour, share of requests) of the busiest WINDOW_HOURS-hour window (wrapping)."""
    per_hour = [by_hour.get(hour, 0) for hour in range(24)]
    total = sum(per_hour) or 1
    best = max(range(24), key=lambda h: sum(per_hour[(h + k) % 24] for k in range(WINDOW_HOURS)))
    return best, sum(per_hour[(best + k) % 24] for k in range(WINDOW_HOURS)) / total


def _confidence(share: float, days: int, requests: int) -> str:
    if share >= HIGH_SHARE and days >= HIGH_DAYS and requests >= HIGH_REQUESTS:
        return "high"
    return "medium" if requests >= HIGH_REQUESTS else "low"


async def find_batch_api(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) whose traffic runs on a schedule."""
    profiles = _profiles(await _rates.traffic(store, dataset_id))
    candidates = []
    for p in profiles:
        start, share = _densest_window(p["by_hour"])
        if p["conversation_turns"] == 0 and share >= SCHEDULED_SHARE:
            candidates.append((p, start, share))
    if not candidates:
        return []
    keys = await _rates.dataset_keys(store, dataset_id)
    batch_keys = {(prov, model, True, day) for prov, model, batch, day in keys if not batch}
    rates, rate_params, _ = _rates.rate_table(batch_keys)
    sql = _REPRICE.format(
        window=WINDOW_VALUE_CTE, cost=pricing.cost_sql("q", "r"), rates=rates,
        join=pricing.rate_join("q", "r").replace("r.batch = q.batch AND ", ""),
        month=_rates.MONTH,
        chosen=", ".join(["(?::VARCHAR, ?::VARCHAR, ?::VARCHAR)"] * len(candidates)),
    )  # fmt: skip
    chosen = [v for p, _, _ in candidates for v in (p["feature"], p["provider"], p["model"])]
    days = await _rates.window_days(store, dataset_id)
    rows = await store.fetch(sql, [days, *chosen, dataset_id, *rate_params])
    by_slice = {(r["feature"], r["provider"], r["model"]): r for r in rows}
    findings = []
    for profile, start, share in candidates:
        numbers = by_slice.get((profile["feature"], profile["provider"], profile["model"]))
        if numbers is None or numbers["affected_requests"] < MIN_REQUESTS:
            continue
        if numbers["priced_requests"] != numbers["affected_requests"]:
            continue  # no batch price on some day: no honest estimate
        if not (numbers["savings_usd_month"] or 0) > 0:
            continue
        findings.append(_finding(profile, start, share, numbers, sql))
    return sorted(findings, key=lambda f: -f["savings_usd_month"])


def _finding(
    profile: dict[str, Any], start: int, share: float, numbers: dict[str, Any], sql: str
) -> dict[str, Any]:
    feature, provider, model = profile["feature"], profile["provider"], profile["model"]
    window = f"{start:02d}:00–{(start + WINDOW_HOURS) % 24:02d}:00 UTC"
    return finding(
        id=slug("batch_api", feature, model),
        title=f"Send '{feature}' through the {provider} batch API",
        category="batch_api",
        numbers=numbers,
        confidence=_confidence(share, profile["active_days"], numbers["affected_requests"]),
        evidence={
            "feature": feature,
            "provider": provider,
            "model": model,
            **numbers,
            "scheduled_window_utc": window,
            "share_in_window": round(share, 4),
            "active_days": profile["active_days"],
            "conversation_turns": profile["conversation_turns"],
            "requests_by_hour_utc": {str(h): n for h, n in sorted(profile["by_hour"].items())},
            "query": sql.strip(),
        },
        action=(
            f"'{feature}' runs as a scheduled job ({share:.0%} of its requests between "
            f"{window}, no conversations): submit its requests as one {provider} batch job "
            "(a JSONL file of the same requests; results within 24 hours) right after the "
            "job's inputs are ready, and read the results when the batch completes instead "
            "of waiting on each call."
        ),
    )
