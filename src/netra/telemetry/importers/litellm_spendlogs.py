"""`litellm-spendlogs`: a CSV or JSON export of LiteLLM proxy's `LiteLLM_SpendLogs`.

Each row is one proxy request as LiteLLM's `get_logging_payload` writes it (field by
field: docs/telemetry/litellm-spendlogs.md). What needs care:

- `user` is the API key's owner, never the end user: the end user is `end_user` only.
- `model` is the deployment (`azure/prod-gpt4o-eastus`); the priceable model is the first
  the catalogue knows of LiteLLM's own pricing key (`metadata.model_map_information.
  model_map_key`), the deployment's model, then `model_group`.
- Usage is in OpenAI's shape: `prompt_tokens` holds the cache reads, and the cache writes
  in the LiteLLM versions that count them in; the split is in `metadata.usage_object` or,
  without it, `metadata.additional_usage_values`. The parts a count leaves out (all of
  them in early versions' native Anthropic count) are added to the record's input.
- LiteLLM writes 0 tokens where it had no usage: a row with 0 prompt and 0 completion
  tokens has its usage not recorded (a failed call: 0 tokens, $0; else unknown). A
  response LiteLLM served from its own cache (`cache_hit`) reached no provider: 0 tokens.
- Failures (`status` failure) keep their error type from `metadata.error_information`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO

from netra.telemetry import pricing
from netra.telemetry.import_report import Note
from netra.telemetry.importers._base import Importer, Parsed, rows_of, with_notes
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
from netra.telemetry.importers._tabular import header_names, looks_like_json, rows
from netra.telemetry.schema import Defaults

_MARKERS = {"custom_llm_provider", "spend", "startTime", "prompt_tokens"}
_TRUE = {"true", "1", "yes", "t"}
_FAILED = {"failure", "error", "failed"}
# spend_logs_metadata keys (and `key:value` request tags) naming the call site, in order
_FEATURE_KEYS = ("feature", "use_case", "usecase", "route", "call_site", "task")
_CONVERSATION_KEYS = ("conversation_id", "session_id", "thread_id")
_USER_AGENT_TAG = "user-agent:"  # LiteLLM (≥ 1.73) tags every request with its client
# Bedrock model names may carry a route (`converse/`) or a region (`us-east-1/`) first.
_AWS_SEGMENT = re.compile(r"converse|invoke|converse_like|[a-z]{2}(-gov)?-[a-z]+-\d+")
_TOOL_CALLS = {"call_mcp_tool", "list_mcp_tools"}
_REFERENCE = datetime(2026, 1, 1)  # any instant: the catalogue knows a model or not
_ERROR_TEXT = 500

_NATIVE = Note(None, "some rows' prompt_tokens are smaller than their cache reads (Anthropic's "
               "native count, as older LiteLLM versions log it): cached tokens were added "
               "to input_tokens")  # fmt: skip
_NO_WRITES = Note(None, "some rows' prompt_tokens hold the cache reads but not the cache "
                  "writes (as some LiteLLM versions log Anthropic and Bedrock usage): the "
                  "writes were added to input_tokens")  # fmt: skip
_CACHE_HIT = Note(None, "responses LiteLLM served from its own cache (cache_hit) reached no "
                  "provider: kept with 0 tokens and $0, the logged counts in metadata")  # fmt: skip
_NO_DURATION = Note(None, "failed calls logged by LiteLLM's failure hook carry no duration "
                    "(startTime = endTime): their latency is left unknown")  # fmt: skip
_TOOL_CALL = Note(None, "MCP tool calls (call_type call_mcp_tool) are not LLM requests: "
                  "left out of the rows")  # fmt: skip


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
    for line, log in source:
        if isinstance(log, dict) and _tool_call(log):
            yield line, _TOOL_CALL  # no data row: neither kept nor rejected
        else:
            yield from rows_of(iter(((line, log),)), record, defaults, infer_provider=True)


def record(log: dict[str, Any]) -> dict[str, Any]:
    meta = _dict(parse_json(log.get("metadata")))
    failed = str(first(log, "status") or meta.get("status") or "").strip().lower() in _FAILED
    names, model_note = _identity(log, meta)
    usage, usage_note = _usage(log, meta)
    timing, timing_note = _timing(log, failed)
    request = _dict(parse_json(log.get("proxy_server_request")))
    extra = _dict(meta.get("spend_logs_metadata"))
    tags = parse_json(log.get("request_tags"))
    tags = tags if isinstance(tags, list) else []
    error = _dict(meta.get("error_information"))
    fields = {
        "ts": log.get("startTime"),
        **names,
        **usage,
        **timing,
        "status": "error" if failed else "ok",
        "error_type": error_type(error.get("error_class"), error.get("error_code"))
        if failed
        else None,
        "feature": _feature(extra, tags),
        "end_user": first(log, "end_user"),  # `user` is the key's owner (metadata)
        "conversation_id": _text(first(extra, *_CONVERSATION_KEYS)) or first(log, "session_id"),
        "request_id": first(log, "request_id"),
        "max_tokens": _cap(request),
        "cost_usd": log.get("spend"),
        **_hashes(request),
        **_kept(log, meta, names, tags, error if failed else {}),
    }
    notes = [note for note in (model_note, usage_note, timing_note) if note is not None]
    return with_notes(fields, *notes) if notes else fields


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def _tool_call(log: Mapping[str, Any]) -> bool:
    return str(log.get("call_type") or "") in _TOOL_CALLS or (
        present(log.get("mcp_namespaced_tool_name")) and not present(log.get("model"))
    )


# -- the model ------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _priceable(provider: str | None, model: str) -> bool:
    if provider is None:
        return pricing.provider_of(model) is not None
    return pricing.price_bands(provider, model, _REFERENCE) is not None


def _bare(provider: str | None, model: str | None) -> str | None:
    """A model name without the Bedrock route and region segments LiteLLM may prefix."""
    if model and provider == "aws":
        head, _, rest = model.partition("/")
        while rest and _AWS_SEGMENT.fullmatch(head):
            model = rest
            head, _, rest = model.partition("/")
    return model


def _identity(
    log: Mapping[str, Any], meta: Mapping[str, Any]
) -> tuple[dict[str, Any], Note | None]:
    """provider and model: the first of LiteLLM's own pricing key, the deployment's model
    and the model group that the catalogue prices; else the deployment's model, unpriced."""
    error = _dict(meta.get("error_information"))
    logged = first(log, "model")
    provider_word = first(log, "custom_llm_provider") or error.get("llm_provider")
    provider = identity(provider_word, logged)["provider"]
    raw = {
        "model_map_key": _dict(meta.get("model_map_information")).get("model_map_key"),
        "model": logged,
        "model_group": first(log, "model_group"),
    }
    names: dict[str, str | None] = {}
    for source, name in raw.items():
        found = identity(provider, name)  # a `provider/` prefix names the provider
        provider = provider or found["provider"]
        names[source] = found["model"]
    names = {source: _bare(provider, name) for source, name in names.items()}
    chosen = next((s for s, name in names.items() if name and _priceable(provider, name)), None)
    if chosen is None:
        return {"provider": provider, "model": names["model"] or names["model_group"]}, None
    model, deployment = names[chosen], names["model"]
    note = None
    if chosen != "model" and not (deployment and _priceable(provider, deployment)):
        note = Note(None, f"deployment {logged or '(none)'} priced as {model}, the model "
                          f"LiteLLM mapped it to ({chosen})")  # fmt: skip
    return {"provider": provider, "model": model}, note


# -- usage --------------------------------------------------------------------------


def _zero(value: Any) -> bool:
    return not present(value) or number(value) == 0


def _input_tokens(
    prompt: Any, cache_read: Any, cache_write: Any, writes_counted: bool | None
) -> tuple[Any, Note | None]:
    """The whole prompt, cached tokens included. LiteLLM counts the cache reads in
    `prompt_tokens`; the writes only in some versions (`writes_counted`; None: unknown,
    then they are counted in when the count can hold them). A count smaller than its
    reads is Anthropic's native one."""
    base = number(prompt)
    if base is None or not base.is_integer():
        return prompt, None  # the record's rules reject it in their own words
    count, read, written = int(base), whole(cache_read), whole(cache_write)
    if count < read:
        return count + read + written, _NATIVE
    if written and (writes_counted is False or count < read + written):
        return count + written, _NO_WRITES
    return count, None


def _usage(log: Mapping[str, Any], meta: Mapping[str, Any]) -> tuple[dict[str, Any], Note | None]:
    usage = _dict(meta.get("usage_object")) or _dict(meta.get("additional_usage_values"))
    details = _dict(usage.get("prompt_tokens_details"))
    read = first(details, "cached_tokens") or first(usage, "cache_read_input_tokens")
    written = first(usage, "cache_creation_input_tokens") or first(details, "cache_creation_tokens")
    prompt = first(log, "prompt_tokens")
    output = first(log, "completion_tokens")
    if prompt is None and output is None:
        prompt, output = usage.get("prompt_tokens"), usage.get("completion_tokens")
    unknown = dict.fromkeys(("input_tokens", "output_tokens", "cached_input_tokens",
                             "cache_write_tokens", "reasoning_tokens"))  # fmt: skip
    if _flag(log.get("cache_hit")):
        return {**unknown, "input_tokens": 0, "output_tokens": 0}, _CACHE_HIT
    if _zero(prompt) and _zero(output):
        return unknown, None  # LiteLLM's default 0: no usage was recorded
    # LiteLLM versions that log usage_object name the writes in the details when they
    # count them in prompt_tokens, and leave them out of both otherwise.
    logged = bool(_dict(meta.get("usage_object")))
    counted = "cache_creation_tokens" in details or (False if logged else None)
    input_tokens, note = _input_tokens(prompt, read, written, counted)
    reasoning = _dict(usage.get("completion_tokens_details")).get("reasoning_tokens")
    if (number(reasoning) or 0) > (number(output) or 0):
        reasoning = None  # LiteLLM's own estimate (e.g. of Claude's thinking) beyond the count
    return {
        "input_tokens": input_tokens,
        "output_tokens": output,
        "cached_input_tokens": read,
        "cache_write_tokens": written,
        "reasoning_tokens": reasoning,
    }, note


def _timing(log: Mapping[str, Any], failed: bool) -> tuple[dict[str, Any], Note | None]:
    start = log.get("startTime")
    latency = number(log.get("request_duration_ms"))
    if latency is None:
        latency = ms_between(start, log.get("endTime"), "endTime")
    ttft = ms_between(start, log.get("completionStartTime"), "completionStartTime")
    if failed and latency is not None and latency < 1:  # stamped at logging time
        return {"latency_ms": None, "ttft_ms": None}, _NO_DURATION
    return {"latency_ms": latency, "ttft_ms": ttft}, None


# -- what the request says ------------------------------------------------------------


def _feature(extra: Mapping[str, Any], tags: list[Any]) -> str | None:
    """spend_logs_metadata's feature-like key, else a `feature:x` tag, else the first tag
    that is not LiteLLM's own User-Agent tag."""
    folded = {str(key).strip().lower(): value for key, value in extra.items()}
    for key in _FEATURE_KEYS:
        if text := _text(folded.get(key)):
            return text
    texts = [str(tag).strip() for tag in tags if _text(str(tag))]
    for tag in texts:
        key, sep, value = tag.partition(":")
        if sep and key.strip().lower() in _FEATURE_KEYS and value.strip():
            return value.strip()
    return next((tag for tag in texts if not tag.lower().startswith(_USER_AGENT_TAG)), None)


def _cap(request: Mapping[str, Any]) -> int | None:
    cap = number(first(request, "max_tokens", "max_completion_tokens", "max_output_tokens"))
    return int(cap) if cap is not None and cap.is_integer() and cap > 0 else None


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _hashes(request: Mapping[str, Any]) -> dict[str, str | None]:
    """prompt_hash and prefix_hash from the request body LiteLLM keeps with
    `store_prompts_in_spend_logs` (the whole prompt; its system part and tools)."""
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return {"prompt_hash": None, "prefix_hash": None}
    system, tools = request.get("system"), request.get("tools")
    leading = []
    for message in messages:
        if not (isinstance(message, dict) and message.get("role") in ("system", "developer")):
            break
        leading.append(message)
    prefix = {"system": system, "leading": leading, "tools": tools}
    return {
        "prompt_hash": _digest({"system": system, "messages": messages, "tools": tools}),
        "prefix_hash": _digest(prefix) if system or leading or tools else None,
    }


def _kept(
    log: Mapping[str, Any],
    meta: Mapping[str, Any],
    names: Mapping[str, Any],
    tags: list[Any],
    error: Mapping[str, Any],
) -> dict[str, Any]:
    """What the record has no field for, kept in its metadata under LiteLLM's names."""
    logged_model = first(log, "model")
    kept: dict[str, Any] = {
        "call_type": first(log, "call_type"),
        "api_key": first(log, "api_key"),
        "user_api_key_alias": _text(meta.get("user_api_key_alias")),
        "user_api_key_user_id": first(log, "user") or _text(meta.get("user_api_key_user_id")),
        "team_id": first(log, "team_id") or _text(meta.get("user_api_key_team_id")),
        "user_api_key_team_alias": _text(meta.get("user_api_key_team_alias")),
        "spend_logs_metadata": meta.get("spend_logs_metadata") or None,
        "request_tags": tags or None,
        "model_group": first(log, "model_group"),
        "litellm_model": logged_model if logged_model != names.get("model") else None,
        "error_information": _error_information(error),
    }
    if _flag(log.get("cache_hit")):
        kept |= {"litellm_cache_hit": True, "logged_prompt_tokens": log.get("prompt_tokens"),
                 "logged_completion_tokens": log.get("completion_tokens")}  # fmt: skip
    return kept


def _error_information(error: Mapping[str, Any]) -> dict[str, str] | None:
    kept = {
        key: str(error[key])[:_ERROR_TEXT]
        for key in ("error_class", "error_code", "error_message", "llm_provider")
        if present(error.get(key))
    }
    return kept or None


IMPORTER = Importer(
    name="litellm-spendlogs",
    sniff=sniff,
    read=read,
    field_notes={
        "end_user": "no end_user in this export: LiteLLM records one when a request sends "
        "`user` (or the x-litellm-end-user-id header); its `user` column is the API key's "
        "owner, kept in metadata, not an end user",
        "feature": "no feature: requests sent neither spend_logs_metadata.feature (or "
        "use_case, route) nor request tags (metadata.tags, x-litellm-tags)",
        "prompt_hash": "LiteLLM keeps request bodies only with store_prompts_in_spend_logs: "
        "true, so repeated identical prompts cannot be found",
        "prefix_hash": "LiteLLM keeps request bodies only with store_prompts_in_spend_logs: "
        "true, so shared prompt prefixes cannot be found",
        "max_tokens": "LiteLLM keeps request bodies (and their max_tokens) only with "
        "store_prompts_in_spend_logs: true",
    },
)
