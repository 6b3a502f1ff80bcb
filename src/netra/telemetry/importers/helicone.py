"""`helicone`: a CSV or JSON export of Helicone requests.

Helicone logs each provider's own usage: OpenAI's `prompt_tokens` include the cached
ones, Anthropic's do not (its cache reads and writes are counted beside them), so for
Anthropic the record's input_tokens is the sum. `status` is the HTTP status of the
provider's answer; custom properties (`Helicone-Property-Feature: triage`) give the
feature.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from netra.telemetry import pricing
from netra.telemetry.importers._base import Importer, Parsed, rows_of
from netra.telemetry.importers._fields import (
    error_type,
    first,
    identity,
    number,
    parse_json,
    present,
    prompt_tokens,
)  # fmt: skip
from netra.telemetry.importers._json import items
from netra.telemetry.importers._tabular import header_names, looks_like_json, rows
from netra.telemetry.schema import Defaults

_NATIVE_USAGE = {"anthropic"}  # providers whose prompt count leaves cached tokens out
_FEATURE_KEYS = ("feature", "helicone-property-feature", "use_case", "route")


def sniff(head: str) -> bool:
    if looks_like_json(head):
        return '"request_created_at"' in head
    return "request_created_at" in header_names(head)


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    head = file.read(1024).decode("utf-8-sig", errors="replace")
    file.seek(0)
    source: Iterator[tuple[int, Any]] = (
        items(file, frozenset({"data", "requests"})) if looks_like_json(head) else rows(file)
    )
    return rows_of(source, record, defaults, infer_provider=True)


def _status(value: Any) -> tuple[str, str | None]:
    code = number(value)
    if code is None:
        text = str(value or "").strip().lower()
        failed = text not in ("", "ok", "success", "200")
        return ("error", error_type(value)) if failed else ("ok", None)
    if 200 <= code < 400:
        return "ok", None
    return "error", error_type(str(int(code))) if code > 0 else "client_error"


def _feature(properties: Any) -> Any:
    if not isinstance(properties, Mapping):
        return None
    folded = {str(key).strip().lower(): value for key, value in properties.items()}
    return first(folded, *_FEATURE_KEYS)


def record(request: dict[str, Any]) -> dict[str, Any]:
    names = identity(request.get("provider"), first(request, "model", "request_model"))
    provider = names["provider"]
    cache_read = request.get("prompt_cache_read_tokens")
    cache_write = request.get("prompt_cache_write_tokens")
    native = provider is not None and pricing.provider_id(provider) in _NATIVE_USAGE
    status, error = _status(request.get("status"))
    properties = parse_json(request.get("properties"))
    return {
        "ts": request.get("request_created_at"),
        **names,
        "input_tokens": prompt_tokens(
            request.get("prompt_tokens"), cache_read, cache_write, includes_cache=not native
        ),  # fmt: skip
        "output_tokens": request.get("completion_tokens"),
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "latency_ms": request.get("latency"),
        "ttft_ms": request.get("time_to_first_token"),
        "status": status,
        "error_type": error,
        "feature": _feature(properties),
        "end_user": request.get("user_id"),
        "request_id": first(request, "request_id", "id"),
        "cost_usd": first(request, "cost", "cost_usd", "costUSD"),
        "properties": properties if present(properties) else None,
    }


IMPORTER = Importer(name="helicone", sniff=sniff, read=read)
