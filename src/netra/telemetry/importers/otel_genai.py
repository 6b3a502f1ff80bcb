"""`otel-genai`: OpenTelemetry spans as OTLP/JSON, GenAI semantic conventions.

Read as JSON Lines of export requests (`{"resourceSpans": [...]}` per line, as the
collector's file exporter writes them) or as one such document, streamed one
`resourceSpans` entry at a time. Each span that records a GenAI inference is a row;
other spans (HTTP, database, agent or tool spans) are no data rows. A rejected span is
reported at the line its entry starts on, with its spanId in the reason.

Cached tokens: the conventions say `gen_ai.usage.input_tokens` includes cached ones, as
the record does. Some instrumentations still report Anthropic's native count, which
leaves them out: a count smaller than its cached parts is taken as that and summed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from netra.telemetry.importers._base import Importer, NotARecord, Parsed, Unreadable, mapped
from netra.telemetry.importers._fields import first, identity, number, prompt_tokens
from netra.telemetry.importers._json import items
from netra.telemetry.schema import Defaults, RecordError

# Operations that are an LLM call; spans of other GenAI operations are no data rows.
_INFERENCE = {"chat", "text_completion", "generate_content", "completion", "embeddings"}
_NOT_INFERENCE = {"invoke_agent", "create_agent", "execute_tool"}
_USAGE = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
          "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")  # fmt: skip
_ERROR_CODES = {2, "2", "STATUS_CODE_ERROR", "ERROR"}
_EPOCH = datetime(1970, 1, 1)  # naive UTC, as the record stores ts


def sniff(head: str) -> bool:
    return '"resourceSpans"' in head or '"scopeSpans"' in head


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    for line, item in items(file, frozenset({"resourceSpans"})):
        if isinstance(item, Unreadable):
            yield line, str(item)
            continue
        if not isinstance(item, dict):
            yield line, f"expected an OTLP resourceSpans object, got {type(item).__name__}"
            continue
        entries = item.get("resourceSpans", [item])
        for entry in entries if isinstance(entries, list) else [entries]:
            yield from _spans(line, entry, defaults)


def _spans(line: int, entry: Any, defaults: Defaults) -> Iterator[Parsed]:
    if not isinstance(entry, dict):
        yield line, "expected an OTLP resourceSpans object"
        return
    resource = attributes(entry.get("resource", {}).get("attributes"))
    for scope in entry.get("scopeSpans") or entry.get("instrumentationLibrarySpans") or []:
        for span in scope.get("spans", []) if isinstance(scope, dict) else []:
            outcome = mapped(lambda s: _record(s, resource), span, defaults)
            if isinstance(outcome, str) and isinstance(span, dict):
                outcome = f"span {span.get('spanId') or '?'}: {outcome}"
            if outcome is not None:
                yield line, outcome


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


def _record(span: dict[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    attrs = attributes(span.get("attributes"))
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
    status = span.get("status") or {}
    failed = isinstance(status, dict) and status.get("code") in _ERROR_CODES
    return {
        "ts": _EPOCH + timedelta(microseconds=start // 1000),
        **identity(
            first(attrs, "gen_ai.provider.name", "gen_ai.system"),
            first(attrs, "gen_ai.response.model", "gen_ai.request.model"),
        ),
        "input_tokens": prompt_tokens(prompt, cache_read, cache_write, includes_cache=True),
        "output_tokens": 0 if output is None and operation == "embeddings" else output,
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": attrs.get("gen_ai.usage.reasoning.output_tokens"),
        "latency_ms": latency,
        "ttft_ms": _ttft_ms(attrs),
        "status": "error" if failed or attrs.get("error.type") else "ok",
        "error_type": attrs.get("error.type"),
        "feature": first(attrs, "feature", "app.feature", "gen_ai.agent.name")
        or resource.get("service.name"),
        "end_user": first(attrs, "enduser.id", "user.id"),
        "conversation_id": attrs.get("gen_ai.conversation.id"),
        "request_id": first(attrs, "gen_ai.response.id") or span.get("spanId"),
        "max_tokens": attrs.get("gen_ai.request.max_tokens"),
        "trace_id": span.get("traceId"),
        "span_id": span.get("spanId"),
        "span_name": span.get("name"),
    }


def _ttft_ms(attrs: Mapping[str, Any]) -> float | None:
    seconds = number(first(attrs, "gen_ai.response.time_to_first_chunk",
                           "gen_ai.server.time_to_first_token"))  # fmt: skip
    return None if seconds is None else seconds * 1000


IMPORTER = Importer(name="otel-genai", sniff=sniff, read=read)
