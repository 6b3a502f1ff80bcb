"""Answers to focused questions and follow-ups, composed from tool results only."""

from __future__ import annotations

from typing import Any

from netra.agents.answer import ms, state, table
from netra.agents.tools import usd

DATA_HELP = """\
## Bring your LLM usage data

One record per LLM request is all it takes: `ts`, `provider`, `model`, `input_tokens`,
`output_tokens`; the more of `feature`, `latency_ms`, `status`, `cached_input_tokens`,
`prompt_hash`, `prefix_hash`, `conversation_id` and `max_tokens` you add, the more the
analyses can find.

- **Upload** a file on the Datasets screen or with `POST /api/datasets` (multipart
  `file`): `records-csv`, `records-jsonl`, OpenTelemetry GenAI spans (`otel-genai`),
  LiteLLM spend logs, Langfuse observations, Helicone exports, or a bare token trace
  (`token-trace`, with a default provider and model). `format=auto` detects which.
- **Stream** records from your gateway with `POST /api/ingest/{dataset_id}/records` and an
  API key (`Authorization: Bearer nak_…`); re-sending a batch never double counts.
- **Try it now** with the demo dataset: "Load demo data" on the Datasets screen,
  `POST /api/datasets/demo`, or `netra demo` on the command line.
"""
FIELD_HELP = {
    "prompt_hash": "a hash of the whole prompt (equal hashes = identical prompts)",
    "prefix_hash": "a hash of the stable prefix: system prompt and tools",
    "latency_ms": "the total request time in milliseconds",
    "status": "`ok` or `error` per request (with `error_type`)",
    "conversation_id": "the id grouping the turns of one conversation or agent session",
    "max_tokens": "the request's output cap",
}


def no_data() -> str:
    return "You have no dataset yet, so there is nothing to measure.\n\n" + DATA_HELP


def not_in_data(names: list[str], profile: dict[str, Any]) -> str:
    """Names the question uses that the dataset does not have."""
    def listed(key: str, field: str) -> str:
        items = [str(i[field] if isinstance(i, dict) else i) for i in profile.get(key) or []]
        return ", ".join(f"`{i}`" for i in items[:12]) or "none"

    quoted = ", ".join(f"`{n}`" for n in names)
    return (f"**Not in your data:** {quoted} is not a feature or model of this dataset. "
            f"Its features are {listed('features', 'feature')}; its models are "
            f"{listed('models', 'model')}. The figures below are for the whole dataset.")


def needs_model(facts: dict[str, Any]) -> str:
    """The built-in analyst did not recognise the question: say so plainly."""
    return (
        "I could not match this question to an analysis. Without a language model "
        "configured (`NETRA_LLM_BASE_URL`), I answer questions about spend and where it "
        "goes, savings, trends, latency, errors and retries, provider prices, caching, batch, "
        "output limits, context growth, what-if changes and action plans, in English. A "
        "configured model answers free-form questions from the same data.\n\n"
        "## What the data shows\n\n" + state(facts["overview"]) + "\n"
    )


def missing_data(missing: tuple[str, ...], facts: dict[str, Any]) -> str:
    fields = "\n".join(f"- `{f}`: {FIELD_HELP.get(f, f)}" for f in missing)
    return (
        "## What this question needs\n\n"
        f"This dataset has no {' or '.join(f'`{f}`' for f in missing)}, so it cannot answer "
        f"this question yet. Add to each record:\n\n{fields}\n\n"
        "Re-upload or re-send the records with these fields (the ingestion API is "
        "idempotent by `request_id`, so re-sending never double counts).\n\n"
        "## What the data already shows\n\n" + state(facts["overview"]) + "\n\n" + DATA_HELP
    )


def breakdowns(facts: dict[str, Any], days: int | None) -> str:
    window = f" (last {days} days of the data)" if days else ""
    parts = []
    for key in ("by_feature", "by_model", "by_provider", "by_day"):
        if key in facts:
            label = key.removeprefix("by_")
            parts += [f"## Spend by {label}{window}", table(facts[key]["rows"], label, limit=12)]
    parts += ["## Whole dataset", state(facts["overview"])]
    return "\n\n".join(parts) + "\n"


def _peak(rows: list[dict[str, Any]]) -> str:
    """The day that cost most, against the typical (median) day."""
    ordered = sorted(float(r["spend_usd"]) for r in rows)
    median = ordered[len(ordered) // 2]
    peak = max(rows, key=lambda r: float(r["spend_usd"]))
    return (f"The costliest day was **{peak['key']}**: {usd(peak['spend_usd'])} on "
            f"{peak['requests']:,} requests, against {usd(median)} on a typical (median) day.")


def trend(facts: dict[str, Any]) -> str:
    rows = facts["by_day"]["rows"]
    if len(rows) < 2:
        return breakdowns(facts, None)
    half = len(rows) // 2
    first = sum(r["spend_usd"] for r in rows[:half]) / half
    second = sum(r["spend_usd"] for r in rows[half:]) / (len(rows) - half)
    change = 100 * (second - first) / first if first else 0.0
    head = (f"Average daily spend went from {usd(first)} in the first half of the window to "
            f"{usd(second)} in the second ({change:+.1f}%). " + _peak(rows))
    return head + "\n\n" + breakdowns(facts, None)


def latency(facts: dict[str, Any]) -> str:
    rows = facts["latency"]["rows"]
    if not rows:
        return "This dataset records no latency.\n\n" + state(facts["overview"]) + "\n"
    slowest = rows[0]
    lines = ["| provider | model | requests | p50 | p95 | p99 | p50 time to first token |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in rows[:12]:
        lines.append(f"| {row['provider']} | {row['model']} | {row['requests']:,} | "
                     f"{ms(row.get('p50_latency_ms'))} | {ms(row.get('p95_latency_ms'))} | "
                     f"{ms(row.get('p99_latency_ms'))} | {ms(row.get('p50_ttft_ms'))} |")
    return (f"The slowest model is **{slowest['model']}** ({slowest['provider']}): p95 "
            f"{ms(slowest['p95_latency_ms'])} over {slowest['requests']:,} requests.\n\n"
            + "\n".join(lines) + "\n\n" + state(facts["overview"]) + "\n")


def errors(facts: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    result = facts["errors"]
    parts = [f"Failed requests cost **{usd(result['cost_usd'])}** in this dataset "
             f"({usd(result['cost_usd_month'])}/month): {result['failed_requests']:,} failures."]
    by_type = result.get("by_error_type") or []
    if by_type:
        lines = ["| error type | failures | cost |", "|---|---:|---:|"]
        lines += [f"| {r['error_type']} | {r['failures']:,} | {usd(r['cost_usd'])} |"
                  for r in by_type[:10]]
        parts.append("\n".join(lines))
    for finding in findings:
        parts.append(f"**{finding['title']}**: −{usd(finding['savings_usd_month'])}/month. "
                     f"{finding['action']}")
    parts.append(state(facts["overview"]))
    return "\n\n".join(parts) + "\n"


def providers(facts: dict[str, Any]) -> str:
    result = facts["providers"]
    rows = result.get("rows") or []
    if not rows:
        return ("No other provider in the price catalogue offers these models, so there is "
                "nothing to compare.\n\n" + state(facts["overview"]) + "\n")
    lines = ["| today's model | provider option | model there | cost of this traffic | "
             "vs. today |", "|---|---|---|---:|---:|"]
    for row in rows[:15]:
        today = " (today)" if row.get("current") else ""
        lines.append(f"| {row.get('source_model', row['model'])} | {row['provider']}{today} | "
                     f"{row['model']} | {usd(row['cost_usd'])} | "
                     f"{row.get('delta_pct', 0):+.1f}% |")
    return ("What this dataset's traffic would cost at each provider offering the same or an "
            "equivalent model, at the catalogue's prices for each request's date:\n\n"
            + "\n".join(lines) + "\n")


def finding_detail(finding: dict[str, Any]) -> str:
    evidence = {k: v for k, v in (finding.get("evidence") or {}).items() if k != "query"}
    lines = [f"- `{k}`: {v}" for k, v in evidence.items() if not isinstance(v, (dict, list))]
    stale = ("\n\n_This finding no longer shows in the current data; the figures are from "
             "the earlier answer._" if finding.get("stale") else "")
    query = (finding.get("evidence") or {}).get("query")
    return (
        f"## {finding['title']}\n\n"
        f"**Saves {usd(finding['savings_usd_month'])}/month** "
        f"({usd(12 * finding['savings_usd_month'])}/year, {finding['savings_pct']:.1f}%): "
        f"{usd(finding['current_cost_usd_month'])}/month today → "
        f"{usd(finding['projected_cost_usd_month'])}/month, on "
        f"{finding['affected_requests']:,} requests. Confidence: {finding['confidence']}."
        f"{stale}\n\n## What to change\n\n{finding['action']}\n\n## Evidence\n\n"
        + "\n".join(lines)
        + (f"\n\nThe query behind it:\n\n```sql\n{query}\n```" if query else "") + "\n"
    )


def what_if(result: dict[str, Any]) -> str:
    rows = result.get("by_feature") or []
    lines = ["| feature | requests | paid | would have paid |", "|---|---:|---:|---:|"]
    lines += [f"| {r['feature']} | {r['requests']:,} | {usd(r['current_cost_usd'])} | "
              f"{usd(r['simulated_cost_usd'])} |" for r in rows[:12]]
    unpriced = result.get("unpriced") or []
    note = (f"\n\nNot priced (unknown to the catalogue): {', '.join(map(str, unpriced))}."
            if unpriced else "")
    return (
        f"## What if: {result['description']}\n\n"
        f"You would have paid **{usd(result['simulated_cost_usd'])}** instead of "
        f"{usd(result['current_cost_usd'])} for the {result['affected_requests']:,} affected "
        f"requests: **{usd(result['savings_usd_month'])}/month** "
        f"({result['savings_pct']:.1f}%) less.\n\n" + "\n".join(lines) + note
        + "\n\n## Assumptions\n\n"
        + "\n".join(f"- {note}" for note in result.get("assumptions") or [])
        + "\n"
    )


def overview_answer(facts: dict[str, Any]) -> str:
    overview = facts["overview"]
    return (f"## What this dataset holds\n\n{state(overview)}\n- **Models:** "
            f"{pct_models(overview)}\n\n" + breakdowns(facts, None))


def pct_models(overview: dict[str, Any]) -> str:
    """The dataset's models with their request counts, as a reader wants them."""
    models = overview.get("models") or {}
    if isinstance(models, dict):
        return ", ".join(f"{k} ({v:,})" for k, v in models.items())
    return ", ".join(f"{m['key']} ({m['requests']:,} requests)" if isinstance(m, dict) else str(m)
                     for m in models)

