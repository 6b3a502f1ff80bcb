"""`otel-genai` on spans the real `opentelemetry-instrumentation-openai-v2` wrote of real
OpenAI client calls (fixtures/otel/generate.py): chat, streams with and without usage,
429/500/400, timeout and connection failures, embeddings, inside application spans that
carry the feature, end user, session and tenant. Then, on small hand-made traces: what a
span inherits in any order of its spans, within bounded memory, and the error types."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from netra.analysis import overview
from netra.telemetry.import_report import notes_of
from netra.telemetry.importers import detect_format, otel_genai
from netra.telemetry.importers._otel_trace import TraceBuffer
from netra.telemetry.importers.otel_genai import error_kind
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import open_store, write

FIXTURE = Path(__file__).parent / "fixtures" / "otel" / "openai-v2.jsonl"
ROWS = (
    "SELECT request_id, model, provider, status, error_type, feature, end_user, "
    "conversation_id, input_tokens, output_tokens, latency_ms, cost_usd, usage_recorded, "
    "metadata FROM requests WHERE dataset_id = ? ORDER BY ts"
)
FEATURES = {
    "support-chat": 6,
    "summarise": 4,
    "search": 5,
    "agent-plan": 1,
    "agent": 1,
    "assistant-stream": 7,
    "triage": 10,
    "shop-api": 1,
}


def _attributes(span: dict[str, Any]) -> dict[str, Any]:
    return otel_genai.attributes(span.get("attributes"))


def fixture_spans(path: Path = FIXTURE) -> Iterator[dict[str, Any]]:
    """Every span of an OTLP/JSON Lines file, as written."""
    for line in path.read_text(encoding="utf-8").splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                yield from scope["spans"]


def genai_spans() -> dict[str, dict[str, Any]]:
    """The fixture's GenAI spans by spanId."""
    return {s["spanId"]: s for s in fixture_spans() if "gen_ai.operation.name" in _attributes(s)}


async def _import(store: DuckDBStore, path: Path = FIXTURE, dataset: str = "d") -> Any:
    return await store.import_file(dataset, path)  # format auto


async def _rows(store: DuckDBStore, dataset: str = "d") -> list[dict[str, Any]]:
    rows = await store.fetch(ROWS, [dataset])
    for row in rows:
        row["metadata"] = json.loads(row["metadata"] or "{}")
    return rows


def test_the_fixture_holds_what_the_tests_count_on() -> None:
    spans = list(fixture_spans())
    genai = genai_spans()
    assert len(spans) >= 40 and len(genai) == sum(FEATURES.values()) == 35
    operations = Counter(_attributes(s)["gen_ai.operation.name"] for s in genai.values())
    assert operations == {"chat": 30, "embeddings": 5}
    # As an SDK exports them: a GenAI span before its application span, and after one.
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    assert len(lines) > 1
    first_line = [
        s for r in lines[0]["resourceSpans"] for sc in r["scopeSpans"] for s in sc["spans"]
    ]
    assert "gen_ai.operation.name" in _attributes(first_line[0])


async def test_auto_detects_the_file_and_keeps_every_genai_span(tmp_path: Path) -> None:
    assert detect_format(FIXTURE) == "otel-genai"
    async with open_store(tmp_path) as store:
        result = await _import(store)
        rows = await _rows(store)
    assert (result.format, result.rows, result.rejected_rows, result.rejects) == (
        "otel-genai",
        35,
        0,
        [],
    )
    assert result.report.kept == {"failed_calls_without_usage": 9, "usage_unknown": 3}
    assert {r["metadata"]["span_id"] for r in rows} == set(genai_spans())
    assert all(r["provider"] == "openai" for r in rows)
    assert result.unpriced_models == []


async def test_failed_calls_are_kept_counted_and_typed(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await _import(store)
        rows = await _rows(store)
        totals = await overview.overview_totals(store, "d")
    failed = [r for r in rows if r["status"] == "error"]
    assert Counter(r["error_type"] for r in failed) == {
        "rate_limit": 4,
        "server_error": 2,
        "bad_request": 1,
        "timeout": 1,
        "connection_error": 1,
    }
    assert {
        (r["input_tokens"], r["output_tokens"], r["cost_usd"], r["usage_recorded"]) for r in failed
    } == {(0, 0, 0.0, False)}
    # The instrumentation wrote error.type as "<class 'openai.RateLimitError'>" on chat
    # spans and "RateLimitError" on embeddings spans; the HTTP code is in the status message.
    rate_limited = [r["metadata"] for r in failed if r["error_type"] == "rate_limit"]
    assert {(m["error_class"], m["http_status"]) for m in rate_limited} == {("RateLimitError", 429)}
    assert totals["requests"] == 35
    assert totals["error_rate"] == round(9 / 35, 4)
    assert totals["failed_without_usage_requests"] == 9


async def test_every_row_has_its_latency(tmp_path: Path) -> None:
    spans = genai_spans()
    async with open_store(tmp_path) as store:
        await _import(store)
        rows = await _rows(store)
        totals = await overview.overview_totals(store, "d")
    for row in rows:
        span = spans[row["metadata"]["span_id"]]
        nanos = int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])
        assert row["latency_ms"] == pytest.approx(nanos / 1e6)
    timeout = next(r for r in rows if r["error_type"] == "timeout")
    assert timeout["latency_ms"] >= 250  # the client gave up after 0.25 s
    assert totals["p50_latency_ms"] is not None and totals["p50_latency_ms"] > 0


async def test_feature_end_user_session_and_tenant_come_from_the_nearest_ancestor(
    tmp_path: Path,
) -> None:
    async with open_store(tmp_path) as store:
        await _import(store)
        rows = await _rows(store)
        by_feature = (await overview.spend_breakdown(store, "d", "feature"))["rows"]
        by_user = (await overview.spend_breakdown(store, "d", "end_user"))["rows"]
    assert {r["key"]: r["requests"] for r in by_feature} == FEATURES
    triage = next(r for r in by_feature if r["key"] == "triage")
    assert triage["error_rate"] == round(8 / 10, 4)  # 8 of the 10 triage calls failed
    assert {r["key"]: r["requests"] for r in by_user} == {
        "user-1": 2,
        "user-2": 2,
        "user-3": 2,
        "user-4": 4,
        "user-5": 5,
        "user-6": 2,
        "user-7": 7,
        "user-8": 10,
        "(none)": 1,
    }
    support = [r for r in rows if r["feature"] == "support-chat"]
    # enduser.id, session.id and tenant.id are on the request span, two levels up
    assert {(r["end_user"], r["conversation_id"], r["metadata"]["tenant"]) for r in support} == {
        ("user-1", "sess-1", "globex"),
        ("user-2", "sess-2", "acme"),
        ("user-3", "sess-3", "acme"),
    }
    agent = {r["feature"]: r["conversation_id"] for r in rows if r["end_user"] == "user-6"}
    assert agent == {"agent-plan": "agent-sess-1", "agent": "agent-sess-1"}  # nearest wins
    [nightly] = [r for r in rows if r["feature"] == "shop-api"]  # service.name, the last resort
    assert (nightly["end_user"], nightly["conversation_id"]) == (None, None)


async def test_streams_with_include_usage_are_read_and_without_are_kept_unknown(
    tmp_path: Path,
) -> None:
    async with open_store(tmp_path) as store:
        await _import(store)
        rows = [r for r in await _rows(store) if r["feature"] == "assistant-stream"]
    measured = [r for r in rows if r["usage_recorded"]]
    unknown = [r for r in rows if not r["usage_recorded"]]
    assert (len(measured), len(unknown)) == (4, 3)
    assert all(
        r["input_tokens"] > 0 and r["output_tokens"] > 0 and r["cost_usd"] > 0 for r in measured
    )
    assert {
        (r["status"], r["input_tokens"], r["output_tokens"], r["cost_usd"]) for r in unknown
    } == {("ok", None, None, None)}
    assert all(r["latency_ms"] > 0 for r in unknown)


def _expected_cost(span: dict[str, Any]) -> float:
    """The span's cost by genai-prices' own API, from its token counts as written."""
    attrs = _attributes(span)
    if "gen_ai.usage.input_tokens" not in attrs:
        return 0.0  # a failed call without usage
    usage = Usage(
        input_tokens=int(attrs["gen_ai.usage.input_tokens"]),
        output_tokens=int(attrs.get("gen_ai.usage.output_tokens", 0)),
    )
    at = datetime.fromtimestamp(int(span["startTimeUnixNano"]) / 1e9, UTC)
    price = calc_price(
        usage,
        attrs["gen_ai.response.model"],
        provider_id=attrs["gen_ai.provider.name"],
        genai_request_timestamp=at,
    )
    return float(price.total_price)


async def test_every_cost_matches_genai_prices(tmp_path: Path) -> None:
    spans = genai_spans()
    async with open_store(tmp_path) as store:
        result = await _import(store)
        rows = await _rows(store)
    priced = 0
    for row in rows:
        span = spans[row["metadata"]["span_id"]]
        if not row["usage_recorded"] and row["status"] == "ok":
            assert row["cost_usd"] is None  # usage unknown: cost unknown, never 0
            continue
        expected = _expected_cost(span)
        assert row["cost_usd"] == pytest.approx(expected, rel=0.005, abs=1e-12), row
        priced += expected > 0
    embeddings = [r for r in rows if r["model"] == "text-embedding-3-small" and r["cost_usd"]]
    assert priced == 23 and len(embeddings) == 4  # embeddings priced at their input rate
    assert result.total_cost_usd == pytest.approx(
        sum(map(_expected_cost, spans.values())), rel=0.005
    )


async def test_the_report_says_what_the_spans_carry_and_lack(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        result = await _import(store)
    report = result.report
    fields = {f.field: f for f in report.fields}
    assert fields["feature"].present_pct == 100.0
    assert fields["feature"].note == (
        "1 GenAI span has none of netra.feature, feature, app.feature, gen_ai.agent.name on "
        "itself or an ancestor span: its feature is the service's name (service.name)"
    )
    assert fields["end_user"].present_pct == round(100 * 34 / 35, 1)
    assert fields["conversation_id"].present_pct == round(100 * 8 / 35, 1)
    assert fields["latency_ms"].present_pct == 100.0
    assert (fields["request_id"].present_pct, fields["error_type"].present_pct) == (
        100.0,
        round(100 * 9 / 35, 1),
    )
    assert fields["ttft_ms"].note == otel_genai.FIELD_NOTES["ttft_ms"]
    assert fields["prompt_hash"].note == otel_genai.FIELD_NOTES["prompt_hash"]
    assert report.notes[2] == (
        "3 GenAI spans have no token usage but no error: instrumentations "
        "(opentelemetry-instrumentation-openai-v2 among them) record none for a streamed call "
        'made without stream_options={"include_usage": true}; pass it to have the tokens and '
        "cost of streamed calls"
    )
    assert not any("ancestor spans" in note for note in notes_of(report))


def _reversed_document(tmp_path: Path) -> Path:
    """The fixture as one pretty-printed document, its spans in the opposite order."""
    entries = []
    for line in reversed(FIXTURE.read_text().splitlines()):
        for resource in reversed(json.loads(line)["resourceSpans"]):
            for scope in resource["scopeSpans"]:
                scope["spans"].reverse()
            resource["scopeSpans"].reverse()
            entries.append(resource)
    return write(tmp_path, "reversed.json", json.dumps({"resourceSpans": entries}, indent=1))


async def test_the_order_of_the_spans_does_not_matter(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await _import(store, FIXTURE, "as-exported")
        result = await _import(store, _reversed_document(tmp_path), "reversed")
        exported, reversed_ = await _rows(store, "as-exported"), await _rows(store, "reversed")
    assert (result.format, result.rows, result.rejected_rows) == ("otel-genai", 35, 0)
    assert reversed_ == exported


# -- hand-made traces -----------------------------------------------------------------------

START = 1_793_527_200 * 10**9  # 2026-11-01T10:00:00Z


def _attr(key: str, value: Any) -> dict[str, Any]:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def _span(trace: str, span: str, parent: str | None, **attrs: Any) -> dict[str, Any]:
    return {
        "traceId": trace,
        "spanId": span,
        "parentSpanId": parent or "",
        "name": span,
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(START + 10**9),
        "attributes": [_attr(k.replace("__", "."), v) for k, v in attrs.items()],
    }


def _chat(trace: str, span: str, parent: str | None, **attrs: Any) -> dict[str, Any]:
    usage = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 10,
    }
    return _span(
        trace, span, parent, **{k.replace(".", "__"): v for k, v in usage.items()}, **attrs
    )


def _line(*spans: dict[str, Any], **resource: Any) -> str:
    attributes = [_attr("service.name", "svc")] + [
        _attr(k.replace("__", "."), v) for k, v in resource.items()
    ]
    export = {
        "resourceSpans": [
            {"resource": {"attributes": attributes}, "scopeSpans": [{"spans": list(spans)}]}
        ]
    }
    return json.dumps(export) + "\n"


async def _features(tmp_path: Path, text: str) -> tuple[dict[str, tuple[Any, ...]], Any]:
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", write(tmp_path, "t.jsonl", text))
        rows = await _rows(store)
    return {
        r["metadata"]["span_id"]: (
            r["feature"],
            r["end_user"],
            r["conversation_id"],
            r["metadata"].get("tenant"),
        )
        for r in rows
    }, result


async def test_a_span_inherits_from_ancestors_that_come_before_or_after_it(
    tmp_path: Path,
) -> None:
    text = (
        # trace a: the chat span first, its parent on the next line, the root last
        _line(_chat("a", "a3", "a2"))
        + _line(
            _span("a", "a2", "a1", app__feature="checkout"),
            _span("b", "b1", None, feature="search", session__id="s-b"),
        )
        + _line(
            _span("a", "a1", None, enduser__id="u-a", feature="outer"),
            # trace b: parents came first; its chat span sets its own session
            _chat("b", "b2", "b1", gen_ai__conversation__id="c-b"),
            # trace c: an agent span's name, and the user on the span itself
            _span("c", "c1", None, gen_ai__agent__name="planner"),
            _chat("c", "c2", "c1", user__id="u-c"),
        )
        # trace d: its root was never exported; the resource gives the tenant
        + _line(
            _span("d", "d2", "d1", netra__end_user="u-d"), _chat("d", "d3", "d2"), tenant__id="t-1"
        )
    )
    rows, result = await _features(tmp_path, text)
    assert rows == {
        "a3": ("checkout", "u-a", None, None),  # the nearer feature wins over "outer"
        "b2": ("search", None, "c-b", None),
        "c2": ("planner", "u-c", None, None),  # gen_ai.agent.name before service.name
        "d3": ("svc", "u-d", None, "t-1"),
    }
    assert result.report.notes[-1] == (
        "1 GenAI span was read without all its ancestor spans (the missing ones are not in the "
        "file: a trace exported in part): inherited feature, end user, session and tenant "
        "come only from the ancestors found"
    )


async def test_held_traces_are_bounded_and_let_go_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        otel_genai, "TraceBuffer", functools.partial(TraceBuffer, max_spans=6, max_waiting=2)
    )
    # Five traces whose chat spans all come before their request spans.
    chats = _line(*(_chat(f"t{n}", f"c{n}", f"r{n}") for n in range(5)))
    roots = _line(*(_span(f"t{n}", f"r{n}", None, feature=f"f{n}") for n in range(5)))
    rows, result = await _features(tmp_path, chats + roots)
    assert result.rows == 5  # nothing lost: the traces let go are read with what was known
    assert {span: row[0] for span, row in rows.items()} == {
        "c0": "svc",
        "c1": "svc",
        "c2": "svc",
        "c3": "f3",
        "c4": "f4",
    }
    assert result.report.notes[-1] == (
        "3 GenAI spans were read without all their ancestor spans (3 because more than 2 "
        "spans waited for theirs at once): inherited feature, end user, session and tenant "
        "come only from the ancestors found"
    )


def test_the_buffer_holds_a_window_of_links_and_the_waiting_records() -> None:
    buffer: TraceBuffer[str] = TraceBuffer(max_spans=4, max_waiting=1)
    assert buffer.add("t", "child", "parent", None, "record") == []
    [resolved] = buffer.add("t", "parent", None, (("feature", "f"),))
    assert (resolved.payload, resolved.levels, resolved.complete) == (
        "record",
        [(("feature", "f"),)],
        True,
    )
    for n in range(4):  # four more links: the oldest ones go
        buffer.add("u", f"s{n}", None, None)
    assert (list(buffer.links), buffer.waiting) == ([("u", f"s{n}") for n in range(4)], 0)
    # past max_waiting, the record waiting longest is handed back with what is known
    assert buffer.add("v", "a", "x", (("end_user", "u1"),), "first") == []
    [early] = buffer.add("v", "b", "y", None, "second")
    assert (early.payload, early.levels, early.complete, buffer.released) == (
        "first",
        [(("end_user", "u1"),)],
        False,
        1,
    )
    assert [r.payload for r in buffer.drain()] == ["second"]
    assert (buffer.waiting, list(buffer.missing)) == (0, [])


def test_a_long_trace_needs_no_link_that_left_the_window() -> None:
    buffer: TraceBuffer[str] = TraceBuffer(max_spans=3)
    buffer.add("t", "chat", "tool", None, "record")  # ends first, then its tool span
    buffer.add("t", "tool", "agent", (("feature", "tool-use"),))
    for n in range(5):  # other traffic: the chat and tool links leave the window
        buffer.add(f"other{n}", "s", None, None)
    assert ("t", "tool") not in buffer.links
    buffer.add("t", "agent", "request", (("conversation_id", "c1"),))
    [done] = buffer.add("t", "request", None, (("feature", "outer"), ("end_user", "u1")))
    assert (done.payload, done.complete) == ("record", True)
    assert done.levels == [(("feature", "tool-use"),), (("conversation_id", "c1"),),
                           (("feature", "outer"), ("end_user", "u1"))]  # fmt: skip


def test_a_cycle_of_parents_ends_the_walk() -> None:
    buffer: TraceBuffer[str] = TraceBuffer()
    [cycle] = buffer.add("w", "x", "y", None, "record") + buffer.add("w", "y", "x", None)
    assert (cycle.payload, cycle.complete) == ("record", False)


@pytest.mark.parametrize(
    ("raw", "code", "kind"),
    [
        ("RateLimitError", None, "rate_limit"),
        ("openai.RateLimitError", 429, "rate_limit"),
        ("<class 'openai.RateLimitError'>", 429, "rate_limit"),
        ("429", None, "rate_limit"),
        ("_OTHER", 429, "rate_limit"),
        ("google.api_core.exceptions.ResourceExhausted", None, "rate_limit"),
        ("openai.APITimeoutError", None, "timeout"),
        ("httpx.ReadTimeout", None, "timeout"),
        ("TimeoutError", None, "timeout"),
        (None, 504, "timeout"),
        ("openai.InternalServerError", 500, "server_error"),
        ("anthropic.OverloadedError", 529, "server_error"),
        ("openai.APIStatusError", 503, "server_error"),
        ("openai.APIConnectionError", None, "connection_error"),
        ("httpx.ConnectError", None, "connection_error"),
        ("openai.BadRequestError", 400, "bad_request"),
        (None, 400, "bad_request"),
        ("UnprocessableEntityError", 422, "bad_request"),
        ("AuthenticationError", 401, "authentication"),
        ("PermissionDeniedError", 403, "permission_denied"),
        ("NotFoundError", 404, "not_found"),
        ("asyncio.CancelledError", None, "cancelled"),
        (None, 418, "http_418"),
        ("ValueError", None, "ValueError"),
        (None, None, "other"),
        ("_OTHER", None, "other"),
    ],
)
def test_error_types_are_normalised(raw: str | None, code: int | None, kind: str) -> None:
    assert error_kind(raw, code) == kind


async def test_an_http_status_on_the_span_alone_marks_a_failed_call(tmp_path: Path) -> None:
    span = _span(
        "e",
        "e1",
        None,
        gen_ai__operation__name="chat",
        gen_ai__system="openai",
        gen_ai__request__model="gpt-4o",
        http__response__status_code=503,
    )
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", write(tmp_path, "e.jsonl", _line(span)))
        [row] = await _rows(store)
    assert result.report.kept["failed_calls_without_usage"] == 1
    assert (row["status"], row["error_type"], row["metadata"]["http_status"]) == (
        "error",
        "server_error",
        503,
    )
