"""Helicone's exports in both of its shapes (API / UI, ClickHouse table), from fixtures
written field for field as Helicone writes them (fixtures/helicone/generate.py): what is
kept and rejected, failures, latency, users, features, Claude's cached tokens, Helicone's
cache hits, cost units, and every cost against genai-prices' own calculation."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from netra.analysis.overview import overview_totals, spend_breakdown
from netra.telemetry.import_report import notes_of
from netra.telemetry.importers import detect_format
from netra.telemetry.importers.helicone import NANO_COST, record
from netra.telemetry.store import ImportResult
from tests.telemetry.helpers import open_store, quantile_cont, round_tenth, write

FIXTURES = Path(__file__).parent / "fixtures" / "helicone"
SHAPES = ["api.json", "ui.csv", "clickhouse.csv", "clickhouse.jsonl"]
CLICKHOUSE = {"clickhouse.csv", "clickhouse.jsonl"}
TRUTH: list[dict[str, Any]] = json.loads((FIXTURES / "truth.json").read_text())
KEPT = {t["request_id"]: t for t in TRUTH if t["kind"] == "kept"}
ROWS = (
    "SELECT request_id, provider, model, input_tokens, output_tokens, cached_input_tokens, "
    "cache_write_tokens, reasoning_tokens, latency_ms, ttft_ms, status, error_type, feature, "
    "end_user, conversation_id, prompt_hash, max_tokens, source_cost_usd, cost_usd, metadata, "
    "usage_recorded FROM requests WHERE dataset_id = 'd' ORDER BY ts"
)


async def _import(tmp_path: Path, name: str) -> tuple[ImportResult, dict[str, dict[str, Any]]]:
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", FIXTURES / name)
        rows = {row["request_id"]: row for row in await store.fetch(ROWS)}
    return result, rows


def _genai_prices_usd(truth: dict[str, Any]) -> float | None:
    """The request's cost as genai-prices computes it, from what the request really used."""
    if truth["input_tokens"] is None:
        return None
    if truth["input_tokens"] == truth["output_tokens"] == 0:
        return 0.0
    usage = Usage(
        input_tokens=truth["input_tokens"],  # genai-prices' input holds the cached tokens too
        cache_read_tokens=truth["cached_input_tokens"],
        cache_write_tokens=truth["cache_write_tokens"],
        output_tokens=truth["output_tokens"],
    )
    price = calc_price(usage, truth["model"], provider_id=truth["provider"],
                       genai_request_timestamp=datetime.fromisoformat(truth["ts"]))  # fmt: skip
    return float(price.total_price)


def test_the_fixtures_are_what_the_script_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("helicone_fixtures", FIXTURES / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.main(tmp_path)
    for name in [*SHAPES, "truth.json"]:
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name
    assert len(TRUTH) >= 40


@pytest.mark.parametrize("name", SHAPES)
async def test_both_shapes_are_recognised_and_counted(tmp_path: Path, name: str) -> None:
    assert detect_format(FIXTURES / name) == "helicone"
    result, rows = await _import(tmp_path, name)
    assert (result.format, result.rows, result.rejected_rows) == ("helicone", 44, 2)
    assert set(rows) == set(KEPT)
    reasons = [r.reason for r in result.rejects]
    assert reasons[0] == "ts: not an ISO-8601 timestamp (got 'yesterday')"
    assert reasons[1].startswith("output_tokens: must be a whole number ≥ 0 (got ")
    # every data row is kept, rejected with its line, or (the tool log) no LLM call at all
    skipped = [t for t in TRUTH if t["kind"] == "skipped"]
    assert result.rows + result.rejected_rows + len(skipped) == len(TRUTH)
    lines = (FIXTURES / name).read_text().splitlines()
    broken = [t["request_id"] for t in TRUTH if t["kind"] == "rejected"]
    assert [broken_id in _item_at(lines, r.line) for r, broken_id in
            zip(result.rejects, broken, strict=True)] == [True, True]  # fmt: skip


def _item_at(lines: list[str], line: int) -> str:
    """The text of the item that starts on `line`: its line, or a pretty-printed object."""
    if lines[line - 1].strip() != "{":
        return lines[line - 1]
    end = next(i for i in range(line, len(lines)) if lines[i].strip() in ("}", "},"))
    return "\n".join(lines[line - 1 : end + 1])


@pytest.mark.parametrize("name", SHAPES)
async def test_every_field_as_the_record_means_it(tmp_path: Path, name: str) -> None:
    _, rows = await _import(tmp_path, name)
    for request_id, truth in KEPT.items():
        row = rows[request_id]
        assert (row["provider"], row["status"]) == (truth["provider"], truth["status"]), truth
        for field in ("input_tokens", "output_tokens", "cached_input_tokens",
                      "cache_write_tokens", "reasoning_tokens", "end_user", "feature",
                      "conversation_id", "usage_recorded", "latency_ms"):  # fmt: skip
            assert row[field] == truth[field], (name, field, truth)
    errors = {rows[t]["error_type"] for t in KEPT if KEPT[t]["status"] == "error"}
    assert errors == {"rate_limit", "server_error", "http_400", "cancelled"}
    codes = {KEPT[t]["http_status"]: rows[t]["error_type"] for t in KEPT}
    assert (codes[429], codes[500], codes[400], codes[-3]) == (
        "rate_limit", "server_error", "http_400", "cancelled")  # fmt: skip


@pytest.mark.parametrize("name", SHAPES)
async def test_every_cost_matches_genai_prices(tmp_path: Path, name: str) -> None:
    _, rows = await _import(tmp_path, name)
    for request_id, truth in KEPT.items():
        expected, cost = _genai_prices_usd(truth), rows[request_id]["cost_usd"]
        if expected is None:
            assert cost is None, truth
        else:
            assert cost is not None and abs(cost - expected) <= 0.005 * expected + 1e-12, (
                name, truth, cost, expected)  # fmt: skip


@pytest.mark.parametrize("name", SHAPES)
async def test_the_source_cost_is_read_in_usd_in_both_shapes(tmp_path: Path, name: str) -> None:
    result, rows = await _import(tmp_path, name)
    for request_id, truth in KEPT.items():
        source = rows[request_id]["source_cost_usd"]
        if truth["cache_hit_of"] is not None:
            assert source == 0  # what a hit cost at the provider
        elif truth["input_tokens"] is None:
            assert source is None  # Helicone's 0 there means "could not price"
        else:
            assert source == pytest.approx(truth["helicone_cost_usd"], rel=1e-9, abs=1e-12)
    fields = {f.field: f.note for f in result.report.fields}
    if name in CLICKHOUSE:  # billionths of a dollar in the table, said so in the report
        assert fields["cost_usd"] == NANO_COST.text
    else:
        assert fields["cost_usd"] is None


@pytest.mark.parametrize("name", ["api.json", "clickhouse.csv"])
async def test_claude_on_bedrock_counts_its_cached_tokens_once(tmp_path: Path, name: str) -> None:
    _, rows = await _import(tmp_path, name)
    bedrock = [t for t in KEPT.values() if t["provider"] == "aws" and t["cached_input_tokens"]]
    assert len(bedrock) >= 3
    logged = {}
    for line in (FIXTURES / "clickhouse.jsonl").read_text().splitlines():
        item = json.loads(line)
        logged[item["request_id"]] = item
    for truth in bedrock:
        row, helicone = rows[truth["request_id"]], logged[truth["request_id"]]
        # Helicone's prompt_tokens for Claude leaves the cache out; the record's input has it
        prompt, read = int(helicone["prompt_tokens"]), int(helicone["prompt_cache_read_tokens"])
        assert row["cached_input_tokens"] == read > prompt
        assert row["input_tokens"] == prompt + read + int(helicone["prompt_cache_write_tokens"])
        assert row["input_tokens"] == truth["input_tokens"]


@pytest.mark.parametrize("name", SHAPES)
async def test_helicone_cache_hits_are_no_provider_spend(tmp_path: Path, name: str) -> None:
    result, rows = await _import(tmp_path, name)
    hits = [t for t in KEPT.values() if t["cache_hit_of"] is not None]
    assert len(hits) == 4
    for truth in hits:
        row = rows[truth["request_id"]]
        metadata = json.loads(row["metadata"])
        assert (row["status"], row["input_tokens"], row["output_tokens"], row["cost_usd"]) == (
            "ok", 0, 0, 0)  # fmt: skip
        assert metadata["helicone_cache_hit"] is True
        assert metadata["cache_reference_id"] == truth["cache_hit_of"]
        original = KEPT[truth["cache_hit_of"]]
        if "logged_cost_usd" in metadata:  # older Helicone logged the original's cost again
            assert metadata["logged_cost_usd"] == pytest.approx(original["helicone_cost_usd"])
            assert metadata["logged_completion_tokens"] > 0
        if name != "ui.csv":  # the same prompt: a response cache's repeat, at $0
            assert row["prompt_hash"] == rows[truth["cache_hit_of"]]["prompt_hash"] is not None
    spend = sum(r["cost_usd"] or 0 for r in rows.values())
    billed = sum(_genai_prices_usd(t) or 0 for t in KEPT.values() if t["cache_hit_of"] is None)
    assert spend == pytest.approx(billed, rel=0.005)
    assert any(n.startswith("4 responses served from Helicone's cache") for n in
               result.report.notes)  # fmt: skip


@pytest.mark.parametrize("name", SHAPES)
async def test_error_rate_latency_users_and_features(tmp_path: Path, name: str) -> None:
    async with open_store(tmp_path) as store:
        await store.import_file("d", FIXTURES / name)
        totals = await overview_totals(store, "d")
        users = await spend_breakdown(store, "d", "end_user")
        features = await spend_breakdown(store, "d", "feature")
    kept = list(KEPT.values())
    failed = sum(t["status"] == "error" for t in kept)
    assert (totals["requests"], failed) == (44, 8)
    assert totals["error_rate"] == round(failed / len(kept), 4)
    latencies = [float(t["latency_ms"]) for t in kept]
    assert totals["p50_latency_ms"] == round_tenth(quantile_cont(latencies, 0.5))
    assert totals["p95_latency_ms"] == round_tenth(quantile_cont(latencies, 0.95))
    assert totals["failed_without_usage_requests"] == 7
    assert totals["usage_unknown_requests"] == 1
    assert {r["key"] for r in users["rows"]} == {t["end_user"] or "(none)" for t in kept}
    assert {r["key"] for r in features["rows"]} == {t["feature"] or "(none)" for t in kept}
    assert {r["key"] for r in features["rows"]} >= {"support-chat", "summarize", "classify",
                                                   "search"}  # fmt: skip


@pytest.mark.parametrize("name", SHAPES)
async def test_the_upload_report(tmp_path: Path, name: str) -> None:
    result, rows = await _import(tmp_path, name)
    report = result.report
    fields = {f.field: f for f in report.fields}
    assert report.kept == {"failed_calls_without_usage": 7, "usage_unknown": 1}
    notes = notes_of(report)
    assert notes[0].startswith("7 failed calls without token usage")
    assert notes[1].startswith("1 successful call without token usage")
    assert "1 Helicone log of tools or vector databases, not LLM calls: left out" in notes
    assert fields["cached_input_tokens"].note is not None
    assert "Claude" in fields["cached_input_tokens"].note
    assert fields["conversation_id"].present_pct > 0 and fields["feature"].present_pct > 0
    assert fields["end_user"].note is None and fields["latency_ms"].present_pct == 100.0
    assert fields["prefix_hash"].note is not None and "Helicone" in fields["prefix_hash"].note
    if name == "ui.csv":  # no request bodies in the UI's CSV
        assert fields["prompt_hash"].note is not None and "request bodies" in fields[
            "prompt_hash"].note  # fmt: skip
    else:
        assert fields["prompt_hash"].present_pct == 100.0
    if name == "api.json":
        assert fields["max_tokens"].present_pct > 0
    assert all(len(n) < 400 for n in notes)


HELICONE_EXPORT_CSV = (
    # @helicone/export's CSV: the API's names (its `latency` column is always empty) and a
    # JSON cell quoted twice over
    "response_id,response_created_at,response_status,request_created_at,request_body,"
    "request_properties,request_user_id,model,prompt_tokens,completion_tokens,latency,cost\n"
    '"r1","2025-09-01T10:00:01.250Z","200","2025-09-01T10:00:00.000Z","",'
    '"{""""feature"""":""""triage""""}","u1","gpt-4o-mini","1200","80","","0.000228"\n'
    '"r2","2025-09-01T10:01:00.300Z","429","2025-09-01T10:01:00.000Z","",'
    '"{}","u2","claude-sonnet-4-20250514","0","0","","0"\n'
)


async def test_the_helicone_export_tools_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "output.csv", HELICONE_EXPORT_CSV)
    assert detect_format(path) == "helicone"
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        rows = await store.fetch(ROWS)
    assert (result.rows, result.rejected_rows) == (2, 0)
    ok, limited = rows
    assert (ok["feature"], ok["end_user"], ok["latency_ms"]) == ("triage", "u1", 1250)
    assert (ok["input_tokens"], ok["source_cost_usd"]) == (1200, 0.000228)  # API shape: USD
    assert (ok["provider"], limited["provider"]) == ("openai", "anthropic")  # from the model
    assert (limited["status"], limited["error_type"], limited["usage_recorded"]) == (
        "error", "rate_limit", False)  # fmt: skip


def _mapped(**fields: Any) -> dict[str, Any]:
    base = {"request_id": "x", "request_created_at": "2025-09-01 10:00:00.000", "status": 200,
            "prompt_tokens": 1000, "completion_tokens": 50, "prompt_cache_read_tokens": 400,
            "prompt_cache_write_tokens": 0}  # fmt: skip
    return record({**base, **fields})


@pytest.mark.parametrize(
    ("provider", "model", "input_tokens"),
    [
        ("ANTHROPIC", "claude-3-5-haiku-20241022", 1400),
        ("AWS", "anthropic.claude-3-5-haiku-20241022-v1:0", 1400),  # Claude on Bedrock
        ("bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", 1400),
        ("GOOGLE", "claude-sonnet-4@20250514", 1400),  # Claude on Vertex
        ("OPENAI", "gpt-4o", 1000),
        ("AZURE", "gpt-4o", 1000),
        ("OPENROUTER", "anthropic/claude-3.5-sonnet", 1000),  # OpenAI-style usage
        ("GOOGLE", "gemini-2.0-flash", 1000),
        ("CUSTOM", "claude-3-5-haiku-20241022", 1400),  # the catalogue knows it as Anthropic's
    ],
)
def test_cached_tokens_are_counted_by_provider_family(
    provider: str, model: str, input_tokens: int
) -> None:
    assert _mapped(provider=provider, model=model)["input_tokens"] == input_tokens


def test_helicones_usage_processor_leaves_cache_and_reasoning_out() -> None:
    gateway = _mapped(provider="openai", model="o4-mini", request_referrer="ai-gateway",
                      reasoning_tokens=300)  # fmt: skip
    assert (gateway["input_tokens"], gateway["output_tokens"]) == (1400, 350)
    proxied = _mapped(provider="OPENAI", model="o4-mini", reasoning_tokens="0")
    assert (proxied["input_tokens"], proxied["output_tokens"]) == (1000, 50)


def test_cost_units_and_statuses() -> None:
    clickhouse = _mapped(provider="OPENAI", model="gpt-4o", cost="3100000")
    api = _mapped(provider="OPENAI", model="gpt-4o", response_status=200, cost=0.0031)
    already_divided = _mapped(provider="OPENAI", model="gpt-4o", cost="0.0031")
    assert clickhouse["cost_usd"] == api["cost_usd"] == float(already_divided["cost_usd"]) == 0.0031
    assert _mapped(status="\\N", model="gpt-4o")["status"] == "ok"
    assert (_mapped(status=-3)["status"], _mapped(status=-3)["error_type"]) == (
        "error", "cancelled")  # fmt: skip
    assert _mapped(status=0)["error_type"] == "no_response"
    assert _mapped(status=503)["error_type"] == "server_error"


def test_properties_in_every_form() -> None:
    forms = [
        {"properties": "{'feature':'triage','Helicone-Session-Id':'s\\'1'}"},  # ClickHouse map
        {"request_properties": {"Feature": "triage", "helicone-session-id": "s'1"}},
        {"request_properties": '{"feature": "triage", "Helicone-Session-Id": "s\'1"}'},
        {"properties.feature": "triage", "properties.Helicone-Session-Id": "s'1"},
    ]
    for form in forms:
        mapped = _mapped(model="gpt-4o", **form)
        assert (mapped["feature"], mapped["conversation_id"]) == ("triage", "s'1"), form


@pytest.mark.parametrize("model", ["vector_db", "tool:web_search", "assistant-polling"])
async def test_logs_that_are_no_llm_call_are_no_rows(tmp_path: Path, model: str) -> None:
    content = ("request_created_at,status,model,provider,prompt_tokens,completion_tokens\n"
               f"2025-09-01 10:00:00,200,{model},CUSTOM,0,0\n"
               "2025-09-01 10:00:01,200,gpt-4o,OPENAI,10,2\n")  # fmt: skip
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", write(tmp_path, "h.csv", content))
    assert (result.rows, result.rejected_rows) == (1, 0)
    assert result.report.notes[-1].endswith("not LLM calls: left out")
