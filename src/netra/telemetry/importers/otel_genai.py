"""`otel-genai`: OpenTelemetry spans as OTLP/JSON, GenAI semantic conventions.

Read as JSON Lines of export requests (`{"resourceSpans": [...]}` per line, as the
collector's file exporter and opentelemetry-python's OTLP JSON file exporter write them)
or as one such document, streamed one `resourceSpans` entry at a time. Each span that
records a GenAI inference (chat, completion, embeddings) is a row; other spans (HTTP,
application, agent or tool spans) are no data rows, but they are what a row inherits
its feature, end user, session and tenant from (_otel_trace.py: nearest ancestor wins).
A rejected span is reported at the line its entry starts on, with its spanId.

Failed calls: span status ERROR, an `error.type`, or an HTTP status ≥ 400 on the span;
their error type is normalised (`error_kind`, table in docs/telemetry/otel-genai.md).
They carry no usage and are kept with 0 tokens; a successful span without usage (a
stream without `include_usage`) is kept with its usage unknown.

Cached tokens: the conventions say `gen_ai.usage.input_tokens` includes cached ones, as
the record does. Some instrumentations still report Anthropic's native count, which
leaves them out: a count smaller than its cached parts is taken as that and summed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from netra.telemetry.import_report import Note
from netra.telemetry.importers._base import Importer, NotARecord, Parsed, Unreadable, mapped
from netra.telemetry.importers._fields import first, identity, number, prompt_tokens
from netra.telemetry.importers._json import items
from netra.telemetry.importers._otel_trace import (
    KEYS,
    Keys,
    Resolved,
    TraceBuffer,
    inherit,
    keys_of,
)
from netra.telemetry.schema import Defaults, RecordError

# Operations that are an LLM call; spans of other GenAI operations are no data rows.
_INFERENCE = {"chat", "text_completion", "generate_content", "completion", "embeddings"}
_NOT_INFERENCE = {"invoke_agent", "create_agent", "execute_tool"}
_USAGE = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
          "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")  # fmt: skip
_ERROR_CODES = {2, "2", "STATUS_CODE_ERROR", "ERROR"}
_EPOCH = datetime(1970, 1, 1)  # naive UTC, as the record stores ts

# error.type, as a class name (module, `<class '…'>` and an Error/Exception suffix left
# out, lower case) -> the record's error type. See docs/telemetry/otel-genai.md.
_ERROR_CLASSES = {
    **dict.fromkeys(("ratelimit", "toomanyrequests", "resourceexhausted", "throttling"),
                    "rate_limit"),
    **dict.fromkeys(("apitimeout", "timeout", "readtimeout", "connecttimeout", "writetimeout",
                     "pooltimeout", "deadlineexceeded", "timedout", "gatewaytimeout"),
                    "timeout"),
    **dict.fromkeys(("apiconnection", "connect", "connection", "remoteprotocol",
                     "connectionrefused", "connectionreset"), "connection_error"),
    **dict.fromkeys(("internalserver", "serviceunavailable", "overloaded", "badgateway",
                     "apiinternal", "server"), "server_error"),
    **dict.fromkeys(("badrequest", "unprocessableentity", "invalidrequest"), "bad_request"),
    **dict.fromkeys(("authentication", "unauthorized"), "authentication"),
    **dict.fromkeys(("permissiondenied", "forbidden"), "permission_denied"),
    "notfound": "not_found",
    "conflict": "conflict",
    **dict.fromkeys(("contentfilter", "contentpolicyviolation"), "content_filter"),
    **dict.fromkeys(("contextwindowexceeded", "contextlengthexceeded"), "context_length"),
    "cancelled": "cancelled",
}  # fmt: skip
_HTTP_ERRORS = {400: "bad_request", 401: "authentication", 403: "permission_denied",
                404: "not_found", 408: "timeout", 409: "conflict", 413: "request_too_large",
                422: "bad_request", 429: "rate_limit", 504: "timeout"}  # fmt: skip
_CLASS = re.compile(r"<class '([^']*)'>")
_CODE_IN_MESSAGE = re.compile(
    r"\b(?:error code|status code|status|http)\s*[:=]?\s*([1-5]\d\d)\b", re.IGNORECASE
)

FIELD_NOTES = {
    "end_user": "no span of these traces (GenAI span or ancestor) carries enduser.id, "
    "user.id or netra.end_user: set one on the span that handles the request",
    "conversation_id": "no span of these traces carries gen_ai.conversation.id or session.id",
    "ttft_ms": "the GenAI spans record no time to first token "
    "(gen_ai.response.time_to_first_chunk)",
    "prompt_hash": "GenAI spans carry no prompt hash: repeated prompts cannot be found",
    "prefix_hash": "GenAI spans carry no prompt prefix hash: shared prefixes cannot be found",
}


def sniff(head: str) -> bool:
    return '"resourceSpans"' in head or '"scopeSpans"' in head


@dataclass
class _Waiting:
    """A GenAI span's record, mapped but for what it inherits."""

    line: int
    span_id: str
    fields: dict[str, Any]
    resource: Keys | None  # the resource's own keys: the outermost level


@dataclass
class _Tally:
    """What the notes of the upload report count."""

    service_feature: int = 0  # rows whose feature is the service's name
    partial: int = 0  # rows whose chain of ancestors was not whole
    unmeasured: int = 0  # successful inference spans without usage


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    buffer: TraceBuffer[_Waiting] = TraceBuffer()
    tally = _Tally()
    line = 1
    for line, item in items(file, frozenset({"resourceSpans"})):
        if isinstance(item, Unreadable):
            yield line, str(item)
            continue
        if not isinstance(item, dict):
            yield line, f"expected an OTLP resourceSpans object, got {type(item).__name__}"
            continue
        entries = item.get("resourceSpans", [item])
        for entry in entries if isinstance(entries, list) else [entries]:
            yield from _entry(line, entry, buffer, tally, defaults)
    for resolved in buffer.drain():
        yield _finished(resolved, tally, defaults)
    yield from ((line, note) for note in _notes(tally, buffer))


def _entry(
    line: int, entry: Any, buffer: TraceBuffer[_Waiting], tally: _Tally, defaults: Defaults
) -> Iterator[Parsed]:
    if not isinstance(entry, dict):
        yield line, "expected an OTLP resourceSpans object"
        return
    resource = attributes((entry.get("resource") or {}).get("attributes"))
    resource_keys = keys_of(resource)
    service = resource.get("service.name")
    for scope in entry.get("scopeSpans") or entry.get("instrumentationLibrarySpans") or []:
        for span in scope.get("spans", []) if isinstance(scope, dict) else []:
            if not isinstance(span, dict):
                yield line, f"expected a JSON object, got {type(span).__name__}"
                continue
            attrs = attributes(span.get("attributes"))
            span_id = str(span.get("spanId") or "")
            waiting = None
            try:
                fields = _record(span, attrs, service)
                unmeasured = fields["input_tokens"] is None and fields["output_tokens"] is None
                tally.unmeasured += unmeasured and fields["status"] == "ok"
                waiting = _Waiting(line, span_id, fields, resource_keys)
            except NotARecord:
                pass
            except RecordError as error:
                yield line, f"span {span_id or '?'}: {error}"
            trace_id, keys = span.get("traceId"), keys_of(attrs)
            if not trace_id or not span_id:  # no trace to inherit from
                if waiting is not None:
                    alone = Resolved(waiting, [keys] if keys else [], complete=True)
                    yield _finished(alone, tally, defaults)
                continue
            parent = str(span.get("parentSpanId") or "") or None
            for resolved in buffer.add(str(trace_id), span_id, parent, keys, waiting):
                yield _finished(resolved, tally, defaults)


def _finished(resolved: Resolved[_Waiting], tally: _Tally, defaults: Defaults) -> Parsed:
    """The record with what it inherits, through the record's rules."""
    waiting = resolved.payload
    levels = [*resolved.levels, *([waiting.resource] if waiting.resource else [])]
    inherited = inherit(levels)
    fields = waiting.fields
    feature = inherited.get("feature") or inherited.get("agent")
    if feature is None:
        feature = fields.get("service")
        tally.service_feature += feature is not None
    tally.partial += not resolved.complete
    fields |= {
        "feature": feature,
        **{name: inherited.get(name) for name in ("end_user", "conversation_id", "tenant")},
    }
    del fields["service"]
    outcome = mapped(_as_is, fields, defaults)
    assert outcome is not None  # the mapper never raises NotARecord
    if isinstance(outcome, str):
        outcome = f"span {waiting.span_id or '?'}: {outcome}"
    return waiting.line, outcome


def _as_is(fields: dict[str, Any]) -> dict[str, Any]:
    return fields


def _spans(count: int) -> str:
    return f"{count:,} GenAI span{'' if count == 1 else 's'} ha{'s' if count == 1 else 've'}"


def _notes(tally: _Tally, buffer: TraceBuffer[_Waiting]) -> list[Note]:
    notes = []
    if tally.unmeasured:
        text = (
            f"{_spans(tally.unmeasured)} no token usage but no error: instrumentations "
            "(opentelemetry-instrumentation-openai-v2 among them) record none for a streamed "
            'call made without stream_options={"include_usage": true}; pass it to have the '
            "tokens and cost of streamed calls"
        )
        notes.append(Note(None, text))
    if tally.service_feature:
        keys = ", ".join((*KEYS["feature"], *KEYS["agent"]))
        text = (
            f"{_spans(tally.service_feature)} none of {keys} on itself or an ancestor span: "
            "its feature is the service's name (service.name)"
        )
        notes.append(Note("feature", text))
    if tally.partial:
        early = buffer.released
        why = "the missing ones are not in the file: a trace exported in part"
        if early:
            why = (
                f"{early:,} because more than {buffer.max_waiting:,} spans waited for theirs "
                f"at once{'' if early == tally.partial else '; the others because ' + why}"
            )
        text = (
            f"{tally.partial:,} GenAI span{' was' if tally.partial == 1 else 's were'} read "
            f"without all {'its' if tally.partial == 1 else 'their'} ancestor spans ({why}): "
            "inherited feature, end user, session and tenant come only from the ancestors found"
        )
        notes.append(Note(None, text))
    return notes


def attributes(raw: Any) -> dict[str, Any]:
    """OTLP's `[{"key": k, "value": {"intValue": "3"}}]` (or a plain dict) as a dict."""
    if isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}
    for pair in raw or []:
        if isinstance(pair, dict) and "key" in pair:
            out[str(pair["key"])] = _value(pair.get("value"))
    return out


def _value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if kind in value:
            return value[kind]
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attributes(value["kvlistValue"].get("values"))
    return None


def _nanos(value: Any, what: str) -> int:
    """Unix nanoseconds; OTLP/JSON writes these 64-bit numbers as strings."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return value if isinstance(value, int) else int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        raise RecordError(
            f"{what}: missing or not a number of nanoseconds (got {value!r})"
        ) from None


def _record(span: dict[str, Any], attrs: Mapping[str, Any], service: Any) -> dict[str, Any]:
    """The span's record but for what it inherits (feature, end user, session, tenant)."""
    operation = attrs.get("gen_ai.operation.name")
    is_genai = any(key.startswith("gen_ai.") for key in attrs)
    has_usage = any(key in attrs for key in _USAGE)
    if not is_genai or operation in _NOT_INFERENCE or (not has_usage and operation
                                                        not in _INFERENCE):  # fmt: skip
        raise NotARecord
    start = _nanos(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end_raw = span.get("endTimeUnixNano")
    latency = (_nanos(end_raw, "endTimeUnixNano") - start) / 1e6 if end_raw else None
    cache_read = attrs.get("gen_ai.usage.cache_read.input_tokens")
    cache_write = attrs.get("gen_ai.usage.cache_creation.input_tokens")
    prompt = first(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    output = first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    status, error_type, code = _outcome(span.get("status"), attrs)
    return {
        "ts": _EPOCH + timedelta(microseconds=start // 1000),
        **identity(
            first(attrs, "gen_ai.provider.name", "gen_ai.system"),
            first(attrs, "gen_ai.response.model", "gen_ai.request.model"),
        ),
        "input_tokens": prompt_tokens(prompt, cache_read, cache_write, includes_cache=True),
        # an embedding has no output; one without any usage keeps both counts unknown
        "output_tokens": 0
        if output is None and prompt is not None and operation == "embeddings"
        else output,
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": attrs.get("gen_ai.usage.reasoning.output_tokens"),
        "latency_ms": latency,
        "ttft_ms": _ttft_ms(attrs),
        "status": status,
        "error_type": error_type,
        "request_id": first(attrs, "gen_ai.response.id") or span.get("spanId"),
        "max_tokens": attrs.get("gen_ai.request.max_tokens"),
        "service": service,
        # metadata
        "trace_id": span.get("traceId"),
        "span_id": span.get("spanId"),
        "span_name": span.get("name"),
        "error_class": _class_name(attrs.get("error.type")) if status == "error" else None,
        "http_status": code,
    }


def _outcome(status: Any, attrs: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    """(`ok`/`error`, normalised error type, HTTP status code) of a span."""
    raw_type = attrs.get("error.type")
    code = _http_code(attrs, status)
    failed = (
        (isinstance(status, dict) and status.get("code") in _ERROR_CODES)
        or (raw_type is not None and str(raw_type).strip() != "")
        or (code is not None and code >= 400)
    )
    if not failed:
        return "ok", None, code
    return "error", error_kind(raw_type, code), code


def _http_code(attrs: Mapping[str, Any], status: Any) -> int | None:
    """The HTTP status: on the span (`http.response.status_code`), as the error type, or in
    the status message (the OpenAI and Anthropic clients' "Error code: 429 - …")."""
    value = first(attrs, "http.response.status_code", "http.status_code")
    if value is None and str(attrs.get("error.type") or "").strip().isdigit():
        value = attrs["error.type"]
    if value is None and isinstance(status, dict) and isinstance(status.get("message"), str):
        found = _CODE_IN_MESSAGE.search(status["message"])
        value = found.group(1) if found else None
    code = number(value)
    return int(code) if code is not None and code.is_integer() and 100 <= code < 600 else None


def _class_name(raw: Any) -> str | None:
    """`openai.RateLimitError`, `<class 'openai.RateLimitError'>` → `RateLimitError`."""
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip()
    found = _CLASS.fullmatch(text)
    return (found.group(1) if found else text).rsplit(".", 1)[-1][:80]


def error_kind(raw_type: Any, code: int | None) -> str:
    """The record's error type of a failed span from its `error.type` and HTTP status:
    a known exception class first, then the HTTP status, else the class name itself."""
    name = _class_name(raw_type)
    stem = (name or "").lower().replace("_", "")
    for suffix in ("error", "exception"):
        stem = stem.removesuffix(suffix) if stem != suffix else stem
    if stem in _ERROR_CLASSES:
        return _ERROR_CLASSES[stem]
    if code is None and stem.isdigit():
        code = int(stem)
    if code is not None and code >= 400:
        return _HTTP_ERRORS.get(code) or ("server_error" if code >= 500 else f"http_{code}")
    return name if name is not None and name != "_OTHER" else "other"


def _ttft_ms(attrs: Mapping[str, Any]) -> float | None:
    seconds = number(first(attrs, "gen_ai.response.time_to_first_chunk",
                           "gen_ai.server.time_to_first_token"))  # fmt: skip
    return None if seconds is None else seconds * 1000


IMPORTER = Importer(name="otel-genai", sniff=sniff, read=read, field_notes=FIELD_NOTES)
