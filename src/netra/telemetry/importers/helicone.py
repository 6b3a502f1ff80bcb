"""`helicone`: Helicone's request logs, in either of the two shapes Helicone exports.

The API / UI shape (`/v1/request/query-clickhouse`, `/v1/request/query`, the UI's and
`@helicone/export`'s CSV) names fields `response_status`, `delay_ms`, `request_user_id`,
`request_properties`, `request_model` and gives `cost` in USD. The ClickHouse shape (rows
of Helicone's `request_response_rmt` table) names them `status`, `latency`, `user_id`,
`properties`, `model` and stores `cost` as a whole number of billionths of a dollar
(Helicone's COST_PRECISION_MULTIPLIER); a `cost` written with a fraction was already
divided and is USD. A row is of the API shape when it has any of the API's names.

Token counts are Helicone's as the provider reported them. Claude on Anthropic, Bedrock
and Vertex counts the prompt without its cache reads and writes (the record's
input_tokens adds them back); OpenAI-style usage already includes them. Rows counted by
Helicone's usage processor (its AI Gateway, and any row with `reasoning_tokens`, which only
it records) leave cached tokens out of `prompt_tokens` and reasoning out of
`completion_tokens` for every provider.

A response served from Helicone's own cache (`cache_reference_id` naming another request)
reached no provider: kept as a successful call with 0 tokens and $0, what Helicone logged
for it in the metadata. A failed call whose counts are all 0 (Helicone writes 0 when it
got no usage) is kept without usage; a successful one likewise, its tokens unknown. Rows
that are no LLM call (tool and vector-DB logs) are no data rows. docs/telemetry/helicone.md
lists every field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from netra.telemetry import pricing
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
    prompt_tokens,
    whole,
)  # fmt: skip
from netra.telemetry.importers._json import items
from netra.telemetry.importers._tabular import header_names, looks_like_json, rows
from netra.telemetry.schema import Defaults, RecordError, http_error_type

_API_NAMES = frozenset({"response_status", "delay_ms", "request_user_id", "request_properties",
                        "request_model", "request_path", "response_model"})  # fmt: skip
COST_PRECISION_MULTIPLIER = 1_000_000_000  # Helicone's: ClickHouse cost = USD × this
NIL_UUID = "00000000-0000-0000-0000-000000000000"  # cache_reference_id of a non-hit
_CLAUDE_HOSTS = frozenset({"aws", "google"})  # serve Claude with Anthropic's usage counts
# Helicone's provider names that name no price list (the catalogue infers it from the model)
_PROVIDERS: dict[str, str | None] = {"x": "x-ai", "vertex": "google", "custom": None,
                                     "local": None, "helicone": None}  # fmt: skip
_NOT_CALLS = ("vector_db", "assistant-polling")  # models of logs that are no LLM call
_FEATURE_KEYS = ("feature", "helicone-property-feature", "use_case", "use-case", "route")
_SESSION_KEYS = ("helicone-session-id", "session_id", "session")
_STATUS_WORDS = {0: "no_response", -3: "cancelled"}  # Helicone's codes for no HTTP answer
_VOLATILE = frozenset({"stream", "stream_options", "user", "metadata", "store"})
_MAP_PAIR = re.compile(r"'((?:[^'\\]|\\.)*)'\s*:\s*'((?:[^'\\]|\\.)*)'")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}

CACHE_HIT = Note(None, "helicone cache hit")  # a marker `read` counts, never shown
NANO_COST = Note(
    "cost_usd",
    "read from Helicone's ClickHouse `cost` column, stored in billionths of a dollar "
    "(divided by 1e9)",
)
CLAUDE_COUNTS = Note(
    "cached_input_tokens",
    "Claude's prompt count (Anthropic, Bedrock, Vertex) leaves cache reads and writes out: "
    "input_tokens adds them back",
)
FIELD_NOTES = {
    "feature": "no `feature` property: send a Helicone-Property-Feature header to split "
    "spend by feature",
    "end_user": "no Helicone user ids: send Helicone-User-Id to see spend per end user",
    "conversation_id": "no Helicone sessions (Helicone-Session-Id): prompt growth over a "
    "conversation cannot be measured",
    "prompt_hash": "no request bodies in this export (the API's --include-body, or "
    "ClickHouse's request_body): repeated prompts cannot be found",
    "prefix_hash": "Helicone exports no system prompt apart: shared prefixes cannot be found",
    "max_tokens": "output caps are only in request bodies, which this export lacks",
    "ttft_ms": "Helicone records time to first token for streamed requests only",
}


def sniff(head: str) -> bool:
    if looks_like_json(head):  # API rows may start with a long response_body
        return '"request_created_at"' in head or (
            '"response_id"' in head and '"response_body"' in head
        )
    return "request_created_at" in header_names(head)


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    head = file.read(1024).decode("utf-8-sig", errors="replace")
    file.seek(0)
    source: Iterator[tuple[int, Any]] = (
        items(file, frozenset({"data", "requests"})) if looks_like_json(head) else rows(file)
    )
    skipped = 0

    def mapper(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal skipped
        try:
            return record(request)
        except NotARecord:
            skipped += 1
            raise

    hits, hit, line = 0, False, 0
    for line, outcome in rows_of(source, mapper, defaults, infer_provider=True):
        if outcome == CACHE_HIT:
            hit = True
            continue
        if not isinstance(outcome, Note):
            hits += hit and isinstance(outcome, tuple)
            hit = False
        yield line, outcome
    if hits:
        yield line, Note(None, f"{hits:,} response{'s' if hits != 1 else ''} served from "
                         "Helicone's cache (cache_reference_id): no provider was called, so "
                         "kept with 0 tokens and $0, not counted as provider spend; what "
                         "Helicone logged for them is in their metadata")  # fmt: skip
    if skipped:
        yield line, Note(None, f"{skipped:,} Helicone log{'s' if skipped != 1 else ''} of "
                         "tools or vector databases, not LLM calls: left out")  # fmt: skip


def _clean(request: Mapping[str, Any]) -> dict[str, Any]:
    # ClickHouse writes NULL as \N in its text formats.
    return {str(k).strip(): None if v == "\\N" else v for k, v in request.items()}


def _clickhouse_map(text: str) -> dict[str, str]:
    """A Map(String, String) as ClickHouse's text formats write it: {'k':'v',…}."""

    def unescape(value: str) -> str:
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), value)

    return {unescape(k): unescape(v) for k, v in _MAP_PAIR.findall(text)}


def _mapping(value: Any) -> dict[str, Any] | None:
    """Properties as a dict: a JSON object, JSON text (also as @helicone/export's CSV
    doubles its quotes), or ClickHouse's map text; None when there is none."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("{'"):
        return _clickhouse_map(text)
    for candidate in (text, text.replace('""', '"')):
        parsed = parse_json(candidate)
        if isinstance(parsed, dict):
            return parsed
    return None


def _properties(request: Mapping[str, Any]) -> Any:
    """The custom properties (Helicone-Property-* headers, sessions), from whichever field
    holds them, with any flattened `properties.<name>` columns; raw text if unreadable."""
    raw = first(request, "request_properties", "properties")
    found = _mapping(raw)
    for key, value in request.items():
        prefix, _, name = key.partition(".")
        if name and prefix in ("properties", "request_properties") and present(value):
            found = {**(found or {}), name: value}
    return found if found is not None else raw


def _status(value: Any) -> tuple[str, str | None]:
    code = number(value)
    if code is None or not code.is_integer():
        text = str(value or "").strip().lower()
        failed = text not in ("", "ok", "success", "200")
        return ("error", error_type(value)) if failed else ("ok", None)
    if 0 < code < 400:
        return "ok", None
    if code >= 400:
        return "error", http_error_type(int(code))
    return "error", _STATUS_WORDS.get(int(code), f"helicone_status_{int(code)}")


def _cost(request: Mapping[str, Any], api: bool) -> tuple[Any, bool]:
    """The source's cost in USD, and whether it was converted from ClickHouse's units."""
    usd = first(request, "cost_usd", "costUSD")
    cost = request.get("cost")
    if usd is not None or api or not present(cost):
        return (usd if usd is not None else cost), False
    whole_units = cost if isinstance(cost, int) and not isinstance(cost, bool) else None
    if isinstance(cost, str) and cost.strip().isascii() and cost.strip().isdigit():
        whole_units = int(cost.strip())
    if whole_units is None:  # written with a fraction: already divided, USD
        return cost, False
    return whole_units / COST_PRECISION_MULTIPLIER, whole_units > 0


def _by_usage_processor(request: Mapping[str, Any]) -> bool:
    return (
        str(request.get("request_referrer") or "").strip() == "ai-gateway"
        or present(request.get("ai_gateway_body_mapping"))
        or whole(request.get("reasoning_tokens")) > 0
    )


def _claude_counts(provider: str | None, model: str | None) -> bool:
    """Whether the provider reports usage as Anthropic's API does (prompt without cache)."""
    host = provider or (pricing.provider_of(model) if model else None)
    return host == "anthropic" or (host in _CLAUDE_HOSTS and "claude" in (model or "").lower())


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1")


def _zero(value: Any) -> bool:
    return not present(value) or number(value) == 0


def _usage(request: Mapping[str, Any], names: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The record's token fields, and whether Claude's native counts were normalised. All
    counts 0 or absent: no usage recorded (the record's rules then decide what that means)."""
    prompt, completion = request.get("prompt_tokens"), request.get("completion_tokens")
    read, write = request.get("prompt_cache_read_tokens"), request.get("prompt_cache_write_tokens")
    reasoning = request.get("reasoning_tokens")
    if all(_zero(v) for v in (prompt, completion, read, write, reasoning)):
        return {}, False
    claude = _claude_counts(names["provider"], names["model"])
    native = claude or _by_usage_processor(request)
    parts = number(completion), number(reasoning)
    output = completion  # left as it is when not a count: the record's rules name it
    if all(p is not None and p.is_integer() and p >= 0 for p in parts):
        output = int(parts[0] or 0) + int(parts[1] or 0)  # completion leaves reasoning out
    return {
        "input_tokens": prompt_tokens(prompt, read, write, includes_cache=not native),
        "output_tokens": output,
        "cached_input_tokens": read,
        "cache_write_tokens": write,
        "reasoning_tokens": reasoning,
    }, claude and not (_zero(read) and _zero(write))


def _cache_hit(request: Mapping[str, Any]) -> str | None:
    """The request a Helicone cache hit was answered from; None for any other request."""
    reference = str(request.get("cache_reference_id") or "").strip()
    own = str(request.get("request_id") or "").strip()
    return reference if reference not in ("", NIL_UUID, own) else None


def _logged(request: Mapping[str, Any], cost: Any) -> dict[str, Any]:
    """What Helicone logged for a cache hit, kept as metadata (never billed)."""
    names = ("prompt_tokens", "completion_tokens", "prompt_cache_read_tokens",
             "prompt_cache_write_tokens", "reasoning_tokens")  # fmt: skip
    logged = {f"logged_{n}": _plain(request[n]) for n in names if not _zero(request.get(n))}
    if not _zero(cost):
        logged["logged_cost_usd"] = _plain(cost)
    return logged


def _plain(value: Any) -> Any:
    """A number as a number (CSV cells and ClickHouse's quoted integers are text)."""
    found = number(value)
    if found is None:
        return value
    return int(found) if found.is_integer() else found


def _body(request: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """prompt_hash and max_tokens from the request body, where the export has it."""
    body = parse_json(request.get("request_body"))
    cap = None
    if isinstance(body, dict) and body and "helicone_message" not in body:
        prompt = {k: v for k, v in body.items() if k not in _VOLATILE}
        text = json.dumps(prompt, sort_keys=True, separators=(",", ":"), default=str)
        limit = number(first(body, "max_tokens", "max_completion_tokens", "max_output_tokens"))
        cap = int(limit) if limit is not None and limit.is_integer() and limit >= 0 else None
    elif isinstance(body, str) and body.strip():
        text = body
    else:
        return None, None
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32], cap


def _latency(request: Mapping[str, Any]) -> Any:
    given = first(request, "delay_ms", "latency")
    if given is not None:
        return given
    try:
        span = ms_between(request.get("request_created_at"),
                          request.get("response_created_at"), "response_created_at")  # fmt: skip
    except RecordError:
        return None
    return span if span is not None and span >= 0 else None


def _billed(
    request: Mapping[str, Any], names: Mapping[str, Any], status: str, cost: Any
) -> tuple[dict[str, Any], dict[str, Any], Any, bool]:
    """Token fields, a cache hit's metadata, the source's cost, and whether Claude's
    counts were normalised. A hit was billed nothing: 0 tokens, $0, Helicone's log aside."""
    hit = _cache_hit(request)
    if hit is not None:
        logged = {"helicone_cache_hit": True, "cache_reference_id": hit, **_logged(request, cost)}
        return {"input_tokens": 0, "output_tokens": 0}, logged, 0, False
    usage, claude = _usage(request, names)
    if not usage and status == "ok" and _zero(cost):
        cost = None  # Helicone's 0 for a call it had no usage to price: not "free"
    return usage, {}, cost, claude


def record(request: dict[str, Any]) -> dict[str, Any]:
    request = _clean(request)
    model = first(request, "model_override", "model", "response_model", "request_model")
    if str(model or "").strip().lower() in _NOT_CALLS or str(model or "").startswith("tool:"):
        raise NotARecord
    provider = request.get("provider")
    names = identity(_PROVIDERS.get(str(provider or "").strip().lower(), provider), model)
    api = not _API_NAMES.isdisjoint(request)
    status, error = _status(first(request, "response_status", "status"))
    cost, converted = _cost(request, api)
    usage, extra, cost, claude = _billed(request, names, status, cost)
    hit = "helicone_cache_hit" in extra
    properties = _properties(request)
    folded = ({str(k).strip().lower(): v for k, v in properties.items()}
              if isinstance(properties, dict) else {})  # fmt: skip
    prompt_hash, max_tokens = _body(request)
    ttft = request.get("time_to_first_token")
    fields = {
        "ts": request.get("request_created_at"),
        **names,
        **usage,
        "latency_ms": _latency(request),
        "ttft_ms": None if _zero(ttft) else ttft,  # Helicone writes 0 when not streamed
        "status": status,
        "error_type": error,
        "feature": first(folded, *_FEATURE_KEYS),
        "end_user": first(request, "request_user_id", "user_id"),
        "conversation_id": first(folded, *_SESSION_KEYS),
        "request_id": first(request, "request_id", "id"),
        "prompt_hash": prompt_hash,
        "max_tokens": max_tokens,
        "cost_usd": cost,
        "properties": properties if present(properties) and properties != {} else None,
        "country_code": first(request, "country_code"),
        "cache_enabled": _flag(request.get("cache_enabled")) or None,
        **extra,
    }
    notes = [n for n, given in ((CACHE_HIT, hit), (NANO_COST, converted and not hit),
                                (CLAUDE_COUNTS, claude)) if given]  # fmt: skip
    return with_notes(fields, *notes) if notes else fields


IMPORTER = Importer(name="helicone", sniff=sniff, read=read, field_notes=FIELD_NOTES)
