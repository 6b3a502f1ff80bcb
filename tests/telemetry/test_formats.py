"""Each export format on small hand-written files: mapping, cached-token normalisation,
every rejection with its line, and rows + rejected_rows = the file's data rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netra.telemetry.importers import detect_format
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import open_store, write

ROWS = (
    "SELECT provider, model, input_tokens, output_tokens, cached_input_tokens, "
    "cache_write_tokens, reasoning_tokens, latency_ms, ttft_ms, status, error_type, feature, "
    "end_user, conversation_id, request_id, max_tokens, source_cost_usd, cost_usd, metadata, "
    "strftime(ts, '%Y-%m-%dT%H:%M:%S.%f') AS ts FROM requests ORDER BY ts, request_id"
)


async def _rows(store: DuckDBStore) -> list[dict[str, Any]]:
    return await store.fetch(ROWS)


def _attr(key: str, value: Any) -> dict[str, Any]:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def _span(span_id: str, start_s: int, attrs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    start = 1_793_527_200 + start_s  # 2026-11-01T10:00:00Z
    return {
        "traceId": "t" * 32, "spanId": span_id, "name": "chat",
        "startTimeUnixNano": str(start * 10**9),
        "endTimeUnixNano": str(start * 10**9 + 1_250_000_000),
        "attributes": [_attr(k, v) for k, v in attrs.items()], **extra,
    }  # fmt: skip


def _export(*spans: dict[str, Any]) -> dict[str, Any]:
    resource = {"attributes": [_attr("service.name", "checkout")]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": list(spans)}]}]}


OPENAI_SPAN = _span("a1", 0, {
    "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.prompt_tokens": 1000,
    "gen_ai.usage.completion_tokens": 100, "gen_ai.usage.cache_read.input_tokens": 200,
    "gen_ai.request.max_tokens": 256, "gen_ai.conversation.id": "c1",
})  # fmt: skip
ANTHROPIC_SPAN = _span("a2", 1, {
    "gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 20, "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_creation.input_tokens": 500, "error.type": "timeout",
}, status={"code": 2, "message": "deadline exceeded"})  # fmt: skip
HTTP_SPAN = _span("h1", 2, {"http.request.method": "POST"})
AGENT_SPAN = _span("g1", 3, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "x"})
NO_USAGE_SPAN = _span("b1", 4, {"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                                "gen_ai.request.model": "gpt-4o"})  # fmt: skip
BAD_TIME_SPAN = {**_span("b2", 5, {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
                                   "gen_ai.usage.input_tokens": 1,
                                   "gen_ai.usage.output_tokens": 1}),
                 "startTimeUnixNano": "soon"}  # fmt: skip


async def test_otel_jsonl_maps_genai_spans_and_skips_other_spans(tmp_path: Path) -> None:
    lines = [
        json.dumps(_export(OPENAI_SPAN, HTTP_SPAN, AGENT_SPAN)),
        json.dumps(_export(ANTHROPIC_SPAN, NO_USAGE_SPAN)),
        '{"resourceSpans": [',
        json.dumps(_export(BAD_TIME_SPAN)),
    ]
    path = write(tmp_path, "spans.jsonl", "\r\n".join(lines) + "\r\n")
    assert detect_format(path) == "otel-genai"
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        rows = await _rows(store)
    assert (result.format, result.rows, result.rejected_rows) == ("otel-genai", 3, 2)
    assert [(r.line, r.reason) for r in result.rejects] == [
        (3, result.rejects[0].reason),
        (4, "span b2: startTimeUnixNano: missing or not a number of nanoseconds (got 'soon')"),
    ]
    assert result.rejects[0].reason.startswith("invalid JSON")
    openai, anthropic, unmeasured = rows
    # A successful chat span without usage is kept, its tokens and cost unknown.
    assert (unmeasured["status"], unmeasured["input_tokens"], unmeasured["output_tokens"],
            unmeasured["cost_usd"]) == ("ok", None, None, None)  # fmt: skip
    assert result.report.kept == {"failed_calls_without_usage": 0, "usage_unknown": 1}
    assert openai["ts"] == "2026-11-01T10:00:00.000000"
    assert (openai["provider"], openai["model"]) == ("openai", "gpt-4o-2024-08-06")
    # OpenAI's prompt count already holds its cached tokens.
    assert (openai["input_tokens"], openai["cached_input_tokens"]) == (1000, 200)
    assert (openai["output_tokens"], openai["max_tokens"], openai["latency_ms"]) == (100, 256, 1250)
    assert (openai["feature"], openai["conversation_id"], openai["status"]) == (
        "checkout", "c1", "ok")  # fmt: skip
    # A native Anthropic count leaves cached tokens out: the record's input adds them.
    assert (anthropic["input_tokens"], anthropic["cached_input_tokens"],
            anthropic["cache_write_tokens"]) == (1600, 1000, 500)  # fmt: skip
    assert (anthropic["status"], anthropic["error_type"]) == ("error", "timeout")


async def test_otel_single_pretty_printed_document(tmp_path: Path) -> None:
    document = _export(OPENAI_SPAN, ANTHROPIC_SPAN)
    document["resourceSpans"].append(_export(NO_USAGE_SPAN)["resourceSpans"][0])
    document["resourceSpans"].append(_export(BAD_TIME_SPAN)["resourceSpans"][0])
    path = write(tmp_path, "spans.json", "\ufeff" + json.dumps(document, indent=2))
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path, "otel-genai")
    assert (result.rows, result.rejected_rows) == (3, 1)  # the span without usage is kept
    text = path.read_text(encoding="utf-8-sig").splitlines()
    line = result.rejects[0].line
    assert text[line - 1].strip() == "{" and '"resource"' in text[line]  # where its entry starts


async def test_otel_embedding_spans_with_and_without_usage(tmp_path: Path) -> None:
    embed = {"gen_ai.operation.name": "embeddings", "gen_ai.system": "openai",
             "gen_ai.request.model": "text-embedding-3-small"}  # fmt: skip
    spans = [_span("e1", 0, {**embed, "gen_ai.usage.input_tokens": 500}),
             _span("e2", 1, embed),
             _span("e3", 2, {**embed, "error.type": "timeout"}, status={"code": 2})]  # fmt: skip
    path = write(tmp_path, "spans.json", json.dumps(_export(*spans)))
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path, "otel-genai")
        rows = await store.fetch("SELECT input_tokens, output_tokens, status, cost_usd IS NULL "
                                 "AS unknown_cost FROM requests ORDER BY ts")  # fmt: skip
    assert (result.rows, result.rejected_rows) == (3, 0)
    assert rows == [
        {"input_tokens": 500, "output_tokens": 0, "status": "ok", "unknown_cost": False},
        {"input_tokens": None, "output_tokens": None, "status": "ok", "unknown_cost": True},
        {"input_tokens": 0, "output_tokens": 0, "status": "error", "unknown_cost": False},
    ]
    assert result.report.kept == {"failed_calls_without_usage": 1, "usage_unknown": 1}


LITELLM_HEADER = (
    "request_id,call_type,spend,total_tokens,prompt_tokens,completion_tokens,startTime,"
    "endTime,completionStartTime,model,model_group,custom_llm_provider,user,metadata,"
    "cache_hit,request_tags,end_user,status,request_duration_ms\r\n"
)


def _csv_json(value: Any) -> str:
    return '"' + json.dumps(value).replace('"', '""') + '"'


async def test_litellm_spendlogs_csv(tmp_path: Path) -> None:
    usage = {"usage_object": {"prompt_tokens_details": {"cached_tokens": 400}}}
    failure = {"error_information": {"error_code": "429", "error_class": "RateLimitError"}}
    content = "\ufeff" + LITELLM_HEADER + "".join([
        "r1,acompletion,0.0021,1100,1000,100,2026-11-01T10:00:00.000Z,2026-11-01T10:00:01.500Z,"
        f"2026-11-01T10:00:00.300Z,gpt-4o,gpt-4o,openai,u1,{_csv_json(usage)},False,"
        f"{_csv_json(['triage', 'prod'])},,success,\r\n",
        "r2,acompletion,0,120,100,20,2026-11-01T10:01:00Z,2026-11-01T10:01:02Z,,"
        "anthropic/claude-sonnet-4-5,claude,,u2,{},False,[],eu-7,failure,2000\r\n",
        "r3,acompletion,0,0,900,90,2026-11-01T10:02:00Z,2026-11-01T10:02:00.01Z,,gpt-4o,gpt-4o,"
        "openai,u1,{},True,[],,success,10\r\n",
        "r4,acompletion,0,0,abc,1,2026-11-01T10:03:00Z,,,gpt-4o,gpt-4o,openai,u1,{},False,[],,"
        "success,\r\n",
        f"r5,acompletion,0,0,5,1,2026-11-01T10:04:00Z,,,gpt-4o,gpt-4o,openai,u1,"
        f"{_csv_json(failure)},False,[],,failure,\r\n",
    ])  # fmt: skip
    path = write(tmp_path, "spendlogs.csv", content)
    assert detect_format(path) == "litellm-spendlogs"
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        rows = {r["request_id"]: r for r in await _rows(store)}
    assert (result.rows, result.rejected_rows) == (4, 1)
    assert result.rejects[0].line == 5
    assert result.rejects[0].reason.startswith("input_tokens: must be a whole number")
    r1, r2, r3, r5 = rows["r1"], rows["r2"], rows["r3"], rows["r5"]
    assert (r1["input_tokens"], r1["cached_input_tokens"], r1["output_tokens"]) == (1000, 400, 100)
    assert (r1["latency_ms"], r1["ttft_ms"], r1["feature"]) == (1500, 300, "triage")
    # `user` is the API key's owner, not the end user: only `end_user` says who that is.
    assert r1["source_cost_usd"] == 0.0021 and r1["end_user"] is None
    assert (r2["provider"], r2["model"]) == ("anthropic", "claude-sonnet-4-5")
    assert r2["end_user"] == "eu-7"
    assert (r2["status"], r2["latency_ms"]) == ("error", 2000)
    # A LiteLLM cache hit reached no provider: no tokens billed, the logged ones kept aside.
    assert (r3["input_tokens"], r3["output_tokens"], r3["cost_usd"]) == (0, 0, 0)
    assert json.loads(r3["metadata"])["logged_prompt_tokens"] == "900"
    assert (r5["status"], r5["error_type"]) == ("error", "rate_limit")


async def test_litellm_spendlogs_json_array(tmp_path: Path) -> None:
    logs = [
        {"request_id": "j1", "spend": 0.01, "prompt_tokens": 10, "completion_tokens": 2,
         "startTime": "2026-11-01T10:00:00Z", "endTime": "2026-11-01T10:00:01Z",
         "model": "gpt-4o-mini", "custom_llm_provider": "openai", "status": "success"},
        {"request_id": "j2", "spend": 0.01, "prompt_tokens": 10, "completion_tokens": -2,
         "startTime": "2026-11-01T10:00:00Z", "model": "gpt-4o-mini",
         "custom_llm_provider": "openai"},
    ]  # fmt: skip
    path = write(tmp_path, "logs.json", json.dumps(logs, indent=1))
    assert detect_format(path) == "litellm-spendlogs"
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
    assert (result.rows, result.rejected_rows) == (1, 1)
    assert result.rejects[0].line == 13  # the second object's opening line
    assert result.rejects[0].reason.startswith("output_tokens: must be a whole number ≥ 0")


LANGFUSE = {
    "data": [
        {"id": "g1", "traceId": "t1", "type": "GENERATION", "name": "summarise",
         "startTime": "2026-11-01T10:00:00.000Z", "endTime": "2026-11-01T10:00:02.000Z",
         "completionStartTime": "2026-11-01T10:00:00.500Z", "model": "gpt-4o",
         "modelParameters": {"max_tokens": "512"}, "level": "DEFAULT",
         "usageDetails": {"input": 700, "input_cached_tokens": 300, "output": 40,
                          "output_reasoning_tokens": 10, "total": 1050},
         "costDetails": {"input": 0.002, "output": 0.0005, "total": 0.0025},
         "userId": "ann", "sessionId": "s1"},
        {"id": "g2", "traceId": "t1", "type": "GENERATION", "name": "chat",
         "startTime": "2026-11-01T10:01:00Z", "model": "claude-sonnet-4-5", "level": "ERROR",
         "statusMessage": "overloaded_error: Overloaded",
         "usageDetails": {"input": 50, "cache_read_input_tokens": 900,
                          "cache_creation_input_tokens": 50, "output": 5}},
        {"id": "s1", "traceId": "t1", "type": "SPAN", "name": "retrieval",
         "startTime": "2026-11-01T10:00:00Z"},
        {"id": "g3", "traceId": "t2", "type": "GENERATION", "model": "gpt-4o",
         "usageDetails": {"input": 1, "output": 1}},
        {"id": "g4", "traceId": "t2", "type": "GENERATION", "model": "in-house-llm",
         "startTime": "2026-11-01T10:02:00Z", "usageDetails": {"input": 1, "output": 1}},
        {"id": "g5", "traceId": "t3", "type": "GENERATION", "model": "gpt-4o",
         "startTime": "2026-11-01T10:03:00Z",
         "usageDetails": {"input": 100, "input_cached_tokens": 40, "output": 5, "total": 105}},
    ],
    "meta": {"page": 1, "totalItems": 6},
}  # fmt: skip


async def test_langfuse_observations(tmp_path: Path) -> None:
    path = write(tmp_path, "observations.json", json.dumps(LANGFUSE, indent=2))
    assert detect_format(path) == "langfuse-observations"
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        rows = {r["request_id"]: r for r in await _rows(store)}
    assert (result.rows, result.rejected_rows) == (3, 2)  # the SPAN is no data row
    reasons = [r.reason for r in result.rejects]
    assert reasons[0] == "ts: missing (required)"
    assert reasons[1].startswith("provider: missing and not recognisable from model 'in-house-llm'")
    g1, g2, g5 = rows["g1"], rows["g2"], rows["g5"]
    # Langfuse moves cached tokens out of `input`: the record's input holds them again.
    assert (g1["input_tokens"], g1["cached_input_tokens"]) == (1000, 300)
    assert (g1["output_tokens"], g1["reasoning_tokens"], g1["max_tokens"]) == (50, 10, 512)
    assert (g1["latency_ms"], g1["ttft_ms"], g1["feature"]) == (2000, 500, "summarise")
    assert (g1["end_user"], g1["conversation_id"], g1["source_cost_usd"]) == ("ann", "s1", 0.0025)
    assert (g2["provider"], g2["input_tokens"], g2["cached_input_tokens"],
            g2["cache_write_tokens"]) == ("anthropic", 1000, 900, 50)  # fmt: skip
    assert (g2["status"], g2["error_type"]) == ("error", "server_error")
    # A total of input + output says this source already counted cached tokens in input.
    assert (g5["input_tokens"], g5["cached_input_tokens"]) == (100, 40)


async def test_langfuse_jsonl_with_a_default_provider(tmp_path: Path) -> None:
    lines = [json.dumps(o) for o in LANGFUSE["data"]]
    path = write(tmp_path, "observations.jsonl", "\n".join(lines))
    async with open_store(tmp_path) as store:
        result = await store.import_file(
            "d", path, "langfuse-observations", default_provider="openai"
        )
    assert (result.rows, result.rejected_rows) == (4, 1)
    assert [r.line for r in result.rejects] == [4]
    # The default names the provider of rows whose model the catalogue prices there;
    # Claude's rows go to the vendor the catalogue knows it under, so they are priced.
    assert result.unpriced_models == ["in-house-llm"]


HELICONE_HEADER = (
    "request_created_at,latency,time_to_first_token,status,model,provider,prompt_tokens,"
    "completion_tokens,prompt_cache_read_tokens,prompt_cache_write_tokens,cost,user_id,"
    "properties\r\n"
)


async def test_helicone_csv(tmp_path: Path) -> None:
    props = _csv_json({"Helicone-Property-Feature": "search"})
    content = HELICONE_HEADER + "".join([
        f"2026-11-01 10:00:00.1234567,812,95,200,gpt-4o,OPENAI,1000,80,100,0,0.0031,u1,{props}\r\n",
        "2026-11-01 10:01:00,900,,200,claude-sonnet-4-5,ANTHROPIC,50,10,900,50,0.001,u2,{}\r\n",
        "2026-11-01 10:02:00,30,,429,gpt-4o,OPENAI,0,0,0,0,0,u1,{}\r\n",
        "2026-11-01 10:03:00,30,,200,gpt-4o,OPENAI,10,-4,0,0,0,u1,{}\r\n",
        "2026-11-01 10:04:00,30,,200,gpt-4o,OPENAI,10,4,0,0,0,u1\r\n",
    ])  # fmt: skip
    path = write(tmp_path, "helicone.csv", content)
    assert detect_format(path) == "helicone"
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        rows = await _rows(store)
    assert (result.rows, result.rejected_rows) == (3, 2)
    assert [(r.line, r.reason) for r in result.rejects] == [
        (5, "output_tokens: must be a whole number ≥ 0 (got '-4')"),
        (6, "expected 13 fields as in the header, got 12"),
    ]
    openai, anthropic, limited = rows
    assert openai["ts"] == "2026-11-01T10:00:00.123456"
    assert (openai["input_tokens"], openai["cached_input_tokens"], openai["feature"]) == (
        1000, 100, "search")  # fmt: skip
    assert (openai["latency_ms"], openai["ttft_ms"], openai["source_cost_usd"]) == (812, 95, 0.0031)
    # Anthropic's prompt count leaves cache reads and writes out: the record adds them.
    assert (anthropic["provider"], anthropic["input_tokens"]) == ("anthropic", 1000)
    assert (limited["status"], limited["error_type"]) == ("error", "rate_limit")


TRACE = (
    "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
    "2023-11-16 18:15:46.6805900,374,44\r\n"
    "2023-11-16 18:15:50.9951690,\"396\",109\r\n"
    "2023-11-16 18:15:51.0000000,12x,109\r\n"
)


async def test_token_trace_needs_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "trace.csv", TRACE)
    assert detect_format(path) == "token-trace"
    async with open_store(tmp_path) as store:
        refused = await store.import_file("d", path)
        result = await store.import_file(
            "e", path, default_provider="OpenAI", default_model="gpt-4o"
        )
        rows = await store.fetch(
            "SELECT ts, provider, model, input_tokens FROM requests WHERE dataset_id = 'e' "
            "ORDER BY ts"
        )
    assert (refused.rows, refused.rejected_rows) == (0, 3)
    assert {r.reason for r in refused.rejects} == {
        "provider: missing, and no default_provider was given for this upload"
    }
    assert (result.rows, result.rejected_rows) == (2, 1)
    assert result.rejects[0].line == 4
    assert result.rejects[0].reason == "input_tokens: must be a whole number ≥ 0 (got '12x')"
    assert [(r["provider"], r["model"], r["input_tokens"]) for r in rows] == [
        ("openai", "gpt-4o", 374), ("openai", "gpt-4o", 396)]  # fmt: skip
    assert rows[0]["ts"].microsecond == 680590


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"resourceSpans": []}', "otel-genai"),
        ('[{"id": "x", "usageDetails": {}}]', "langfuse-observations"),
        ("request_created_at,model,prompt_tokens\n", "helicone"),
        ("startTime,spend,prompt_tokens,custom_llm_provider\n", "litellm-spendlogs"),
        ("Timestamp,ContextTokens,GeneratedTokens\r\n", "token-trace"),
        ('{"ts": "2026-01-01", "input_tokens": 1}\n', "records-jsonl"),
        ("\ufeffts,input_tokens,output_tokens\n", "records-csv"),
    ],
)
def test_auto_detection(tmp_path: Path, content: str, expected: str) -> None:
    assert detect_format(write(tmp_path, "f", content)) == expected
