"""The upload report: what an import kept, what its source lacked, and what that means.

Every import (file upload, ingestion API, `netra ingest`) answers with an `ImportResult`:
its rows, its rejects (`Reject`, the first MAX_REJECTS), and an `ImportReport`: how many
calls were kept without token usage (`kept`), how much of its rows carry each optional
field (`fields`, with a note where a missing field limits the analysis), and notes in
words. The numbers come from one SQL count over the imported rows (`stats_sql`); `build`
turns them into the report.

Importers add their own notes: `Importer.field_notes` explain a field their format does
not carry (shown when no row has it), and a reader may yield a `Note` while it reads
(e.g. "end user not in this export: use the v2 API export"), for a field or, with
`field=None`, for the whole file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from netra.telemetry import pricing

# Kinds of calls kept without token usage (schema.py), as `kept` counts them.
FAILED_WITHOUT_USAGE = "failed_calls_without_usage"
USAGE_UNKNOWN = "usage_unknown"
KEPT = (FAILED_WITHOUT_USAGE, USAGE_UNKNOWN)
MAX_NOTES = 20  # notes an importer may add to one import; more are dropped
MAX_REJECTS = 100

# Called now and then during an import with the share of the file read so far (0..1).
Progress = Callable[[float], None]


@dataclass(frozen=True)
class Note:
    """What an importer tells the user about a record field (None: the whole file)."""

    field: str | None
    text: str


@dataclass
class FieldReport:
    field: str
    present_pct: float  # share of the imported rows that carry it, 0..100
    note: str | None = None
    unlocks: str | None = None  # the analysis the field makes possible (UNLOCKS)


@dataclass
class ImportReport:
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KEPT, 0))
    fields: list[FieldReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Reject:
    line: int  # 1-based line of the file; for the ingestion API the 0-based record index
    reason: str


@dataclass
class ImportResult:
    """`rows`, `rejected_rows`, `rejects` and `report` (what was kept, what the source
    lacked) describe this call; the rest the whole dataset after it (so an incremental
    ingest can refresh the catalogue row)."""

    format: str
    rows: int
    rejected_rows: int
    rejects: list[Reject]  # the first MAX_REJECTS
    first_ts: datetime | None
    last_ts: datetime | None
    total_cost_usd: float
    unpriced_models: list[str]
    dataset_rows: int = 0
    inserted_rows: int = 0  # rows actually added (re-sent request_ids are not)
    source_cost_usd: float | None = None  # what the source reported, where it did
    report: ImportReport = field(default_factory=ImportReport)


# Optional record fields -> "this row carries it". Token details default to 0, so for
# them carrying means a count above 0.
PRESENT: dict[str, str] = {
    "feature": "feature IS NOT NULL",
    "end_user": "end_user IS NOT NULL",
    "conversation_id": "conversation_id IS NOT NULL",
    "request_id": "request_id IS NOT NULL",
    "latency_ms": "latency_ms IS NOT NULL",
    "ttft_ms": "ttft_ms IS NOT NULL",
    "error_type": "error_type IS NOT NULL",
    "prompt_hash": "prompt_hash IS NOT NULL",
    "prefix_hash": "prefix_hash IS NOT NULL",
    "max_tokens": "max_tokens IS NOT NULL",
    "cached_input_tokens": "cached_input_tokens > 0",
    "cache_write_tokens": "cache_write_tokens > 0",
    "reasoning_tokens": "reasoning_tokens > 0",
    "cost_usd": "source_cost_usd IS NOT NULL",
}

# What the analysis cannot do when no row carries a field.
ABSENT: dict[str, str] = {
    "feature": "no feature (call site) names: spend and findings cannot be split by feature",
    "end_user": "no end-user ids: spend per end user cannot be shown",
    "conversation_id": "no conversation ids: prompt growth over a conversation's turns "
    "cannot be measured",
    "request_id": "no request ids: a record sent twice cannot be recognised as a duplicate",
    "latency_ms": "no latencies: latency percentiles cannot be computed",
    "ttft_ms": "no time to first token: streaming latency cannot be shown",
    "prompt_hash": "no prompt hashes: repeated identical prompts (response caching, retries) "
    "cannot be found",
    "prefix_hash": "no prefix hashes: shared prompt prefixes (prompt caching) cannot be found",
    "max_tokens": "no max_tokens: it cannot be told whether answers were capped",
    "cost_usd": "no cost reported by the source: costs come from the price catalogue alone",
}

# What each optional field makes possible, said to someone deciding whether to export it
# (the upload's table, the answer on thin data). Each names the analyses that read it.
UNLOCKS: dict[str, str] = {
    "feature": "spend and every finding split by feature (call site): right-sizing and "
    "batch candidates found per feature, each change naming the code to edit",
    "end_user": "spend per end user, and retries told apart per user",
    "conversation_id": "context growth (history resent every turn), and retries found "
    "without prompt hashes",
    "request_id": "records sent twice recognised and counted once",
    "latency_ms": "p50/p95 latency by model and feature, and the dashboard's latency",
    "ttft_ms": "time to first token of streamed answers",
    "error_type": "failures told apart by cause (rate limits, timeouts, server errors)",
    "prompt_hash": "response caching (identical prompts answered again) and retry storms",
    "prefix_hash": "prompt caching (long shared prompt prefixes sent uncached)",
    "max_tokens": "output caps judged against what answers use",
    "cached_input_tokens": "cached prompt tokens priced at the cache rate, and prompt "
    "caching already in use left out of the proposals",
    "cache_write_tokens": "cache writes priced at their own rate",
    "reasoning_tokens": "reasoning tokens shown apart from the answer's",
    "cost_usd": "the source's own cost checked against the price catalogue",
}
# The fields whose absence hides savings, in the order an answer on thin data names them:
# the caching and context finders need them outright; without features, right-sizing and
# batch candidates are judged per model, simple and scheduled work mixed with the rest.
SAVINGS_FIELDS = ("prompt_hash", "prefix_hash", "conversation_id", "feature")


def savings_unlocked_by(coverage: Mapping[str, float], at_least: float) -> list[tuple[str, str]]:
    """(field, what it unlocks) of the SAVINGS_FIELDS that fewer than `at_least` of a
    dataset's rows carry (`coverage`: share of rows per field, 0..1)."""
    return [(name, UNLOCKS[name]) for name in SAVINGS_FIELDS
            if float(coverage.get(name) or 0) < at_least]  # fmt: skip


# A dataset's models whose cost is unknown though their usage is known (never free), with
# the last time they were called, to ask the catalogue why.
UNPRICED = """
SELECT provider, model, max(ts) AS last_ts FROM requests
WHERE dataset_id = ? AND cost_usd IS NULL AND input_tokens IS NOT NULL
GROUP BY provider, model ORDER BY model, provider
"""


def stats_sql(relation: str) -> str:
    """One row of counts over `relation` (the record's columns): rows, failures, calls kept
    without usage, and for each PRESENT field the rows that carry it (as `p_<field>`).

    DuckDB SQL; the ClickHouse store translates it. A row stored before usage_recorded
    existed recorded its usage."""
    present = ", ".join(
        f"count(*) FILTER (WHERE {condition}) AS p_{name}" for name, condition in PRESENT.items()
    )
    return (
        "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'error') AS failed, "
        "count(*) FILTER (WHERE status = 'error' AND NOT coalesce(usage_recorded, true)) "
        f"AS {FAILED_WITHOUT_USAGE}, count(*) FILTER (WHERE input_tokens IS NULL) "
        f"AS {USAGE_UNKNOWN}, {present} FROM {relation}"
    )


def difference(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    """The counts of the rows added between two `stats_sql` answers."""
    return {key: int(after[key] or 0) - int(before.get(key) or 0) for key in after}


def build(
    stats: Mapping[str, int] | None,
    notes: Iterable[Note] = (),
    field_notes: Mapping[str, str] | None = None,
    unpriced: Iterable[tuple[str, str, datetime]] = (),
) -> ImportReport:
    """The report of an import from its `stats_sql` counts (None: no report), its
    importer's notes, and the dataset's `UNPRICED` models."""
    if stats is None:
        return ImportReport()
    rows = int(stats.get("n") or 0)
    kept = {kind: int(stats.get(kind) or 0) for kind in KEPT}
    notes = list(notes)
    given: dict[str, list[str]] = {}
    for note in notes:
        if note.field is not None:
            given.setdefault(note.field, []).append(note.text)
    fields = []
    for name in PRESENT:
        present = int(stats.get(f"p_{name}") or 0)
        pct = round(100 * present / rows, 1) if rows else 0.0
        text = "; ".join(given[name]) if name in given else None
        if text is None and rows and present == 0:
            text = _absent(name, stats, field_notes or {})
        fields.append(FieldReport(name, pct, text, UNLOCKS.get(name)))
    priced = [
        f"cost unknown for {model} ({provider}): {pricing.unpriced_reason(provider, model, at)}"
        for provider, model, at in unpriced
    ]
    return ImportReport(kept=kept, fields=fields, notes=_notes(kept, notes) + priced)


def _absent(name: str, stats: Mapping[str, int], field_notes: Mapping[str, str]) -> str | None:
    if name in field_notes:
        return field_notes[name]
    if name == "error_type":
        failed = int(stats.get("failed") or 0)
        return f"no failed call ({failed:,}) names its error type: failures cannot be told " \
               "apart by cause" if failed else None  # fmt: skip
    return ABSENT.get(name)


def _notes(kept: Mapping[str, int], notes: Iterable[Note]) -> list[str]:
    out = []
    if failed := kept[FAILED_WITHOUT_USAGE]:
        out.append(
            f"{failed:,} failed call{'s' if failed != 1 else ''} without token usage: kept "
            "with 0 tokens and $0 (a failed call bills nothing), counted in error rates "
            "and retries"
        )
    if unknown := kept[USAGE_UNKNOWN]:
        out.append(
            f"{unknown:,} successful call{'s' if unknown != 1 else ''} without token usage: "
            "kept with tokens and cost unknown, counted in requests and latency, left out "
            "of token and cost sums"
        )
    for note in notes:
        if note.field is None:
            out.append(note.text)
        elif note.field not in PRESENT:  # a field the report does not list
            out.append(f"{note.field}: {note.text}")
    return out


_FIX = "fix the rejected lines (each is listed with its reason) and upload again"
_TOKENS = "give token counts as whole numbers ≥ 0 (input_tokens and output_tokens, or " \
          "prompt_tokens and completion_tokens)"  # fmt: skip
# What to do about the reason most rejected rows share, by the field it names first.
_ADVICE = {
    "provider": "add a provider column, or choose a default provider for the upload",
    "model": "add a model column, or choose a default model for the upload",
    "ts": "add a timestamp column (ts or timestamp) of ISO 8601 times, e.g. "
    "2026-11-01T10:00:00Z",
    "input_tokens": _TOKENS, "output_tokens": _TOKENS,
    "status": "give status as ok, error or an HTTP status code",
    "structure": "check the file: one header line, then one record per line, saved as UTF-8",
}  # fmt: skip
# How the readers begin the reason of a record they could not even read.
STRUCTURAL = ("expected ", "malformed CSV", "not valid UTF-8", "invalid JSON")


def what_to_do(rejects: Iterable[Reject]) -> str:
    """What to change so that rows like these are kept, for the reason most of them share."""
    subjects: dict[str, int] = {}
    for reject in rejects:
        subject = "structure" if reject.reason.startswith(STRUCTURAL) else \
            reject.reason.split(":", 1)[0]  # fmt: skip
        subjects[subject] = subjects.get(subject, 0) + 1
    if not subjects:
        return _FIX
    commonest = max(subjects, key=lambda subject: subjects[subject])  # first of a tie
    return _ADVICE.get(commonest, _FIX)


def notes_of(report: ImportReport) -> list[str]:
    """Every note of a report as one line each: the general ones, then the fields'."""
    return [*report.notes, *(f"{f.field}: {f.note}" for f in report.fields if f.note)]
