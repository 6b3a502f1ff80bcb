"""Small helpers the export formats share to map their fields onto the record."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from netra.telemetry import pricing
from netra.telemetry.schema import RecordError, parse_timestamp


def present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def first(source: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key that is present (not missing, null or blank)."""
    for key in keys:
        value = source.get(key)
        if present(value):
            return value
    return None


def number(value: Any) -> float | None:
    """A number from a number or numeric text; None when absent or not numeric (the
    record's own rules then name the bad field)."""
    if isinstance(value, bool) or not present(value):
        return None
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def whole(value: Any) -> int:
    """A token count that may be absent (0); non-counts are left to the record's rules."""
    result = number(value)
    return int(result) if result is not None and result.is_integer() and result >= 0 else 0


def prompt_tokens(prompt: Any, cache_read: Any, cache_write: Any, *, includes_cache: bool) -> Any:
    """The whole prompt (cached tokens included, as the record means it).

    `includes_cache` says whether the source's prompt count already holds its cached
    tokens (OpenAI style) or not (Anthropic's native usage). A prompt smaller than its
    cached parts cannot include them, whatever the source's convention.
    """
    base = number(prompt)
    if base is None or not base.is_integer():
        return prompt  # the record's rules will reject it with its own words
    cached = whole(cache_read) + whole(cache_write)
    if not includes_cache or cached > base:
        return int(base) + cached
    return int(base)


def parse_json(value: Any) -> Any:
    """A CSV cell or JSON field holding JSON text, decoded; other values as they are."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def ms_between(start: Any, end: Any, what: str) -> float | None:
    """Milliseconds from `start` to `end` (ISO-8601 text); None when either is absent."""
    if not present(start) or not present(end):
        return None
    begin, finish = _when(start, what), _when(end, what)
    return (finish - begin).total_seconds() * 1000


def _when(value: Any, what: str) -> datetime:
    try:
        return parse_timestamp(value)
    except RecordError:
        raise RecordError(f"{what}: not an ISO-8601 timestamp (got {value!r})") from None


def identity(provider: Any, model: Any) -> dict[str, Any]:
    """`provider` and `model` fields, the provider in genai-prices' ids. A model written
    `provider/model` (as LiteLLM does) gives its provider when none is recorded."""
    model_text = str(model).strip() if present(model) else None
    provider_text = pricing.provider_id(str(provider)) if present(provider) else None
    if model_text and "/" in model_text:
        prefix, rest = model_text.split("/", 1)
        if provider_text is None or pricing.provider_id(prefix) == provider_text:
            provider_text, model_text = pricing.provider_id(prefix), rest
    return {"provider": provider_text, "model": model_text}


_ERROR_KINDS = (
    (("429", "ratelimit", "rate_limit", "rate limit", "too many requests"), "rate_limit"),
    (("408", "504", "timeout", "timed out", "deadline"), "timeout"),
    (("500", "502", "503", "529", "internalserver", "serviceunavailable", "overloaded",
      "server_error", "apiconnection"), "server_error"),
)  # fmt: skip


def error_type(*evidence: Any) -> str | None:
    """A short error type (`rate_limit`, `timeout`, `server_error`, else the source's own
    word) from status codes, exception class names or messages."""
    texts = [str(e).strip() for e in evidence if present(e)]
    for text in texts:
        folded = text.lower().replace(" ", "").replace("-", "")
        for needles, kind in _ERROR_KINDS:
            if any(needle.replace(" ", "") in folded for needle in needles):
                return kind
    return texts[0][:80] if texts else None
