"""Langfuse observation exports (fixtures/langfuse/, made by its generate.py field for field
as Langfuse's v1 and v2 APIs write them) through the real DuckDB store: what is kept and
rejected, calls without usage, end users and sessions, features, environments, and every
row's cost against genai-prices' own calculation."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from netra.telemetry.importers import detect_format
from netra.telemetry.importers.langfuse_observations import record
from netra.telemetry.store import ImportResult
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import open_store, write

FIXTURES = Path(__file__).parent / "fixtures" / "langfuse"
V2 = ("observations-v2.json", "observations-v2.jsonl")
V1 = ("observations-v1.json", "observations-v1-legacy.jsonl")
CALLS = ("GENERATION", "EMBEDDING")
ROWS = (
    "SELECT request_id, provider, model, input_tokens, output_tokens, cached_input_tokens, "
    "cache_write_tokens, reasoning_tokens, status, error_type, feature, end_user, "
    "conversation_id, cost_usd, source_cost_usd, usage_recorded, metadata FROM requests"
)


def observations(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / name).read_text()
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines()]
    data: list[dict[str, Any]] = json.loads(text)["data"]
    return data


async def imported(store: DuckDBStore, name: str) -> tuple[ImportResult, dict[str, Any]]:
    result = await store.import_file("d", FIXTURES / name)  # format=auto
    rows = {row["request_id"]: row for row in await store.fetch(ROWS)}
    return result, rows


def line_of(name: str, observation_id: str) -> int:
    """The line an observation starts on (its `{`), as the import reports it."""
    lines = (FIXTURES / name).read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if f'"id": "{observation_id}"' in line)
    return at + 1 if name.endswith(".jsonl") else at


def without_usage(observation: dict[str, Any]) -> bool:
    if "usageDetails" in observation:
        return not observation["usageDetails"]
    return observation["usage"]["total"] == 0  # Langfuse 2 wrote 0 for no usage


@pytest.mark.parametrize("name", V2 + V1)
async def test_every_export_is_recognised_and_every_call_counted(
    tmp_path: Path, name: str
) -> None:
    assert detect_format(FIXTURES / name) == "langfuse-observations"
    calls = [o for o in observations(name) if o["type"] in CALLS]
    [embedding] = [o for o in calls if o["type"] == "EMBEDDING"]
    async with open_store(tmp_path) as store:
        result, rows = await imported(store, name)
    # Spans, events, tools and agents are no data rows; every call is kept or rejected.
    assert (result.format, result.rows, result.rejected_rows) == ("langfuse-observations", 49, 1)
    assert result.rows + result.rejected_rows == len(calls) == 50
    # The catalogue cannot tell whose embedding model this is: rejected, by its line.
    [reject] = result.rejects
    assert reject.line == line_of(name, embedding["id"])
    assert reject.reason.startswith("provider: missing and not recognisable from model")
    errors = [o for o in calls if o["level"] == "ERROR"]
    failed_bare = sum(without_usage(o) for o in errors)
    unknown = sum(without_usage(o) for o in calls if o["level"] != "ERROR")
    assert (failed_bare, unknown) == (4, 2)
    assert result.report.kept == {"failed_calls_without_usage": 4, "usage_unknown": 2}
    # The error rate counts every failed call, those without usage too.
    failed = [row for row in rows.values() if row["status"] == "error"]
    assert {row["request_id"] for row in failed} == {o["id"] for o in errors}
    assert len(failed) / len(rows) == pytest.approx(5 / 49)
    assert Counter(row["error_type"] for row in failed) == Counter({
        "server_error": 2, "rate_limit": 1, "timeout": 1, "ValidationError": 1,
    })  # fmt: skip


@pytest.mark.parametrize("name", V2)
async def test_v2_exports_carry_end_users_and_sessions(tmp_path: Path, name: str) -> None:
    calls = {o["id"]: o for o in observations(name) if o["type"] in CALLS}
    async with open_store(tmp_path) as store:
        result, rows = await imported(store, name)
    for request_id, row in rows.items():
        assert row["end_user"] == calls[request_id]["userId"]
        assert row["conversation_id"] == calls[request_id]["sessionId"]
    users = Counter(row["end_user"] for row in rows.values())
    sessions = Counter(row["conversation_id"] for row in rows.values())
    # 27 end users (the nightly digest has none); 6 support chats and 7 checkouts
    assert (len(users) - 1, users[None]) == (27, 4)
    assert (len(sessions) - 1, sessions[None]) == (13, 27)
    fields = {f.field: f for f in result.report.fields}
    assert fields["end_user"].note is None and fields["conversation_id"].note is None


@pytest.mark.parametrize("name", V1)
async def test_v1_exports_say_they_lack_end_users_and_sessions(tmp_path: Path, name: str) -> None:
    async with open_store(tmp_path) as store:
        result, rows = await imported(store, name)
    assert {(row["end_user"], row["conversation_id"]) for row in rows.values()} == {(None, None)}
    fields = {f.field: f for f in result.report.fields}
    for field, word in (("end_user", "userId"), ("conversation_id", "sessionId")):
        note = fields[field].note
        assert fields[field].present_pct == 0.0 and note is not None
        assert note.endswith(
            f"not in this export: Langfuse's v1 observations API leaves out the trace's "
            f"{word}; use the v2 API export (/api/public/v2/observations?fields=core,basic,…), "
            "which has it"
        )
    assert str(fields["end_user"].note).startswith("end user not in this export")


FEATURES_V2 = {"support-reply": 15, "classify-ticket": 10, "summarise-thread": 7,
               "checkout-assistant": 7, "faq-answer": 6, "nightly-digest": 4}  # fmt: skip
FEATURES = {
    **dict.fromkeys(V2, FEATURES_V2),
    # v1 has no trace name: the digest keeps the name Langfuse's OpenAI wrapper gave it
    "observations-v1.json": {**FEATURES_V2, "nightly-digest": 0, "OpenAI-generation": 4},
    # Langfuse 2 exported no prompt names: only metadata and the call's own name remain
    "observations-v1-legacy.jsonl": {"ChatAnthropic": 15, "classify-ticket": 10,
                                     "OpenAI-generation": 11, "checkout-assistant": 7,
                                     "faq-answer": 6},  # fmt: skip
}


@pytest.mark.parametrize("name", V2 + V1)
async def test_features_follow_the_documented_precedence(tmp_path: Path, name: str) -> None:
    """metadata feature > promptName > name > traceName > a name an SDK gave."""
    async with open_store(tmp_path) as store:
        _, rows = await imported(store, name)
    expected = {feature: n for feature, n in FEATURES[name].items() if n}
    assert Counter(row["feature"] for row in rows.values()) == expected
    if name in V1[1:]:
        return
    # The prompt's version (v3 before the change, v4 after) is kept beside the feature.
    support = [json.loads(r["metadata"]) for r in rows.values() if r["feature"] == "support-reply"]
    assert Counter(m["prompt_version"] for m in support) == Counter({3: 9, 4: 6})
    assert {m["observation_name"] for m in support} == {"ChatAnthropic"}
    checkout = [json.loads(r["metadata"]) for r in rows.values()
                if r["feature"] == "checkout-assistant"]  # fmt: skip
    assert {m["prompt_name"] for m in checkout} == {"checkout-helper"}
    assert {m["langfuse_metadata"]["tenant"] for m in checkout} == {"acme-eu"}


@pytest.mark.parametrize("name", [*V2, V1[0]])
async def test_mixed_environments_are_kept_and_noted(tmp_path: Path, name: str) -> None:
    async with open_store(tmp_path) as store:
        result, rows = await imported(store, name)
    environments = Counter(json.loads(row["metadata"])["environment"] for row in rows.values())
    assert environments == Counter({"production": 40, "staging": 9})  # + the rejected embedding
    assert (
        "environments mixed in this export (41 calls from production, 9 from staging): each "
        "row keeps its environment in metadata.environment, so filter on it to analyse one, "
        "or export one environment (the Langfuse API's `environment` filter)"
    ) in result.report.notes


def catalogue_usage(observation: dict[str, Any]) -> Usage:
    """The whole usage, by Langfuse's own reading of its types (reduceUsageOrCostDetails:
    every type naming input is prompt, every type naming output is completion)."""
    if "usageDetails" not in observation:  # Langfuse 2: whole counts, no cache split
        usage = observation["usage"]
        return Usage(input_tokens=usage["input"], output_tokens=usage["output"])
    details: dict[str, int] = observation["usageDetails"]
    return Usage(
        input_tokens=sum(v for k, v in details.items() if "input" in k),
        cache_read_tokens=sum(v for k, v in details.items() if "cache_read" in k or "cached" in k),
        cache_write_tokens=sum(v for k, v in details.items() if "cache_creation" in k),
        output_tokens=sum(v for k, v in details.items() if "output" in k),
    )


@pytest.mark.parametrize("name", V2 + V1)
async def test_every_cost_matches_genai_prices_and_the_source_cost_is_kept(
    tmp_path: Path, name: str
) -> None:
    calls = {o["id"]: o for o in observations(name) if o["type"] in CALLS}
    async with open_store(tmp_path) as store:
        result, rows = await imported(store, name)
    source_total = 0.0
    for request_id, row in rows.items():
        observation = calls[request_id]
        if without_usage(observation):
            assert row["usage_recorded"] is False and row["source_cost_usd"] is None
            failed = observation["level"] == "ERROR"
            assert row["cost_usd"] == (0.0 if failed else None), request_id
            continue
        usage = catalogue_usage(observation)
        assert (row["input_tokens"], row["output_tokens"], row["cached_input_tokens"],
                row["cache_write_tokens"]) == (usage.input_tokens, usage.output_tokens,
                                               usage.cache_read_tokens or 0,
                                               usage.cache_write_tokens or 0)  # fmt: skip
        if "promptTokens" in observation:  # v1's own sums say the same
            assert row["input_tokens"] == observation["promptTokens"]
            assert row["output_tokens"] == observation["completionTokens"]
        at = datetime.fromisoformat(observation["startTime"])
        model = observation.get("model") or observation["providedModelName"]
        price = calc_price(usage, model, genai_request_timestamp=at)
        assert row["cost_usd"] == pytest.approx(float(price.total_price), rel=0.005), request_id
        source = (observation["costDetails"]["total"] if "costDetails" in observation
                  else observation["calculatedTotalCost"])  # fmt: skip
        assert row["source_cost_usd"] == source
        source_total += source
    assert result.source_cost_usd == pytest.approx(source_total)


async def test_reasoning_and_cache_reads_are_read_per_provider(tmp_path: Path) -> None:
    """OpenAI's counts reach Langfuse with their details taken out, Anthropic's never held
    them: the record's prompt holds both again, whatever the family."""
    calls = {o["id"]: o for o in observations("observations-v2.json")}
    async with open_store(tmp_path) as store:
        _, rows = await imported(store, "observations-v2.json")
    for family, key in (("openai", "input_cached_tokens"), ("anthropic", "input_cache_read"),
                        ("anthropic", "cache_read_input_tokens")):  # fmt: skip
        cached = [row for i, row in rows.items()
                  if row["provider"] == family and calls[i]["usageDetails"].get(key)]  # fmt: skip
        assert cached, key
        for row in cached:
            details = calls[row["request_id"]]["usageDetails"]
            assert row["cached_input_tokens"] == details[key]
            assert row["input_tokens"] == (
                details["input"] + row["cached_input_tokens"] + row["cache_write_tokens"]
            )
    o4 = [row for row in rows.values() if row["reasoning_tokens"]]
    assert {row["model"] for row in o4} == {"o4-mini-2025-04-16"}
    for row in o4:
        details = calls[row["request_id"]]["usageDetails"]
        assert row["output_tokens"] == details["output"] + details["output_reasoning_tokens"]


async def test_pages_written_one_per_line_are_read(tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "observations-v2.json").read_text())
    half = len(page["data"]) // 2
    lines = [json.dumps({"data": page["data"][:half], "meta": {"cursor": "abc"}}),
             json.dumps({"data": page["data"][half:], "meta": {}})]  # fmt: skip
    path = write(tmp_path, "pages.jsonl", "\n".join(lines) + "\n")
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
    assert (result.rows, result.rejected_rows) == (49, 1)
    assert result.rejects[0].line in (1, 2)


async def test_an_export_without_sessions_or_models_says_so(tmp_path: Path) -> None:
    ui = {"id": "a", "traceId": "t", "type": "GENERATION", "name": "triage",
          "startTime": "2025-10-21T08:00:00.000Z", "model": "gpt-4o-mini",
          "usageDetails": {"input": 10, "output": 2, "total": 12}, "costDetails": {},
          "userId": "u-1", "traceName": "ticket", "inputUsage": 10,
          "providedUsageDetails": {}}  # Langfuse's UI export; it counted the tokens itself
    core = {"id": "b", "traceId": "t", "type": "GENERATION", "projectId": "p",
            "startTime": "2025-10-21T08:01:00.000Z", "endTime": "2025-10-21T08:01:01.000Z",
            "parentObservationId": None, "name": "triage", "userId": "u-2", "sessionId": None}
    path = write(tmp_path, "x.jsonl", f"{json.dumps(ui)}\n{json.dumps(core)}\n")
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        [row] = await store.fetch("SELECT metadata, end_user, input_tokens FROM requests")
    fields = {f.field: f.note for f in result.report.fields}
    assert (result.rows, result.rejected_rows) == (1, 1)
    assert (row["end_user"], row["input_tokens"]) == ("u-1", 10)
    assert json.loads(row["metadata"])["usage_tokenised_by_langfuse"] is True
    assert result.rejects[0].reason == (
        "model: missing (Langfuse's v2 API writes providedModelName only in its `model` "
        "field group), and no default_model was given for this upload"
    )
    assert fields["conversation_id"] is not None
    assert fields["conversation_id"].startswith("sessionId not in this export")
    assert fields["end_user"] is None  # the UI export has it


def test_failed_generations_are_typed_from_the_sdk_message() -> None:
    def typed(message: str) -> Any:
        base = {"type": "GENERATION", "startTime": "2025-10-21T08:00:00Z", "level": "ERROR"}
        return record({**base, "statusMessage": message})["error_type"]

    # the status code, not the "500" inside the rate-limit text
    assert typed("Error code: 429 - {'error': {'message': 'Limit 500, Used 500'}}") == "rate_limit"
    assert typed("Error code: 400 - {'error': {'message': 'too long', 'type': "
                 "'invalid_request_error', 'code': 'context_length_exceeded'}}") == \
        "context_length_exceeded"  # fmt: skip
    assert typed("Error code: 413 - {'type': 'error', 'error': {'type': "
                 "'request_too_large', 'message': 'Request exceeds the maximum size'}}") == \
        "request_too_large"  # fmt: skip
    assert typed("Error code: 404 - not found") == "http_404"
    assert typed("Request timed out.") == "timeout"
    assert typed("ValidationError: 1 validation error for Answer") == "ValidationError"


def test_usage_not_counted_in_tokens_is_no_token_count() -> None:
    old = {"type": "GENERATION", "startTime": "2025-10-21T08:00:00Z", "model": "tts-1",
           "usage": {"unit": "CHARACTERS", "input": 500, "output": 0, "total": 500}}  # fmt: skip
    fields = record(old)
    assert (fields["input_tokens"], fields["output_tokens"]) == (None, None)
    assert fields["usage_unit"] == "CHARACTERS"
