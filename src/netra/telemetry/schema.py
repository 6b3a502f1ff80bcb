"""The request record of TELEMETRY.md: its columns and the rules every importer applies.

Every input format maps its rows to a plain dict of record fields and hands it to
`parse_record`, so one set of rules (required fields, defaults, types, bounds) decides
what is kept, and every rejection reason reads the same whatever the format.

Token usage: instrumentations write none on a failed call, and none on a successful one
they could not measure (a stream without usage). Such calls are kept, never guessed:
a failed call without usage costs nothing (0 tokens, $0; its retries are what costs),
a successful one keeps its token counts unknown (NULL), so sums of tokens and cost skip
it. Both are stored with `usage_recorded` false. Half a usage (input without output on
a successful call) is a broken record and rejected.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from netra.telemetry import pricing

# Stored columns in order (the analytics table adds dataset_id before and cost_usd after).
# `ts` is stored as a naive UTC TIMESTAMP so no engine time zone setting can shift it.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("ts", "TIMESTAMP"),
    ("provider", "VARCHAR"),
    ("model", "VARCHAR"),
    ("input_tokens", "BIGINT"),
    ("output_tokens", "BIGINT"),
    ("cached_input_tokens", "BIGINT"),
    ("cache_write_tokens", "BIGINT"),
    ("reasoning_tokens", "BIGINT"),
    ("latency_ms", "DOUBLE"),
    ("ttft_ms", "DOUBLE"),
    ("status", "VARCHAR"),
    ("error_type", "VARCHAR"),
    ("feature", "VARCHAR"),
    ("end_user", "VARCHAR"),
    ("conversation_id", "VARCHAR"),
    ("request_id", "VARCHAR"),
    ("prompt_hash", "VARCHAR"),
    ("prefix_hash", "VARCHAR"),
    ("max_tokens", "BIGINT"),
    ("batch", "BOOLEAN"),
    ("source_cost_usd", "DOUBLE"),
    ("metadata", "VARCHAR"),  # JSON text of the source's extra columns
    # false: the source recorded no token usage (failed: 0 tokens; else tokens NULL)
    ("usage_recorded", "BOOLEAN"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)

_STRINGS = (
    "error_type",
    "feature",
    "end_user",
    "conversation_id",
    "request_id",
    "prompt_hash",
    "prefix_hash",
)
_OPTIONAL_COUNTS = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
_DURATIONS = ("latency_ms", "ttft_ms")
RECORD_FIELDS = frozenset(
    {"ts", "provider", "model", "input_tokens", "output_tokens", "status", "max_tokens"}
    | {"batch", "cost_usd"}
    | set(_STRINGS)
    | set(_OPTIONAL_COUNTS)
    | set(_DURATIONS)
)
MAX_STRING = 2000
MAX_COUNT = 10**12  # far above any real request; stops overflow and unit mix-ups
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
# `status` may be an HTTP status code: 400 and above is a failed call, whose error type
# (when none is given) comes from the code.
HTTP_STATUS = re.compile(r"[1-5][0-9][0-9]")
HTTP_ERROR_TYPES = {408: "timeout", 429: "rate_limit", 500: "server_error", 502: "server_error",
                    503: "server_error", 504: "timeout", 529: "server_error"}  # fmt: skip


class RecordError(ValueError):
    """A record breaks a rule; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Defaults:
    """Provider and model for formats (or rows) that lack them, from the upload form."""

    provider: str | None = None
    model: str | None = None


def defaults_of(default_provider: str | None, default_model: str | None) -> Defaults:
    """An upload's defaults as the record stores them (provider ids are lower case)."""
    return Defaults(
        default_provider.strip().lower() if default_provider and default_provider.strip()
        else None,
        default_model.strip() if default_model and default_model.strip() else None,
    )  # fmt: skip


Row = tuple[Any, ...]


def sql_literal(value: str | None) -> str:
    """A SQL string literal (NULL for None), for the few values not sent as parameters."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise RecordError(f"{name}: must be a whole number ≥ 0 (got {value!r})")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                as_float = math.nan
            if as_float.is_integer():
                number = int(as_float)
    if number is None or number < 0:
        raise RecordError(f"{name}: must be a whole number ≥ 0 (got {value!r})")
    if number > MAX_COUNT:
        raise RecordError(f"{name}: implausibly large ({number} > {MAX_COUNT})")
    return number


def _amount(name: str, value: Any) -> float:
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value.strip())
    if not math.isfinite(number) or number < 0:
        raise RecordError(f"{name}: must be a number ≥ 0 (got {value!r})")
    return number


def parse_timestamp(value: Any) -> datetime:
    """ISO-8601 with or without Z/offset, up to 7 fractional digits; naive means UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordError(f"ts: not an ISO-8601 timestamp (got {value!r})") from None
    else:
        raise RecordError(f"ts: not an ISO-8601 timestamp (got {value!r})")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _string(name: str, value: Any) -> str | None:
    if not _present(value):
        return None
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        raise RecordError(f"{name}: must be a string (got {type(value).__name__})")
    if len(text) > MAX_STRING:
        raise RecordError(f"{name}: longer than {MAX_STRING} characters")
    return text


def _flag(value: Any) -> bool:
    if not _present(value):
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RecordError(f"batch: must be true or false (got {value!r})")


def http_error_type(code: int) -> str:
    """The error type of a failed call known only by its HTTP status code."""
    return HTTP_ERROR_TYPES.get(code, f"http_{code}")


def _failed(fields: Mapping[str, Any]) -> bool:
    """Whether the record is a failed call: status `error` or an HTTP code ≥ 400, or no
    status but an error type. (A status that breaks the rules is not; it is rejected.)"""
    status = fields.get("status")
    if not _present(status):
        return _present(fields.get("error_type"))
    text = str(status).strip().lower()
    return text == "error" or (HTTP_STATUS.fullmatch(text) is not None and int(text) >= 400)


def _outcome(value: Any, error_type: str | None) -> tuple[str, str | None]:
    """(status, error type): `ok`/`error`, an HTTP status code, or absent (then `error`
    when an error type is given, else `ok`)."""
    if not _present(value):
        return ("error" if error_type is not None else "ok"), error_type
    text = str(value).strip().lower()
    if text in ("ok", "error"):
        return text, error_type
    if HTTP_STATUS.fullmatch(text):
        code = int(text)
        if code < 400:
            return "ok", error_type
        return "error", error_type if error_type is not None else http_error_type(code)
    raise RecordError(f"status: must be 'ok', 'error' or an HTTP status code (got {value!r})")


NO_PROVIDER = "provider: missing, and no default_provider was given for this upload"
NO_MODEL = "model: missing, and no default_model was given for this upload"


def unrecognised_provider(model: str) -> str:
    """Why a row that names no provider, of a model the catalogue does not know, is
    rejected (the CSV path says it in SQL, from this text)."""
    return (
        f"provider: missing and not recognisable from model '{model}'; add a provider "
        "column or choose a default provider"
    )


def _identity(fields: Mapping[str, Any], defaults: Defaults) -> tuple[str, str]:
    """(provider, model): the row's own provider, else the one `pricing.provider_for`
    resolves from its model and the upload's default."""
    provider = _string("provider", fields.get("provider"))
    model = _string("model", fields.get("model")) or defaults.model
    if not model:
        raise RecordError(NO_MODEL if provider or defaults.provider else NO_PROVIDER)
    if not provider:
        provider = pricing.provider_for(model.strip(), defaults.provider)
        if not provider:
            raise RecordError(unrecognised_provider(model.strip()))
    return provider.strip().lower(), model.strip()


def _required(fields: Mapping[str, Any], name: str) -> Any:
    value = fields.get(name)
    if not _present(value):
        raise RecordError(f"{name}: missing (required)")
    return value


Tokens = tuple[int | None, int | None, int | None, int | None, int | None, bool]


def _usage_count(fields: Mapping[str, Any], name: str, other: str, failed: bool) -> int:
    """input_tokens or output_tokens: as given; 0 on a failed call that lacks it; a
    successful call that gives the other count but not this one is rejected."""
    value = fields.get(name)
    if _present(value):
        return _count(name, value)
    if failed:
        return 0
    raise RecordError(
        f"{name}: missing, but {other} is given (a call whose usage was not recorded "
        "leaves out both)"
    )


def _tokens(fields: Mapping[str, Any], failed: bool) -> Tokens:
    """input, output, cached, cache write and reasoning tokens, and whether the source
    recorded the usage. The rules run in the order the CSV path (_csv_sql) checks them."""
    given_in = _present(fields.get("input_tokens"))
    given_out = _present(fields.get("output_tokens"))
    unknown = not (given_in or given_out or failed)
    input_tokens = output_tokens = None
    if not unknown:
        input_tokens = _usage_count(fields, "input_tokens", "output_tokens", failed)
        output_tokens = _usage_count(fields, "output_tokens", "input_tokens", failed)
    cached, written, reasoning = (
        _count(name, fields[name]) if _present(fields.get(name)) else 0 for name in _OPTIONAL_COUNTS
    )
    if unknown:
        if cached or written or reasoning:
            raise RecordError(
                "cached_input_tokens, cache_write_tokens or reasoning_tokens given without "
                "input_tokens and output_tokens"
            )
        return None, None, None, None, None, False
    assert input_tokens is not None and output_tokens is not None
    if cached + written > input_tokens:
        raise RecordError(
            f"cached_input_tokens + cache_write_tokens ({cached} + {written}) exceed "
            f"input_tokens ({input_tokens}); input_tokens must include them"
        )
    if reasoning > output_tokens:
        raise RecordError(
            f"reasoning_tokens ({reasoning}) exceed output_tokens ({output_tokens}); "
            "output_tokens must include them"
        )
    return input_tokens, output_tokens, cached, written, reasoning, given_in and given_out


def _split(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fields: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).strip().lower()
        if name in RECORD_FIELDS:
            fields[name] = value
        elif value is not None:  # an absent extra is no metadata
            extras[str(key)] = value
    return fields, extras


def parse_record(raw: Mapping[str, Any], defaults: Defaults = Defaults()) -> Row:
    """Validate one record; returns its values in COLUMNS order or raises RecordError."""
    fields, extras = _split(raw)
    ts = parse_timestamp(_required(fields, "ts"))
    provider, model = _identity(fields, defaults)
    input_tokens, output_tokens, cached, written, reasoning, recorded = _tokens(
        fields, _failed(fields)
    )
    latency, ttft = (
        _amount(name, fields[name]) if _present(fields.get(name)) else None for name in _DURATIONS
    )
    strings = [_string(name, fields.get(name)) for name in _STRINGS]
    max_tokens = (
        _count("max_tokens", fields["max_tokens"]) if _present(fields.get("max_tokens")) else None
    )
    cost = _amount("cost_usd", fields["cost_usd"]) if _present(fields.get("cost_usd")) else None
    metadata = json.dumps(extras, ensure_ascii=False, default=str) if extras else None
    status, strings[0] = _outcome(fields.get("status"), strings[0])  # strings[0]: error_type
    return (
        ts,
        provider,
        model,
        input_tokens,
        output_tokens,
        cached,
        written,
        reasoning,
        latency,
        ttft,
        status,
        *strings,
        max_tokens,
        _flag(fields.get("batch")),
        cost,
        metadata,
        recorded,
    )
