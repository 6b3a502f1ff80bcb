"""`langfuse-observations`: a JSON or JSON Lines export of Langfuse generations.

Langfuse keeps usage by type and counts each once: `input` holds only the prompt tokens
no more specific type claims (its SDKs move OpenAI's cached tokens out of `input` into
`input_cached_tokens`; Anthropic's native `cache_read_input_tokens` never were in it).
So the record's input_tokens is `input` plus every input-side type; when the export's
`total` shows `input` already held them, they are not added again. Langfuse records no
provider: it is the upload's default_provider, else the one the catalogue knows the
model under. Observations other than generations (spans, events) are no data rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from netra.telemetry.importers._base import Importer, NotARecord, Parsed, rows_of
from netra.telemetry.importers._fields import (
    error_type,
    first,
    identity,
    ms_between,
    number,
    parse_json,
    whole,
)  # fmt: skip
from netra.telemetry.importers._json import items
from netra.telemetry.schema import Defaults

_RECORD_TYPES = {None, "GENERATION", "EMBEDDING"}
_CACHE_READ = ("input_cached_tokens", "cache_read_input_tokens", "input_cache_read",
               "input_cached", "cached_tokens")  # fmt: skip
_CACHE_WRITE = ("cache_creation_input_tokens", "input_cache_creation", "input_cache_write")
_REASONING = ("output_reasoning_tokens", "output_reasoning")


def sniff(head: str) -> bool:
    return '"usageDetails"' in head or (
        '"traceId"' in head and '"startTime"' in head and '"GENERATION"' in head
    )


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    observations = items(file, frozenset({"data", "observations"}))
    return rows_of(observations, record, defaults, infer_provider=True)


def _usage(observation: Mapping[str, Any]) -> dict[str, Any]:
    details = parse_json(first(observation, "usageDetails", "usage"))
    if isinstance(details, dict) and details:
        return details
    return {  # exports before usageDetails
        "input": first(observation, "promptTokens", "inputUsage"),
        "output": first(observation, "completionTokens", "outputUsage"),
        "total": first(observation, "totalTokens", "totalUsage"),
    }


def _side(usage: Mapping[str, Any], prefix: str, named: tuple[str, ...]) -> int:
    """Tokens of the `prefix` side held in types other than the plain one."""
    return sum(
        whole(value)
        for key, value in usage.items()
        if key != prefix.rstrip("_") and (key.startswith(prefix) or key in named)
    )


def _tokens(usage: Mapping[str, Any]) -> tuple[Any, Any, int, int, int]:
    """input, output, cache read, cache write, reasoning, in the record's meaning."""
    prompt, output = usage.get("input"), usage.get("output")
    cache_read = sum(whole(usage.get(key)) for key in _CACHE_READ)
    cache_write = sum(whole(usage.get(key)) for key in _CACHE_WRITE)
    extra_in = _side(usage, "input_", _CACHE_READ + _CACHE_WRITE)
    extra_out = _side(usage, "output_", ())
    base_in, base_out = number(prompt), number(output)
    if base_in is None or base_out is None or min(base_in, base_out) < 0:
        return prompt, output, cache_read, cache_write, 0  # the record's rules will say why
    if not (base_in.is_integer() and base_out.is_integer()):
        return prompt, output, cache_read, cache_write, 0
    total = number(usage.get("total"))
    # Langfuse's own total sums every type; a total of just input + output tells that
    # this source put the details inside input and output already.
    if total is None or total != base_in + base_out or not (extra_in or extra_out):
        prompt, output = int(base_in) + extra_in, int(base_out) + extra_out
    reasoning = sum(whole(usage.get(key)) for key in _REASONING)
    return prompt, output, cache_read, cache_write, reasoning


def record(observation: dict[str, Any]) -> dict[str, Any]:
    if observation.get("type") not in _RECORD_TYPES:
        raise NotARecord
    prompt, output, cache_read, cache_write, reasoning = _tokens(_usage(observation))
    costs = parse_json(observation.get("costDetails"))
    cost = first(costs, "total") if isinstance(costs, dict) else None
    parameters = parse_json(observation.get("modelParameters"))
    parameters = parameters if isinstance(parameters, dict) else {}
    trace = observation.get("trace")
    trace = trace if isinstance(trace, dict) else {}
    start = observation.get("startTime")
    failed = str(observation.get("level") or "").upper() == "ERROR"
    return {
        "ts": start,
        **identity(
            first(observation, "provider", "providedProvider"),
            first(observation, "model", "providedModelName"),
        ),  # fmt: skip
        "input_tokens": prompt,
        "output_tokens": 0 if output is None and observation.get("type") == "EMBEDDING" else output,
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
        "latency_ms": ms_between(start, observation.get("endTime"), "endTime"),
        "ttft_ms": ms_between(
            start, observation.get("completionStartTime"), "completionStartTime"
        ),  # fmt: skip
        "status": "error" if failed else "ok",
        "error_type": error_type(observation.get("statusMessage")) if failed else None,
        "feature": observation.get("name"),
        "end_user": first(observation, "userId", "traceUserId") or trace.get("userId"),
        "conversation_id": first(observation, "sessionId") or trace.get("sessionId"),
        "request_id": observation.get("id"),
        "max_tokens": first(
            parameters, "max_tokens", "maxTokens", "max_output_tokens", "max_completion_tokens"
        ),  # fmt: skip
        "cost_usd": cost
        if cost is not None
        else first(observation, "calculatedTotalCost", "totalPrice"),
        "trace_id": observation.get("traceId"),
    }


IMPORTER = Importer(name="langfuse-observations", sniff=sniff, read=read)
