"""`langfuse-observations`: a JSON or JSON Lines export of Langfuse observations.

Read as Langfuse's public API answers: v1 (`/api/public/observations`, `model`, `usage`,
`calculatedTotalCost`, no end user or session), v2 (`/api/public/v2/observations`,
`providedModelName`, `userId`, `sessionId`, only the field groups asked for) and the UI's
export (like v1 with `userId`, no session); a page (`{"data": [...]}`) or one observation
per line, or pages one per line. Generations and embeddings are rows; spans, events and
the other observation types are no data rows. docs/telemetry/langfuse-observations.md
lists every field read and where it goes.

Tokens: Langfuse keeps usage by type and counts each once. Its ingestion takes OpenAI's
details out of the prompt count (`input` = prompt − `input_cached_tokens` − …), and
Anthropic's native `input` never held `cache_read_input_tokens` or
`cache_creation_input_tokens`; so for every provider the record's input_tokens is
`input` plus every input-side type (Langfuse's own rule: a key naming `input`), and
output_tokens is `output` plus every output-side type (`output_reasoning_tokens`, …).
A `total` of just input + output tells the opposite (a source that sent counts with the
details inside): then they are not added again.

Without usage: an empty `usageDetails` (or, in old v1 exports, all-zero `usage`) is no
usage recorded, so the record keeps a failed call (level ERROR) at 0 tokens and $0 and a
successful one with its tokens unknown. The source's cost is `costDetails.total`;
Langfuse writes $0 for a call it had no price or no usage for, which is no cost reported.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from netra.telemetry.import_report import Note
from netra.telemetry.importers._base import (
    Importer,
    NotARecord,
    Parsed,
    rows_of,
    with_notes,
)  # fmt: skip
from netra.telemetry.importers._fields import (
    error_type,
    first,
    identity,
    ms_between,
    number,
    parse_json,
    present,
    whole,
)  # fmt: skip
from netra.telemetry.importers._json import items
from netra.telemetry.schema import Defaults, RecordError, http_error_type

_RECORD_TYPES = {None, "GENERATION", "EMBEDDING"}
_PAGE_KEYS = frozenset({"data", "observations"})
# Fields only Langfuse's v1 observations API writes (its backwards-compatible usage).
_V1_ONLY = ("calculatedTotalCost", "promptTokens", "usage")
_FEATURE_KEYS = ("feature",)  # in the observation's metadata
# Names Langfuse's SDKs and integrations give a generation when the code gives none:
# the Python SDK's OpenAI wrapper, LangChain's chat model classes, the Vercel AI SDK and
# OpenLLMetry spans. They name the library, not the call site.
_SDK_NAMES = re.compile(
    r"OpenAI-generation|(?:Azure)?Chat[A-Z][A-Za-z]*|ai\.\w+\.do[A-Z]\w*"
    r"|(?:openai|anthropic|bedrock|vertexai|gemini|mistral|cohere)\.\w+"
)
# "Error code: 429 - {...}": how the OpenAI and Anthropic SDKs word an API error.
_HTTP_ERROR = re.compile(r"Error code: ([1-5]\d\d)")
_PROVIDER_CODE = re.compile(r"""['"]code['"]:\s*['"](\w+)['"]""")
_PROVIDER_TYPE = re.compile(r"""['"]type['"]:\s*['"](\w+)['"]""")
_EXCEPTION = re.compile(r"([A-Z]\w*(?:Error|Exception|Timeout))\b")
_CLIP = 500  # characters of Langfuse's free text (status message) kept in metadata
_FLAT = 256  # longest metadata string kept; longer and nested values are left out


def sniff(head: str) -> bool:
    return any(key in head for key in ('"usageDetails"', '"providedModelName"',
                                       '"calculatedTotalCost"')) or (
        '"traceId"' in head and '"startTime"' in head and '"GENERATION"' in head
    )  # fmt: skip


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    environments: Counter[str] = Counter()
    told: set[Note] = set()

    def mapper(observation: dict[str, Any]) -> dict[str, Any]:
        fields = record(observation)
        environments[str(observation.get("environment") or "default")] += 1
        if fields["model"] is None and defaults.model is None:
            raise RecordError(
                "model: missing (Langfuse's v2 API writes providedModelName only in its "
                "`model` field group), and no default_model was given for this upload"
            )
        if news := [note for note in _notes(observation) if note not in told]:
            told.update(news)
            return with_notes(fields, *news)
        return fields

    line = 0
    for line, outcome in rows_of(_observations(file), mapper, defaults, infer_provider=True):
        yield line, outcome
    if len(environments) > 1:
        yield line, Note(None, _mixed(environments))


def _observations(file: BinaryIO) -> Iterator[tuple[int, Any]]:
    """Each observation with its line; pages written one per line are opened."""
    for line, item in items(file, _PAGE_KEYS):
        page = item.get("data") if isinstance(item, dict) and "id" not in item else None
        if isinstance(page, list):
            yield from ((line, observation) for observation in page)
        else:
            yield line, item


def _mixed(environments: Counter[str]) -> str:
    (top, count), *rest = environments.most_common()
    counts = ", ".join([f"{count:,} calls from {top}", *(f"{n:,} from {e}" for e, n in rest)])
    return (
        f"environments mixed in this export ({counts}): each row keeps its environment "
        "in metadata.environment, so filter on it to analyse one, or export one "
        "environment (the Langfuse API's `environment` filter)"
    )


def record(observation: dict[str, Any]) -> dict[str, Any]:
    """The record fields of one observation; NotARecord for spans, events, tools…"""
    kind = observation.get("type")
    if kind not in _RECORD_TYPES:
        raise NotARecord
    usage, unit = _usage(observation)
    prompt, output, cache_read, cache_write, reasoning = _tokens(usage, kind == "EMBEDDING")
    failed = str(observation.get("level") or "").upper() == "ERROR"
    message = observation.get("statusMessage")
    metadata = _mapping(observation.get("metadata"))
    parameters = _mapping(observation.get("modelParameters"))
    start = observation.get("startTime")
    prompt_hash, prefix_hash = _hashes(observation.get("input"))
    return {
        "ts": start,
        **identity(None, first(observation, "model", "providedModelName")),
        "input_tokens": prompt,
        "output_tokens": output,
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
        "latency_ms": _duration(observation, "endTime", "latency"),
        "ttft_ms": _duration(observation, "completionStartTime", "timeToFirstToken"),
        "status": "error" if failed else "ok",
        "error_type": _failure(message) if failed else None,
        "feature": _feature(observation, metadata),
        "end_user": first(observation, "userId") or _trace(observation).get("userId"),
        "conversation_id": first(observation, "sessionId") or _trace(observation).get("sessionId"),
        "request_id": observation.get("id"),
        "prompt_hash": prompt_hash,
        "prefix_hash": prefix_hash,
        "max_tokens": first(
            parameters,
            "max_tokens",
            "maxTokens",
            "max_output_tokens",
            "max_completion_tokens",
            "maxOutputTokens",
        ),  # fmt: skip
        "cost_usd": _source_cost(observation, recorded=usage is not None),
        **_kept(observation, metadata, unit),
    }


# -- usage ------------------------------------------------------------------------------


def _usage(observation: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Langfuse's usage by type (None: none recorded) and a unit other than tokens."""
    if "usageDetails" in observation:  # Langfuse 3 (Dec 2024) on: authoritative, even empty
        details = parse_json(observation["usageDetails"])
        if details is None or details == {}:
            return None, None
        if not isinstance(details, dict):
            raise RecordError(f"usageDetails: must be an object (got {details!r:.80})")
        return details, None
    usage = parse_json(observation.get("usage"))
    usage = usage if isinstance(usage, dict) else {}
    legacy = {  # v1 before usageDetails: whole counts, details inside
        "input": first(usage, "input") if usage else first(observation, "promptTokens"),
        "output": first(usage, "output") if usage else first(observation, "completionTokens"),
        "total": first(usage, "total") if usage else first(observation, "totalTokens"),
    }
    unit = first(usage, "unit") or observation.get("unit")
    if unit is not None and str(unit).upper() != "TOKENS":
        return None, str(unit)  # characters, images, seconds…: no token counts
    # Those exports write 0 for a call without usage: no call reads and writes nothing.
    if all(number(value) in (None, 0) for value in legacy.values()):
        return None, None
    return legacy, None


def _input_side(key: str) -> bool:
    return key != "input" and ("input" in key or key == "cached_tokens")


def _output_side(key: str) -> bool:
    return key != "output" and ("output" in key or "reasoning" in key)


def _tokens(usage: Mapping[str, Any] | None, embedding: bool) -> tuple[Any, Any, int, int, int]:
    """input, output, cache read, cache write, reasoning, in the record's meaning."""
    if usage is None:
        return None, None, 0, 0, 0
    # A type Langfuse did not record is none of it (its own sums read it so).
    prompt, output = usage.get("input", 0), usage.get("output", 0)
    base_in, base_out = number(prompt), number(output)
    if base_in is None or base_out is None or not (base_in.is_integer() and base_out.is_integer()):
        return prompt, output, 0, 0, 0  # the record's rules will say why
    details_in = {key: whole(value) for key, value in usage.items() if _input_side(key)}
    details_out = {key: whole(value) for key, value in usage.items() if _output_side(key)}
    if not ({"input", "output"} & usage.keys() or details_in or details_out):
        # a total alone: an embedding's prompt, else counts that cannot be split
        return (usage.get("total"), 0, 0, 0, 0) if embedding else (None, None, 0, 0, 0)
    extra_in, extra_out = sum(details_in.values()), sum(details_out.values())
    in_, out = int(base_in), int(base_out)
    total = number(usage.get("total"))
    # Langfuse's own total sums every type; a total of just input + output tells that
    # this source put the details inside input and output already.
    if total is None or total != in_ + out or not (extra_in or extra_out):
        in_, out = in_ + extra_in, out + extra_out
    written = sum(v for k, v in details_in.items() if "cache_creation" in k or "cache_write" in k)
    read_ = sum(v for k, v in details_in.items() if "cache_read" in k or "cached" in k)
    reasoning = sum(v for k, v in details_out.items() if "reasoning" in k)
    return in_, out, read_, written, reasoning


def _source_cost(observation: Mapping[str, Any], *, recorded: bool) -> Any:
    """The cost Langfuse computed; None where it had no price (no `costDetails`)."""
    if "costDetails" in observation:
        costs = parse_json(observation["costDetails"])
        if not isinstance(costs, dict):
            return costs  # the record's rules reject it, with its value
        if not costs:
            return None
        total = costs.get("total")
        return total if present(total) else sum(number(v) or 0.0 for v in costs.values())
    cost = first(observation, "totalCost", "calculatedTotalCost")
    # Old exports write $0 for a call without usage: Langfuse priced nothing.
    return None if not recorded and number(cost) == 0 else cost


# -- the rest of the record -------------------------------------------------------------


def _duration(observation: Mapping[str, Any], end: str, seconds: str) -> float | None:
    """Milliseconds from startTime to `end`, else Langfuse's own figure in seconds."""
    if present(observation.get(end)):
        return ms_between(observation.get("startTime"), observation[end], end)
    value = number(observation.get(seconds))
    return None if value is None else value * 1000


def _failure(message: Any) -> str | None:
    """The error type of a failed generation from its status message: the HTTP status of
    an SDK's "Error code: 429 - {...}", else the provider's error code, else the
    exception's name, else the shared words (timeout, rate limit…)."""
    if not present(message):
        return None
    text = str(message)
    if status := _HTTP_ERROR.search(text):
        code = int(status.group(1))
        named = error_type(str(code))
        if named != str(code):  # rate_limit, timeout, server_error
            return named
        # the provider's own words: OpenAI's `code`, else the innermost Anthropic `type`
        words = _PROVIDER_CODE.findall(text) or [
            word for word in _PROVIDER_TYPE.findall(text) if word != "error"
        ]
        return words[0] if words else http_error_type(code)
    named = error_type(text)
    if named in ("rate_limit", "timeout", "server_error"):
        return named
    exception = _EXCEPTION.match(text.strip())
    return exception.group(1) if exception else named


def _feature(observation: Mapping[str, Any], metadata: Mapping[str, Any]) -> Any:
    """metadata `feature` > promptName > name > traceName > a name an SDK gave."""
    folded = {str(key).strip().lower(): value for key, value in metadata.items()}
    given = first(folded, *_FEATURE_KEYS)
    if isinstance(given, str | int) and not isinstance(given, bool):
        return given
    name = observation.get("name")
    if present(name) and not _SDK_NAMES.fullmatch(str(name).strip()):
        return first(observation, "promptName") or name
    return first(observation, "promptName", "traceName") or name


def _trace(observation: Mapping[str, Any]) -> Mapping[str, Any]:
    trace = observation.get("trace")
    return trace if isinstance(trace, dict) else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    value = parse_json(value)
    return value if isinstance(value, dict) else {}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _hashes(raw: Any) -> tuple[str | None, str | None]:
    """prompt_hash of the whole input, prefix_hash of its system prompt and tools."""
    if not present(raw):
        return None, None
    value = parse_json(raw)
    return _digest(value), _prefix(value)


def _prefix(value: Any) -> str | None:
    """The stable head of a prompt as Langfuse's integrations log it: the leading system
    (or developer) messages, Anthropic's `system`, and the tools beside the messages."""
    messages = value.get("messages") if isinstance(value, dict) else value
    prefix: list[Any] = []
    if isinstance(value, dict) and present(value.get("system")):
        prefix.append({"system": value["system"]})
    for message in messages if isinstance(messages, list) else []:
        if not (isinstance(message, dict) and message.get("role") in ("system", "developer")):
            break
        prefix.append(message)
    if prefix and isinstance(value, dict) and present(value.get("tools")):
        prefix.append({"tools": value["tools"]})
    return _digest(prefix) if prefix else None


def _kept(
    observation: Mapping[str, Any], metadata: Mapping[str, Any], unit: str | None
) -> dict[str, Any]:
    """What the record has no field for, kept as the row's metadata."""
    level = observation.get("level")
    message = observation.get("statusMessage")
    # Langfuse counts the tokens of a call sent without usage with its own tokenizer:
    # the UI export tells by an empty `providedUsageDetails`.
    provided = parse_json(observation.get("providedUsageDetails"))
    tokenised = provided == {} and bool(parse_json(observation.get("usageDetails")))
    flat = {key: value for key, value in metadata.items()
            if isinstance(value, int | float | bool) or isinstance(value, str)
            and len(value) <= _FLAT}  # fmt: skip
    kept = {
        "trace_id": observation.get("traceId"),
        "environment": observation.get("environment"),
        "prompt_name": observation.get("promptName"),
        "prompt_version": observation.get("promptVersion"),
        "observation_name": observation.get("name"),
        "observation_type": observation.get("type"),
        "trace_name": observation.get("traceName"),
        "version": observation.get("version"),
        "release": observation.get("release"),
        "level": level if level not in (None, "DEFAULT") else None,
        "status_message": str(message)[:_CLIP] if present(message) else None,
        "usage_unit": unit,
        "usage_tokenised_by_langfuse": tokenised or None,
        "langfuse_metadata": flat or None,
    }
    return {key: value for key, value in kept.items() if present(value)}


def _notes(observation: Mapping[str, Any]) -> list[Note]:
    """What this kind of export lacks (`read` tells each once)."""
    notes = []
    v1 = any(key in observation for key in _V1_ONLY) and "userId" not in observation
    trace = _trace(observation)
    if v1 and not trace:
        api = "Langfuse's v1 observations API leaves out the trace's {}; use the v2 API " \
              "export (/api/public/v2/observations?fields=core,basic,…), which has it"  # fmt: skip
        notes += [Note("end_user", "end user not in this export: " + api.format("userId")),
                  Note("conversation_id", "session not in this export: "
                       + api.format("sessionId"))]  # fmt: skip
    else:
        for key, field in (("userId", "end_user"), ("sessionId", "conversation_id")):
            if key not in observation and key not in trace:
                notes.append(Note(field, f"{key} not in this export (Langfuse's UI export "
                                  "has no sessionId; the v2 API has both in its `basic` "
                                  "field group): use the v2 API export"))  # fmt: skip
    if not any(key in observation for key in ("usageDetails", *_V1_ONLY)):
        notes.append(Note(None, "no token usage in this export: ask the v2 API for its "
                          "`usage` field group; without it, usage is unknown"))  # fmt: skip
    return notes


IMPORTER = Importer(name="langfuse-observations", sniff=sniff, read=read)
