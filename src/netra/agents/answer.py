"""Composes the final Markdown answer and the structured report from tool results only.

Pure functions: no I/O, no language model. Every figure printed here is a field of a
tool result, formatted.
"""

from __future__ import annotations

from typing import Any

from netra.agents.tools import usd

DATA_HELP = """\
## Bring your LLM usage data

One record per LLM request is all it takes: `ts`, `provider`, `model`, `input_tokens`,
`output_tokens`; better with `feature`, `latency_ms`, `status`, `cached_input_tokens`,
`prompt_hash` (for caching analyses) and `conversation_id`.

- **Upload** a file on the Datasets screen or `POST /api/datasets` (multipart `file`):
  `records-csv` or `records-jsonl` with the fields above; other exports (OpenTelemetry
  GenAI spans, LiteLLM spend logs, Langfuse, Helicone, bare token traces) as they are added.
- **Stream** records from your gateway with `POST /api/ingest/{dataset_id}/records` and an
  API key (`Authorization: Bearer nak_…`); re-sending a batch never double counts.
- **Try it now** with the demo dataset: "Load demo data" on the Datasets screen, or
  `POST /api/datasets/demo`, or `netra demo` on the command line.
"""


def _table(rows: list[dict[str, Any]], label: str, limit: int = 8) -> str:
    lines = [f"| {label} | requests | spend | share | p95 latency | error rate |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in rows[:limit]:
        p95 = row.get("p95_latency_ms")
        lines.append(
            f"| {row['key']} | {row['requests']:,} | {usd(row['spend_usd'])} | "
            f"{row['share_pct']:.1f}% | {'n/a' if p95 is None else f'{p95:,.0f} ms'} | "
            f"{100 * (row.get('error_rate') or 0):.1f}% |"
        )
    return "\n".join(lines)


def _state(overview: dict[str, Any]) -> str:
    p95 = overview.get("p95_latency_ms")
    return (
        f"- **Spend:** {usd(overview['spend_usd'])} over {overview['window_days']:.1f} days "
        f"({usd(overview['monthly_spend_usd'])}/month) on {overview['requests']:,} requests\n"
        f"- **p95 latency:** {'n/a' if p95 is None else f'{p95:,.0f} ms'}\n"
        f"- **Error rate:** {100 * (overview.get('error_rate') or 0):.2f}%"
        + (f"\n- **Unpriced models** (not counted as free, just unknown to the price "
           f"catalogue): {', '.join(overview['unpriced_models'])}"
           if overview.get("unpriced_models") else "")
    )


def _finding(rank: int, finding: dict[str, Any], action: dict[str, Any] | None) -> str:
    effort = f", effort {action['effort']}" + (", quick win" if action["quick_win"] else "") \
        if action else ""
    return (
        f"### {rank}. {finding['title']}: −{usd(finding['savings_usd_month'])}/month\n"
        f"{finding['savings_pct']:.0f}% of {usd(finding['current_cost_usd_month'])}/month on "
        f"{finding['affected_requests']:,} requests → {usd(finding['projected_cost_usd_month'])}"
        f"/month; confidence {finding['confidence']}{effort}.\n\n"
        f"**Do this:** {finding['action']}"
    )


def optimization_answer(facts: dict[str, Any], findings: list[dict[str, Any]],
                        actions: list[dict[str, Any]], totals: dict[str, Any]) -> str:
    overview = facts["overview"]
    by_action = {a["finding_id"]: a for a in actions}
    parts = ["## Summary"]
    if findings:
        first = findings[0]
        parts.append(
            f"You spend **{usd(totals['current_monthly_spend_usd'])}/month**. We found "
            f"**{usd(totals['savings_usd_month'])}/month** of savings "
            f"({totals['savings_pct']:.1f}%, {usd(totals['savings_usd_year'])}/year). "
            f"Make this change first: **{first['title']}** "
            f"(−{usd(first['savings_usd_month'])}/month)."
        )
    else:
        parts.append(f"You spend **{usd(totals['current_monthly_spend_usd'])}/month**, and none "
                     "of the analyses found a saving worth acting on.")
    parts += ["## Current state", _state(overview),
              "### Spend by model", _table(facts["by_model"]["rows"], "model"),
              "### Spend by feature", _table(facts["by_feature"]["rows"], "feature")]
    if findings:
        parts.append("## Findings, ranked by savings")
        parts += [_finding(i, f, by_action.get(f["id"])) for i, f in enumerate(findings, 1)]
        parts += ["## Before you switch",
                  "- Replay a sample of each feature's real prompts on the proposed model and "
                  "compare answers (exact match for classification, a rubric or side-by-side "
                  "review for free text) before moving traffic.\n"
                  "- Move traffic gradually and watch cost per request, p95 latency, error rate "
                  "and the feature's own quality signal afterwards."]
    parts += ["## Assumptions",
              f"- Monthly figures scale the dataset's {overview['window_days']:.1f}-day window "
              "to 30 days; prices come from the genai-prices catalogue at each request's date.\n"
              "- Findings on the same feature compound rather than add, so the total counts "
              "overlapping savings once."]
    return "\n\n".join(parts) + "\n"


def breakdown_answer(intent: str, facts: dict[str, Any]) -> str:
    overview = facts["overview"]
    rows = facts["by_model"]["rows"]
    parts = ["## Current state", _state(overview)]
    if intent == "latency" and rows:
        slowest = max(rows, key=lambda r: r.get("p95_latency_ms") or 0)
        parts.append(f"The slowest model at p95 is **{slowest['key']}** "
                     f"({slowest['p95_latency_ms']:,.0f} ms).")
    if intent == "errors" and rows:
        worst = max(rows, key=lambda r: r.get("error_rate") or 0)
        parts.append(f"The highest error rate is on **{worst['key']}** "
                     f"({100 * (worst.get('error_rate') or 0):.1f}%).")
    parts += ["### By model", _table(rows, "model"),
              "### By feature", _table(facts["by_feature"]["rows"], "feature"),
              "### By provider", _table(facts["by_provider"]["rows"], "provider")]
    return "\n\n".join(parts) + "\n"


def no_data_answer() -> str:
    return ("You have no dataset yet, so there is nothing to measure. " + "\n\n" + DATA_HELP)


def charts(facts: dict[str, Any], findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def series(key: str, title: str, kind: str) -> dict[str, Any]:
        rows = facts[key]["rows"]
        return {"id": key.replace("by_", "spend_by_"), "type": kind, "title": title,
                "unit": "USD", "labels": [r["key"] for r in rows],
                "values": [round(r["spend_usd"], 4) for r in rows]}

    result = [series("by_model", "Spend by model", "bar"),
              series("by_feature", "Spend by feature", "bar"),
              series("by_day", "Spend by day", "line")]
    result.append({"id": "savings_by_finding", "type": "bar", "title": "Savings by finding",
                   "unit": "USD/month", "labels": [f["title"] for f in findings],
                   "values": [f["savings_usd_month"] for f in findings]})
    return result
