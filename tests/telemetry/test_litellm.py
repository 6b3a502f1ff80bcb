"""LiteLLM_SpendLogs exports on a day of proxy traffic written as LiteLLM writes it (the
table as CSV, the /spend/logs/v2 API as JSON; fixtures/litellm/make_fixture.py): rows kept
and rejected, failures, end users, the priceable model behind deployments, cache tokens,
and every row's cost against genai-prices, computed here from the fixture's truth."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from netra.analysis import overview
from netra.telemetry.import_report import notes_of
from netra.telemetry.importers import detect_format
from netra.telemetry.importers._base import NOTES
from netra.telemetry.importers.litellm_spendlogs import IMPORTER, record
from netra.telemetry.schema import parse_record
from netra.telemetry.store import ImportResult
from tests.telemetry.helpers import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "litellm"
FORMS = ("spendlogs.csv", "spendlogs.json")
TRUTH: dict[str, dict[str, Any]] = json.loads((FIXTURES / "truth.json").read_text())
KEPT = {request_id for request_id, truth in TRUTH.items() if truth["kept"]}
FAILED = {request_id for request_id in KEPT if TRUTH[request_id]["status"] == "error"}
ROWS = "SELECT * FROM requests WHERE dataset_id = ? ORDER BY request_id"


def _raw() -> dict[str, dict[str, Any]]:
    """The JSON form's rows as LiteLLM wrote them, by request_id."""
    page = json.loads((FIXTURES / "spendlogs.json").read_text())
    return {row["request_id"]: row for row in page["data"]}


RAW = _raw()


async def _import(tmp_path: Path, name: str) -> tuple[ImportResult, dict[str, dict[str, Any]]]:
    async with open_store(tmp_path) as store:
        result = await store.import_file(name, FIXTURES / name)
        rows = await store.fetch(ROWS, [name])
    return result, {row["request_id"]: row for row in rows}


def _expected_cost(truth: dict[str, Any]) -> float:
    usage = Usage(
        input_tokens=truth["input_tokens"],
        cache_read_tokens=truth["cache_read_tokens"],
        cache_write_tokens=truth["cache_write_tokens"],
        output_tokens=truth["output_tokens"],
    )
    price = calc_price(usage, truth["model"], provider_id=truth["provider"],
                       genai_request_timestamp=datetime.fromisoformat(truth["ts"]))  # fmt: skip
    return float(price.total_price)


def test_the_fixture_is_what_its_script_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("make_fixture", FIXTURES / "make_fixture.py")
    assert spec is not None and spec.loader is not None
    script: ModuleType = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # its dataclasses look it up
    spec.loader.exec_module(script)
    for name, text in script.build().items():
        assert (FIXTURES / name).read_text(encoding="utf-8") == text, name
    assert len(RAW) >= 60


@pytest.mark.parametrize("name", FORMS)
def test_auto_detects_both_forms(name: str) -> None:
    assert detect_format(FIXTURES / name) == "litellm-spendlogs"


@pytest.mark.parametrize("name", FORMS)
async def test_rows_kept_and_rejected(tmp_path: Path, name: str) -> None:
    result, rows = await _import(tmp_path, name)
    assert result.format == "litellm-spendlogs"
    assert (result.rows, result.rejected_rows) == (len(KEPT), 1) == (66, 1)
    assert set(rows) == KEPT
    [reject] = result.rejects  # an alias no deployment serves and no catalogue knows
    assert reject.reason.startswith("provider: missing and not recognisable from model")
    # The MCP tool call is no LLM request: neither kept nor rejected, and said so.
    assert result.rows + result.rejected_rows == len(RAW) - 1
    assert any(n.startswith("MCP tool calls") for n in result.report.notes)


async def test_failed_calls_are_kept_with_their_error_type(tmp_path: Path) -> None:
    result, rows = await _import(tmp_path, "spendlogs.csv")
    failed = [rows[request_id] for request_id in FAILED]
    assert len(failed) == 8
    assert {(r["status"], r["input_tokens"], r["output_tokens"], r["cost_usd"],
             r["usage_recorded"], r["latency_ms"]) for r in failed} == {
        ("error", 0, 0, 0.0, False, None)}  # fmt: skip
    assert sorted(r["error_type"] for r in failed) == [
        "AuthenticationError", "ContextWindowExceededError", "rate_limit", "rate_limit",
        "rate_limit", "server_error", "server_error", "timeout"]  # fmt: skip
    assert result.report.kept == {"failed_calls_without_usage": 8, "usage_unknown": 1}
    async with open_store(tmp_path) as store:
        totals = await overview.overview_totals(store, "spendlogs.csv")
    assert totals["requests"] == 66
    assert totals["error_rate"] == round(8 / 66, 4)
    assert totals["failed_without_usage_requests"] == 8


async def test_end_users_come_from_end_user_only(tmp_path: Path) -> None:
    _, rows = await _import(tmp_path, "spendlogs.csv")
    assert {r["end_user"] for r in rows.values()} - {None} == {
        RAW[request_id]["end_user"] for request_id in KEPT} - {""}  # fmt: skip
    for request_id, row in rows.items():
        assert row["end_user"] == (RAW[request_id]["end_user"] or None)
    owners = [json.loads(r["metadata"])["user_api_key_user_id"] for r in rows.values()]
    assert owners.count("default_user_id") >= 15  # the key's owner, kept as such


async def test_azure_deployments_priced_at_the_model_litellm_mapped(tmp_path: Path) -> None:
    result, rows = await _import(tmp_path, "spendlogs.csv")
    azure = {k: r for k, r in rows.items() if r["provider"] == "azure"}
    assert len(azure) == 17
    for request_id, row in azure.items():
        raw = RAW[request_id]
        mapping = raw["metadata"].get("model_map_information") or {}
        if mapping.get("model_map_key"):
            assert row["model"] == TRUTH[request_id]["model"] == "gpt-4o-2024-08-06"
        else:  # logged without a pricing key: the model group is the model's own name
            assert row["model"] == raw["model_group"]
        assert json.loads(row["metadata"])["litellm_model"] == raw["model"]
        if row["status"] == "ok":
            assert row["cost_usd"] == pytest.approx(_expected_cost(TRUTH[request_id]), rel=0.005)
    assert "deployment azure/prod-gpt4o-eastus priced as gpt-4o-2024-08-06, the model LiteLLM " \
           "mapped it to (model_map_key)" in result.report.notes  # fmt: skip
    assert result.unpriced_models == ["llama-3.1-8b-instruct-awq"]  # self-hosted, never free


async def test_cache_tokens_are_read_with_litellm_counting(tmp_path: Path) -> None:
    _, rows = await _import(tmp_path, "spendlogs.csv")
    counts = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
    recorded = [k for k in KEPT if TRUTH[k]["usage"] in ("recorded", "cache_hit")]
    for request_id in recorded:
        row, truth = rows[request_id], TRUTH[request_id]
        stored = (row["input_tokens"], row["cached_input_tokens"], row["cache_write_tokens"],
                  row["output_tokens"])  # fmt: skip
        assert stored == tuple(truth[c] for c in counts), request_id
    # The cached rows logged without usage_object (the split only in additional_usage_values)
    without = [k for k in recorded if TRUTH[k]["cache_read_tokens"]
               and "usage_object" not in RAW[k]["metadata"]]  # fmt: skip
    assert len(without) >= 5
    conventions = {RAW[k]["prompt_tokens"] - TRUTH[k]["input_tokens"] for k in recorded
                   if TRUTH[k]["provider"] == "anthropic" and TRUTH[k]["cache_read_tokens"]}
    assert len(conventions) > 2  # prompt_tokens logged inclusive, without writes, native


@pytest.mark.parametrize("name", FORMS)
async def test_every_cost_within_half_a_percent_of_genai_prices(tmp_path: Path, name: str) -> None:
    _, rows = await _import(tmp_path, name)
    for request_id, row in rows.items():
        truth = TRUTH[request_id]
        if truth["usage"] == "recorded" and truth["model"] is not None:
            assert row["cost_usd"] == pytest.approx(_expected_cost(truth), rel=0.005), request_id
        elif truth["usage"] == "cache_hit" or truth["status"] == "error":
            assert row["cost_usd"] == 0.0
        else:  # no usage on a successful call, or a model the catalogue does not price
            assert row["cost_usd"] is None
        assert row["source_cost_usd"] == pytest.approx(RAW[request_id]["spend"])


async def test_csv_and_json_store_the_same_rows(tmp_path: Path) -> None:
    stored = []
    for name in FORMS:
        _, rows = await _import(tmp_path, name)
        for row in rows.values():
            kept = json.loads(row.pop("metadata"))
            for key in ("logged_prompt_tokens", "logged_completion_tokens"):  # CSV: text
                if key in kept:
                    kept[key] = int(kept[key])
            row.pop("dataset_id")
            row["metadata"] = kept
        stored.append(rows)
    assert stored[0] == stored[1]


async def test_metadata_keeps_keys_teams_call_type_and_spend_logs_metadata(
    tmp_path: Path,
) -> None:
    _, rows = await _import(tmp_path, "spendlogs.csv")
    batch = [json.loads(r["metadata"]) for r in rows.values() if r["feature"] ==
             "nightly-summaries" and r["status"] == "ok"]  # fmt: skip
    assert len(batch) == 14
    assert {(m["call_type"], m["user_api_key_alias"], m["team_id"], m["user_api_key_team_alias"],
             json.dumps(m["spend_logs_metadata"])) for m in batch} == {
        ("acompletion", "nightly-batch", "t-data", "Data Platform",
         '{"job": "nightly", "run_id": "run-0302"}')}  # fmt: skip
    embedding = next(json.loads(r["metadata"]) for r in rows.values()
                     if r["model"] == "text-embedding-3-small")  # fmt: skip
    assert embedding["call_type"] == "aembedding"
    errors = [json.loads(rows[k]["metadata"])["error_information"] for k in FAILED]
    assert {e["error_class"] for e in errors} >= {"RateLimitError", "Timeout"}
    assert not any(r["feature"] and r["feature"].startswith("User-Agent") for r in rows.values())


async def test_the_upload_report(tmp_path: Path) -> None:
    result, _ = await _import(tmp_path, "spendlogs.json")
    fields = {f.field: f for f in result.report.fields}
    assert fields["end_user"].note is None and 0 < fields["end_user"].present_pct < 100
    assert fields["cached_input_tokens"].present_pct > 30
    assert fields["prompt_hash"].note == IMPORTER.field_notes["prompt_hash"]
    notes = notes_of(result.report)
    assert notes[:2] == [
        "8 failed calls without token usage: kept with 0 tokens and $0 (a failed call bills "
        "nothing), counted in error rates and retries",
        "1 successful call without token usage: kept with tokens and cost unknown, counted "
        "in requests and latency, left out of token and cost sums",
    ]
    expected = (
        "responses LiteLLM served from its own cache (cache_hit) reached no provider",
        "failed calls logged by LiteLLM's failure hook carry no duration",
        "deployment azure/gpt4o-mini-batch priced as gpt-4o-mini, the model LiteLLM mapped "
        "it to (model_group)",
        "some rows' prompt_tokens are smaller than their cache reads",
        "cost unknown for llama-3.1-8b-instruct-awq (hosted_vllm): not in the price catalogue",
    )
    for start in expected:
        assert any(n.startswith(start) for n in notes), start


def _log(**fields: Any) -> dict[str, Any]:
    base = {"request_id": "r", "startTime": "2026-03-02T10:00:00Z",
            "endTime": "2026-03-02T10:00:01Z", "model": "claude-sonnet-4-5",
            "custom_llm_provider": "anthropic", "status": "success", "completion_tokens": 10}
    return {**base, **fields}  # fmt: skip


def _stored(log: dict[str, Any]) -> dict[str, Any]:
    mapped = {k: v for k, v in record(log).items() if k != NOTES}
    return dict(zip(("ts", "provider", "model", "input_tokens", "output_tokens", "cached",
                     "written"), parse_record(mapped), strict=False))  # fmt: skip


@pytest.mark.parametrize(
    ("prompt_tokens", "usage", "where"),
    [
        # current LiteLLM: reads and writes in prompt_tokens, the writes named in the details
        (6030, {"prompt_tokens_details": {"cached_tokens": 5000, "cache_creation_tokens": 1000},
                "cache_read_input_tokens": 5000, "cache_creation_input_tokens": 1000},
         "usage_object"),
        # versions that counted the reads only; usage_object says which
        (5030, {"prompt_tokens_details": {"cached_tokens": 5000},
                "cache_read_input_tokens": 5000, "cache_creation_input_tokens": 1000},
         "usage_object"),
        # ... and without usage_object: the count cannot hold the writes
        (5030, {"cache_read_input_tokens": 5000, "cache_creation_input_tokens": 1000},
         "additional_usage_values"),
        # early versions: Anthropic's native count
        (30, {"cache_read_input_tokens": 5000, "cache_creation_input_tokens": 1000},
         "additional_usage_values"),
    ],
)  # fmt: skip
def test_anthropic_prompt_counts_of_each_litellm_generation(
    prompt_tokens: int, usage: dict[str, Any], where: str
) -> None:
    stored = _stored(_log(prompt_tokens=prompt_tokens, metadata={where: usage}))
    assert (stored["input_tokens"], stored["cached"], stored["written"]) == (6030, 5000, 1000)


def test_feature_precedence() -> None:
    tags = ["User-Agent: OpenAI", "User-Agent: OpenAI/Python 1.99.1"]
    cases = [
        ({"spend_logs_metadata": {"feature": "triage"}}, [*tags, "feature:other", "x"], "triage"),
        ({"spend_logs_metadata": {"Use_Case": "rerank"}}, ["x"], "rerank"),
        ({"spend_logs_metadata": {"job": "nightly"}}, [*tags, "env:prod", "feature:digest"],
         "digest"),
        ({}, [*tags, "checkout"], "checkout"),
        ({}, tags, None),
    ]  # fmt: skip
    for metadata, request_tags, feature in cases:
        mapped = record(_log(prompt_tokens=10, metadata=metadata, request_tags=request_tags))
        assert mapped["feature"] == feature


def test_request_bodies_give_prompt_hashes_and_max_tokens() -> None:
    system = {"role": "system", "content": "You are the support bot."}
    tools = [{"type": "function", "function": {"name": "lookup_order"}}]

    def body(question: str) -> dict[str, Any]:
        return {"model": "gpt-4o", "max_tokens": 512, "tools": tools,
                "messages": [system, {"role": "user", "content": question}]}  # fmt: skip

    one, again, other = (
        record(_log(prompt_tokens=10, proxy_server_request=json.dumps(body(q))))
        for q in ("Where is my order?", "Where is my order?", "Cancel it.")
    )
    assert one["prompt_hash"] == again["prompt_hash"] != other["prompt_hash"]
    assert one["prefix_hash"] == other["prefix_hash"] is not None
    assert one["max_tokens"] == 512
    assert record(_log(prompt_tokens=10, proxy_server_request="{}"))["prompt_hash"] is None


def test_zero_tokens_are_no_usage() -> None:
    # LiteLLM writes 0 where it had no usage: unknown on success, 0 and $0 on failure.
    ok = record(_log(prompt_tokens=0, completion_tokens=0))
    assert (ok["input_tokens"], ok["output_tokens"]) == (None, None)
    failed = parse_record(record(_log(prompt_tokens=0, completion_tokens=0, status="failure")))
    assert NOTES not in record(_log(prompt_tokens=0, completion_tokens=0, status="failure"))
    assert (failed[3], failed[4], failed[-1]) == (0, 0, False)  # usage_recorded false
