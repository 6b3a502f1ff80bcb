"""`litellm-spendlogs`: a CSV or JSON export of LiteLLM proxy's `LiteLLM_SpendLogs`.

LiteLLM reports usage in OpenAI's shape whatever the provider: `prompt_tokens` already
holds cached and cache-written tokens, whose split (when logged) is in the metadata's
`usage_object`. A response LiteLLM served from its own cache (`cache_hit`) reached no
provider: it is kept with zero tokens, its logged counts in the metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from netra.telemetry.importers._base import Importer, Parsed, rows_of
from netra.telemetry.importers._fields import (
    error_type,
    first,
    identity,
    ms_between,
    number,
    parse_json,
    present,
    prompt_tokens,
)  # fmt: skip
from netra.telemetry.importers._json import items
from netra.telemetry.importers._tabular import header_names, looks_like_json, rows
from netra.telemetry.schema import Defaults

_MARKERS = {"custom_llm_provider", "spend", "startTime", "prompt_tokens"}
_TRUE = {"true", "1", "yes", "t"}


def sniff(head: str) -> bool:
    if looks_like_json(head):
        return all(f'"{marker}"' in head for marker in ("startTime", "spend", "prompt_tokens"))
    return set(header_names(head)) >= _MARKERS


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    head = file.read(1024).decode("utf-8-sig", errors="replace")
    file.seek(0)
    source: Iterator[tuple[int, Any]] = (
        items(file, frozenset({"data", "logs"})) if looks_like_json(head) else rows(file)
    )
    return rows_of(source, record, defaults, infer_provider=True)


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def record(log: dict[str, Any]) -> dict[str, Any]:
    metadata = parse_json(log.get("metadata"))
    usage = metadata.get("usage_object") if isinstance(metadata, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    cache_read = first(details, "cached_tokens") or usage.get("cache_read_input_tokens")
    cache_write = usage.get("cache_creation_input_tokens")
    prompt, output = log.get("prompt_tokens"), log.get("completion_tokens")
    extra: dict[str, Any] = {}
    if _flag(log.get("cache_hit")):
        extra = {"litellm_cache_hit": True, "logged_prompt_tokens": prompt,
                 "logged_completion_tokens": output}  # fmt: skip
        prompt, output, cache_read, cache_write = 0, 0, None, None
    tags = parse_json(log.get("request_tags"))
    start = log.get("startTime")
    latency = number(log.get("request_duration_ms"))
    status = str(log.get("status") or "").strip().lower()
    failed = status in ("failure", "error", "failed")
    error = metadata.get("error_information") if isinstance(metadata, dict) else None
    error = error if isinstance(error, dict) else {}
    return {
        "ts": start,
        **identity(log.get("custom_llm_provider"), log.get("model")),
        "input_tokens": prompt_tokens(prompt, cache_read, cache_write, includes_cache=True),
        "output_tokens": output,
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": _reasoning(usage),
        "latency_ms": latency
        if latency is not None
        else ms_between(start, log.get("endTime"), "endTime"),
        "ttft_ms": ms_between(start, log.get("completionStartTime"), "completionStartTime"),
        "status": "error" if failed else "ok",
        "error_type": error_type(error.get("error_code"), error.get("error_class"))
        if failed
        else None,
        "feature": tags[0] if isinstance(tags, list) and tags else None,
        "end_user": first(log, "end_user", "user"),
        "request_id": log.get("request_id"),
        "cost_usd": log.get("spend"),
        "request_tags": tags if present(tags) else None,
        "model_group": log.get("model_group") or None,
        **extra,
    }


def _reasoning(usage: dict[str, Any]) -> Any:
    details = usage.get("completion_tokens_details")
    return details.get("reasoning_tokens") if isinstance(details, dict) else None


IMPORTER = Importer(name="litellm-spendlogs", sniff=sniff, read=read)
