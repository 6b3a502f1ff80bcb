"""Calls without token usage, as instrumentations write them: failed calls are kept with 0
tokens and $0, successful ones with their tokens and cost unknown (NULL, never 0), and
the upload says how many. The same rules in Python (JSON Lines, the ingestion API) and
in SQL (CSV); the numbers they feed: error rate, latency, token and cost sums."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from netra.analysis import overview, questions
from netra.telemetry import pricing
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import open_store, record, write

GPT_4O = pricing.Rates(input=2.5, cached_input=1.25, cache_write=2.5, output=10.0)
FIELDS = ("ts", "provider", "model", "input_tokens", "output_tokens", "cached_input_tokens",
          "latency_ms", "status", "error_type", "feature", "request_id")  # fmt: skip


def _at(minute: int) -> str:
    return f"2026-11-01T10:{minute:02d}:00Z"


def calls() -> list[dict[str, Any]]:
    """54 calls: 40 measured (2 of them failed with usage), 11 failed without usage, 3
    successful without usage. Latencies 100, 200, … ms in file order."""
    rows: list[dict[str, Any]] = []
    for n in range(54):
        row: dict[str, Any] = {"ts": _at(n), "provider": "openai", "model": "gpt-4o",
                               "latency_ms": 100 * (n + 1), "feature": "chat",
                               "request_id": f"r{n}"}  # fmt: skip
        if n < 40:
            row |= {"input_tokens": 1000, "output_tokens": 100}
            if n in (5, 6):
                row |= {"status": "error", "error_type": "timeout", "output_tokens": 0}
        elif n < 51:  # failed, no usage: by status, by HTTP code, or by an error type alone
            row |= [{"status": "error", "error_type": "rate_limit"}, {"status": "429"},
                    {"error_type": "server_error"}][(n - 40) % 3]  # fmt: skip
        rows.append(row)
    return rows


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


STORED = (
    "SELECT request_id, status, error_type, input_tokens, output_tokens, cached_input_tokens, "
    "cache_write_tokens, reasoning_tokens, latency_ms, usage_recorded, cost_usd "
    "FROM requests WHERE dataset_id = ? ORDER BY ts"
)


async def _import(store: DuckDBStore, tmp_path: Path, fmt: str) -> Any:
    text = as_csv(calls()) if fmt == "records-csv" else as_jsonl(calls())
    path = write(tmp_path, f"calls.{fmt}", text)
    return await store.import_file(fmt, path, fmt)


@pytest.mark.parametrize("fmt", ["records-csv", "records-jsonl"])
async def test_calls_without_usage_are_kept_and_counted(tmp_path: Path, fmt: str) -> None:
    async with open_store(tmp_path) as store:
        result = await _import(store, tmp_path, fmt)
        rows = {r["request_id"]: r for r in await store.fetch(STORED, [fmt])}
    assert (result.rows, result.rejected_rows, result.rejects) == (54, 0, [])
    assert result.report.kept == {"failed_calls_without_usage": 11, "usage_unknown": 3}
    assert result.report.notes[:2] == [
        "11 failed calls without token usage: kept with 0 tokens and $0 (a failed call bills "
        "nothing), counted in error rates and retries",
        "3 successful calls without token usage: kept with tokens and cost unknown, counted "
        "in requests and latency, left out of token and cost sums",
    ]
    failed = [rows[f"r{n}"] for n in range(40, 51)]
    assert {(r["status"], r["input_tokens"], r["output_tokens"], r["cost_usd"],
             r["usage_recorded"]) for r in failed} == {("error", 0, 0, 0.0, False)}  # fmt: skip
    # the error type as given, from the HTTP code, or given without a status
    assert [r["error_type"] for r in failed[:3]] == ["rate_limit", "rate_limit", "server_error"]
    unknown = [rows[f"r{n}"] for n in range(51, 54)]
    assert [(r["status"], r["latency_ms"], r["usage_recorded"]) for r in unknown] == [
        ("ok", 5200.0, False), ("ok", 5300.0, False), ("ok", 5400.0, False)]  # fmt: skip
    counts = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
              "reasoning_tokens", "cost_usd")  # fmt: skip
    for row in unknown:  # unknown, never 0
        assert [row[k] for k in counts] == [None] * 6
    assert rows["r0"]["usage_recorded"] is True
    assert rows["r0"]["cost_usd"] == pytest.approx(GPT_4O.cost_usd(1000, 100))
    assert result.total_cost_usd == pytest.approx(
        38 * GPT_4O.cost_usd(1000, 100) + 2 * GPT_4O.cost_usd(1000, 0)
    )
    assert result.unpriced_models == []  # unknown usage is no unpriced model


async def test_csv_and_jsonl_store_the_same_rows(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        for fmt in ("records-csv", "records-jsonl"):
            await _import(store, tmp_path, fmt)
        stored = [await store.fetch(STORED, [fmt]) for fmt in ("records-csv", "records-jsonl")]
    assert stored[0] == stored[1]


async def test_the_overview_counts_them_in_requests_and_latency_not_in_sums(
    tmp_path: Path,
) -> None:
    async with open_store(tmp_path) as store:
        await _import(store, tmp_path, "records-csv")
        totals = await overview.overview_totals(store, "records-csv")
        [by_model] = (await overview.spend_breakdown(store, "records-csv", "model"))["rows"]
        errors = await questions.error_cost(store, "records-csv")
    spend = 38 * GPT_4O.cost_usd(1000, 100) + 2 * GPT_4O.cost_usd(1000, 0)
    assert totals["requests"] == 54
    assert totals["error_rate"] == round(13 / 54, 4)  # 2 failed with usage, 11 without
    assert totals["p50_latency_ms"] == 2750.0  # all 54 latencies: 100 … 5400 ms
    assert (totals["input_tokens"], totals["output_tokens"]) == (40 * 1000, 38 * 100)
    assert totals["spend_usd"] == pytest.approx(spend)
    assert (totals["usage_unknown_requests"], totals["failed_without_usage_requests"],
            totals["unpriced_requests"], totals["unpriced_models"]) == (3, 11, 0, [])  # fmt: skip
    # a request's cost averages over the 51 requests whose cost is known
    assert by_model["cost_per_request_usd"] == pytest.approx(spend / 51, abs=1e-8)
    assert by_model["error_rate"] == round(13 / 54, 4)
    assert (errors["failed_requests"], errors["failed_without_usage_requests"]) == (13, 11)
    assert errors["unpriced_failed_requests"] == 0
    assert errors["cost_usd"] == pytest.approx(2 * GPT_4O.cost_usd(1000, 0), abs=1e-6)
    by_type = {r["error_type"]: r["failures"] for r in errors["by_error_type"]}
    assert by_type == {"timeout": 2, "rate_limit": 8, "server_error": 3}


async def test_what_still_breaks_a_record_is_rejected_with_its_reason(tmp_path: Path) -> None:
    bad = [
        {"ts": _at(1), "provider": "openai", "model": "gpt-4o", "output_tokens": 5},
        {"ts": _at(2), "provider": "openai", "model": "gpt-4o", "input_tokens": 5},
        {"ts": _at(3), "provider": "openai", "model": "gpt-4o", "cached_input_tokens": 5},
        {"ts": _at(4), "provider": "openai", "model": "gpt-4o", "status": "700"},
        {"ts": _at(5), "provider": "openai", "status": "error"},
        {"provider": "openai", "model": "gpt-4o", "status": "error"},
        {"ts": _at(6), "provider": "openai", "model": "gpt-4o", "status": "error",
         "input_tokens": 10, "cached_input_tokens": 20},
    ]  # fmt: skip
    reasons = [
        "input_tokens: missing, but output_tokens is given (a call whose usage was not "
        "recorded leaves out both)",
        "output_tokens: missing, but input_tokens is given (a call whose usage was not "
        "recorded leaves out both)",
        "cached_input_tokens, cache_write_tokens or reasoning_tokens given without "
        "input_tokens and output_tokens",
        "status: must be 'ok', 'error' or an HTTP status code (got '700')",
        "model: missing, and no default_model was given for this upload",
        "ts: missing (required)",
    ]
    path = write(tmp_path, "bad.csv", as_csv(bad))
    async with open_store(tmp_path) as store:
        api = await store.insert_records("api", bad)
        from_csv = await store.import_file("csv", path)
    assert [r.reason for r in api.rejects][:6] == reasons
    assert api.rejects[6].reason.startswith("cached_input_tokens + cache_write_tokens (20 + 0)")
    assert [r.reason for r in from_csv.rejects][:6] == reasons
    assert [r.line for r in from_csv.rejects] == list(range(2, 9))
    assert (api.rows, from_csv.rows) == (0, 0)


async def test_a_failed_call_with_part_of_its_usage_keeps_it(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        result = await store.insert_records(
            "d", [record(status="503", input_tokens=1000, output_tokens=None)]
        )
        [row] = await store.fetch("SELECT status, error_type, input_tokens, output_tokens, "
                                  "usage_recorded, cost_usd FROM requests")  # fmt: skip
    assert result.report.kept["failed_calls_without_usage"] == 1
    assert row == {"status": "error", "error_type": "server_error", "input_tokens": 1000,
                   "output_tokens": 0, "usage_recorded": False,
                   "cost_usd": pytest.approx(GPT_4O.cost_usd(1000, 0))}  # fmt: skip


async def test_an_http_status_below_400_is_a_success(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.insert_records("d", [record(status=200), record(status=" 301 ")])
        rows = await store.fetch("SELECT status, error_type FROM requests")
    assert rows == [{"status": "ok", "error_type": None}] * 2
