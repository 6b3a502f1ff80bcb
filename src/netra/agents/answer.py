"""Composes the optimization report (Markdown answer and structured report) from tool
results only. Pure functions: no I/O, no language model; every figure is a tool's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netra.agents.tools import usd
from netra.agents.triage import FIELD_PRESENT
from netra.telemetry.import_report import savings_unlocked_by

EFFORT_ORDER = {"low": 0, "medium": 1, "high": 2}


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def table(rows: list[dict[str, Any]], label: str, limit: int = 8) -> str:
    lines = [f"| {label} | requests | spend | share | p95 latency | error rate |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in rows[:limit]:
        lines.append(f"| {row['key']} | {row['requests']:,} | {usd(row['spend_usd'])} | "
                     f"{row['share_pct']:.1f}% | {ms(row.get('p95_latency_ms'))} | "
                     f"{pct(row.get('error_rate'))} |")
    if len(rows) > limit:
        lines.append(f"| … {len(rows) - limit} more | | | | | |")
    return "\n".join(lines)


def state(overview: dict[str, Any]) -> str:
    lines = [
        f"- **Spend:** {usd(overview['spend_usd'])} over {overview['window_days']:.1f} days "
        f"({usd(overview['monthly_spend_usd'])}/month) on {overview['requests']:,} requests",
        f"- **p95 latency:** {ms(overview.get('p95_latency_ms'))}",
        f"- **Error rate:** {pct(overview.get('error_rate'))}",
    ]
    if overview.get("unpriced_models"):
        lines.append("- **Unpriced models** (unknown to the price catalogue, so not counted, "
                     f"never as free): {', '.join(overview['unpriced_models'])}")
    return "\n".join(lines)


def finding_block(rank: int, finding: dict[str, Any], change: dict[str, Any] | None) -> str:
    effort = ""
    if change:
        quick = " · **quick win**" if change["quick_win"] else ""
        effort = f" · effort {change['effort']}{quick}"
    block = (
        f"### {rank}. {finding['title']}: −{usd(finding['savings_usd_month'])}/month\n"
        f"{finding['savings_pct']:.0f}% of {usd(finding['current_cost_usd_month'])}/month on "
        f"{finding['affected_requests']:,} requests → {usd(finding['projected_cost_usd_month'])}"
        f"/month ({usd(12 * finding['savings_usd_month'])}/year) · confidence "
        f"{finding['confidence']}{effort}\n\n**Do this:** {finding['action']}"
    )
    if change and change.get("settings"):
        block += f"\n\n**Settings:** {change['settings']}"
    return block


RISKS = (
    "- **Quality before savings.** Replay a sample of each feature's real prompts (a few "
    "hundred) on the proposed model and compare with today's answers: exact match for "
    "classification and extraction, a rubric or side-by-side review for free text. Switch "
    "only features that pass.\n"
    "- **Roll out gradually**: a feature flag or a weighted route (a small share first, "
    "then half, then all), with a one-line way back.\n"
    "- **Caches serve stale answers** when the underlying content changes: set a TTL and "
    "clear on content updates.\n"
    "- **Batch results arrive within hours**, not seconds: only move traffic no user waits on."
)
WATCH = (
    "- cost per request and total daily spend, per feature (expect the projected figures)\n"
    "- p95 latency and error rate per feature (they should not rise)\n"
    "- the feature's own quality signal: escalations, thumbs-down, retries by users\n"
    "- cache hit rate and cached-token share, where caching was turned on"
)


def _summary(findings: list[dict[str, Any]], totals: dict[str, Any],
             coverage: Mapping[str, float] | None = None) -> str:
    if not findings:
        return (f"You spend **{usd(totals['current_monthly_spend_usd'])}/month**; none of the "
                "analyses found a saving worth acting on." + _unlocks(coverage))
    first = findings[0]
    return (
        f"You spend **{usd(totals['current_monthly_spend_usd'])}/month** on LLM APIs. "
        f"Acting on the {len(findings)} finding(s) below saves **{usd(totals['savings_usd_month'])}"
        f"/month** ({totals['savings_pct']:.1f}%, {usd(totals['savings_usd_year'])}/year), "
        f"taking spend to {usd(totals['projected_monthly_spend_usd'])}/month. "
        f"**Make this change first:** {first['title']} (−{usd(first['savings_usd_month'])}/month)."
    )


def _unlocks(coverage: Mapping[str, float] | None) -> str:
    """On thin data, which missing fields would let which analyses look (from the
    dataset's profile: the share of rows carrying each field)."""
    missing = savings_unlocked_by(coverage, FIELD_PRESENT) if coverage is not None else []
    if not missing:
        return ""
    said = "; ".join(f"`{field}` unlocks {what}" for field, what in missing)
    return (f" Some analyses could not look, for fields the data lacks: {said}. Add them to "
            "the export and upload it again.")


def _next_steps(findings: list[dict[str, Any]], changes: list[dict[str, Any]]) -> str:
    quick = [c for c in changes if c["quick_win"]]
    ordered = quick + [c for c in changes if not c["quick_win"]]
    steps = [f"{i}. {c['title']} (−{usd(c['savings_usd_month'])}/month, effort {c['effort']})"
             for i, c in enumerate(ordered[:5], 1)]
    steps.append(f"{len(steps) + 1}. Upload a fresh month of telemetry after the changes and "
                 "ask again to confirm the savings.")
    return "\n".join(steps)


def report_answer(facts: dict[str, Any], findings: list[dict[str, Any]],
                  changes: list[dict[str, Any]], totals: dict[str, Any],
                  downloads: list[dict[str, Any]],
                  coverage: Mapping[str, float] | None = None) -> str:
    """`coverage`: the dataset's share of rows per field, to say what thin data lacks."""
    overview = facts["overview"]
    by_finding = {c["finding_id"]: c for c in changes}
    parts = ["## Executive summary", _summary(findings, totals, coverage),
             "## Current state", state(overview)]
    for key, label in (("by_model", "model"), ("by_feature", "feature")):
        if key in facts:
            parts += [f"### Spend by {label}", table(facts[key]["rows"], label)]
    if findings:
        parts.append("## Findings, ranked by savings")
        parts += [finding_block(i, f, by_finding.get(f["id"])) for i, f in enumerate(findings, 1)]
        parts += ["## Projected savings",
                  f"- **Monthly:** {usd(totals['savings_usd_month'])} "
                  f"(spend {usd(totals['current_monthly_spend_usd'])} → "
                  f"{usd(totals['projected_monthly_spend_usd'])})\n"
                  f"- **Annual:** {usd(totals['savings_usd_year'])}\n"
                  f"- Overlap between findings is counted once: the findings add up to "
                  f"{usd(totals['gross_savings_usd_month'])}/month before overlap.",
                  "## Risks and quality checks before switching", RISKS,
                  "## Metrics to watch afterwards", WATCH,
                  "## Next steps", _next_steps(findings, changes)]
    if downloads:
        parts.append("Ready to use: " + ", ".join(f"`{d['filename']}`" for d in downloads)
                     + " (download them from the report).")
    parts += ["## Assumptions", assumptions(overview)]
    return "\n\n".join(parts) + "\n"


def report_sections(facts: dict[str, Any], findings: list[dict[str, Any]],
                    changes: list[dict[str, Any]], totals: dict[str, Any],
                    coverage: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The report's prose and state as structured fields, the same text the answer shows,
    so the web page can lay them out without parsing Markdown."""
    overview = facts["overview"]
    return {
        "executive_summary": _summary(findings, totals, coverage),
        "first_change": findings[0]["title"] if findings else None,
        "current_state": {key: overview.get(key) for key in (
            "spend_usd", "monthly_spend_usd", "requests", "window_days", "p95_latency_ms",
            "error_rate", "unpriced_models")},
        "risks": RISKS if findings else "",
        "metrics_to_watch": WATCH if findings else "",
        "next_steps": _next_steps(findings, changes) if findings else "",
        "assumptions": assumptions(overview),
    }


def assumptions(overview: dict[str, Any]) -> str:
    return (f"- Monthly figures scale the dataset's {overview['window_days']:.1f}-day window to "
            "30 days; annual figures are 12 months of that.\n"
            "- Prices come from the genai-prices catalogue at each request's date, tier and "
            "batch mode; models it does not know are left out, never counted as free.\n"
            "- Findings on the same requests compound rather than add, so totals count "
            "overlapping savings once.\n"
            "- Projected costs assume the same traffic and prompts; quality is not measured "
            "here and must be checked before switching models.")


def charts(facts: dict[str, Any], findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for key, title, kind in (("by_model", "Spend by model", "bar"),
                             ("by_feature", "Spend by feature", "bar"),
                             ("by_day", "Spend by day", "line")):
        if key in facts:
            rows = facts[key]["rows"]
            result.append({"id": key.replace("by_", "spend_by_"), "type": kind, "title": title,
                           "unit": "USD", "labels": [r["key"] for r in rows],
                           "values": [round(r["spend_usd"], 4) for r in rows]})
    if findings:
        result.append({"id": "savings_by_finding", "type": "bar", "title": "Savings by finding",
                       "unit": "USD/month", "labels": [f["title"] for f in findings],
                       "values": [f["savings_usd_month"] for f in findings]})
    return result
