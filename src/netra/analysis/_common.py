"""What every analysis shares: the dataset's window and the shape of a finding."""

from __future__ import annotations

from typing import Any

# Monthly figures scale the dataset's window to 30 days. A window shorter than a day
# counts as one day, so a few minutes of traffic are not multiplied into fantasy.
WINDOW_CTE = """win AS (
  SELECT greatest(date_diff('second', min(ts), max(ts)) / 86400.0, 1.0) AS days
  FROM requests WHERE dataset_id = ?
)"""
# The same `win`, from its value computed beforehand (`_rates.window_days`): the finders
# of one run share it instead of each scanning the dataset's timestamps again.
WINDOW_VALUE_CTE = "win AS (SELECT ?::DOUBLE AS days)"

CONFIDENCES = ("high", "medium", "low")


def finding(
    *,
    id: str,
    title: str,
    category: str,
    numbers: dict[str, Any],
    evidence: dict[str, Any],
    action: str,
    confidence: str,
) -> dict[str, Any]:
    """A finding with exactly TELEMETRY.md's fields; `numbers` come from one SQL row."""
    assert confidence in CONFIDENCES
    return {
        "id": id,
        "title": title,
        "category": category,
        "affected_requests": int(numbers["affected_requests"]),
        "current_cost_usd_month": float(numbers["current_cost_usd_month"]),
        "projected_cost_usd_month": float(numbers["projected_cost_usd_month"]),
        "savings_usd_month": float(numbers["savings_usd_month"]),
        "savings_pct": float(numbers["savings_pct"]),
        "confidence": confidence,
        "evidence": evidence,
        "action": action,
    }


def slug(*parts: str) -> str:
    """A stable, readable finding id."""
    text = "-".join(parts).lower()
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text)
