"""Column names as people's exports write them, read as the record's fields.

A CSV exported from a gateway, a notebook or a billing page rarely says `ts` and
`input_tokens`: it says `timestamp`, `prompt_tokens`, `user_id`. Each record field has
the names tools commonly give it (OpenAI's usage objects, Anthropic's, Gemini's
`usageMetadata`, Langfuse, Helicone, LiteLLM); a header is matched without case, blanks,
dots, dashes or underscores (`Prompt Tokens`, `promptTokens`). Where several columns
name one field, the record's own name wins, then the earlier alias below: they are
listed from the most to the least specific. A column that names no field is no error:
it is kept as metadata, and the upload says it was not analysed.

Only names whose meaning is unambiguous are read: `error` may be a flag, a message or
a type, and `duration` may be seconds or nanoseconds, so neither is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from netra.telemetry.schema import RECORD_FIELDS

# field -> the other names it goes by, most specific first
_NAMES: dict[str, tuple[str, ...]] = {
    "ts": ("timestamp", "start_time_iso", "start_time", "started_at", "created_at",
           "request_created_at", "request_timestamp", "request_time", "datetime", "time",
           "created", "date"),
    "provider": ("llm_provider", "model_provider", "custom_llm_provider", "vendor"),
    "model": ("model_name", "model_id", "llm_model", "response_model", "request_model"),
    "input_tokens": ("prompt_tokens", "input_token_count", "prompt_token_count",
                     "tokens_input", "tokens_in", "n_context_tokens_total", "context_tokens",
                     "input"),
    "output_tokens": ("completion_tokens", "output_token_count", "completion_token_count",
                      "candidates_token_count", "tokens_output", "tokens_out",
                      "n_generated_tokens_total", "generated_tokens", "output"),
    "cached_input_tokens": ("cache_read_tokens", "cache_read_input_tokens", "cached_tokens",
                            "input_cached_tokens", "cached_prompt_tokens",
                            "prompt_cache_read_tokens", "cached_content_token_count",
                            "cache_hit_tokens"),
    "cache_write_tokens": ("cache_creation_input_tokens", "cache_creation_tokens",
                           "cache_write_input_tokens", "prompt_cache_write_tokens"),
    "reasoning_tokens": ("completion_reasoning_tokens", "reasoning_output_tokens",
                         "thoughts_token_count", "thinking_tokens"),
    "latency_ms": ("duration_ms", "request_duration_ms", "response_time_ms",
                   "total_latency_ms", "elapsed_ms", "latency", "latency_s",
                   "latency_seconds", "duration_s", "duration_seconds", "response_time_s"),
    "ttft_ms": ("time_to_first_token_ms", "first_token_ms", "time_to_first_token", "ttft",
                "ttft_s", "time_to_first_token_s"),
    "status": ("status_code", "http_status", "http_status_code", "response_status"),
    "error_type": ("error_code", "error_kind", "error_class", "exception_type"),
    "feature": ("feature_name", "use_case", "usecase", "call_site", "route", "endpoint",
                "task", "tag"),
    "end_user": ("end_user_id", "user_id", "user", "customer_id"),
    "conversation_id": ("session_id", "thread_id", "chat_id", "conversation"),
    "request_id": ("response_id", "generation_id", "call_id", "id"),
    "prompt_hash": ("prompt_sha256", "prompt_digest"),
    "prefix_hash": ("system_prompt_hash", "prefix_sha256"),
    "max_tokens": ("max_output_tokens", "max_completion_tokens", "max_tokens_to_sample"),
    "batch": ("is_batch", "batch_api"),
    "cost_usd": ("cost", "total_cost", "spend", "cost_dollars", "price_usd"),
}  # fmt: skip
# Aliases whose values are seconds; the record holds milliseconds.
SECONDS = frozenset({"latency_s", "latency_seconds", "duration_s", "duration_seconds",
                     "response_time_s", "ttft_s", "time_to_first_token_s"})  # fmt: skip


def _squash(name: str) -> str:
    return re.sub(r"[\s._\-]+", "", name.strip().lower())


# Columns people export that the record has no use for, and why (not "unknown").
_UNUSED = {
    _squash(name): "not needed: input and output tokens are read on their own"
    for name in ("total_tokens", "total", "total_token_count")
}


ALIASES: dict[str, str] = {
    alias: field for field, aliases in _NAMES.items() for alias in aliases
}  # alias -> field, in order of preference within each field


@dataclass(frozen=True)
class Column:
    """A header's column: the record field it is read as (None: kept as metadata)."""

    name: str
    index: int
    field: str | None
    scale: float = 1.0  # its values × scale are the field's unit (seconds -> ms)
    note: str | None = None  # why it is not read, when it is not


@dataclass(frozen=True)
class ColumnMap:
    columns: tuple[Column, ...]

    @property
    def fields(self) -> dict[str, Column]:
        """Record field -> the column read as it."""
        return {c.field: c for c in self.columns if c.field is not None}

    @property
    def extras(self) -> list[Column]:
        """Columns read as no field: kept as metadata."""
        return [c for c in self.columns if c.field is None]

    def renamed(self) -> list[Column]:
        """Columns read under another name than the field's."""
        return [c for c in self.columns if c.field is not None and _squash(c.name) !=
                _squash(c.field)]  # fmt: skip

    def unknown(self) -> list[Column]:
        """Columns that name nothing the importer knows (not merely unused or repeated)."""
        return [c for c in self.extras if c.note == UNKNOWN]

    def notes(self) -> list[str]:
        """What the upload report says about the header, in words."""
        out = []
        if renamed := self.renamed():
            out.append("columns read under their usual names: " + ", ".join(
                f"'{c.name}' as {c.field}" for c in renamed))  # fmt: skip
        if unknown := self.unknown():
            out.append("columns not analysed (kept as metadata): "
                       + ", ".join(f"'{c.name}'" for c in unknown))  # fmt: skip
        return out


UNKNOWN = "not a record field: kept as metadata, not analysed"


def assign(names: Sequence[str], aliases: Mapping[str, str] = ALIASES) -> ColumnMap:
    """Which column of a header is read as which record field."""
    lookup = _lookup(aliases)
    ranked: dict[str, tuple[int, int]] = {}  # field -> (rank, index) of its best column
    found: list[tuple[str | None, int]] = []
    for index, name in enumerate(names):
        field, rank = lookup.get(_squash(name), (None, 0))
        found.append((field, rank))
        if field is not None and (field not in ranked or (rank, index) < ranked[field]):
            ranked[field] = (rank, index)
    columns = []
    for index, (name, (field, _)) in enumerate(zip(names, found, strict=True)):
        if field is not None and ranked[field][1] == index:
            scale = 1000.0 if _squash(name) in _SECONDS else 1.0
            columns.append(Column(name, index, field, scale))
        else:
            columns.append(Column(name, index, None, note=_why_not(name, field, names,
                                                                   ranked)))  # fmt: skip
    return ColumnMap(tuple(columns))


_SECONDS = frozenset(_squash(alias) for alias in SECONDS)


def _lookup(aliases: Mapping[str, str]) -> dict[str, tuple[str, int]]:
    """Squashed name -> (field, rank): the record's own names rank first (-1)."""
    table: dict[str, tuple[str, int]] = {}
    for rank, (alias, field) in enumerate(aliases.items()):
        table.setdefault(_squash(alias), (field, rank))
    for field in RECORD_FIELDS:
        table[_squash(field)] = (field, -1)
    return table


def _why_not(
    name: str, field: str | None, names: Sequence[str], ranked: Mapping[str, tuple[int, int]]
) -> str:
    if field is not None:
        return f"{field} is read from '{names[ranked[field][1]]}'"
    return _UNUSED.get(_squash(name), UNKNOWN)


def rename(record: Mapping[str, object], columns: ColumnMap) -> dict[str, object]:
    """A record (JSON object) with its keys read as the map says; others kept as they are
    (schema keeps them as metadata), values in seconds made milliseconds."""
    out: dict[str, object] = {}
    for column in columns.columns:
        value = record.get(column.name)
        if column.field is None:
            out[column.name] = value
        else:
            out[column.field] = _scaled(value, column.scale)
    return out


def _scaled(value: object, scale: float) -> object:
    if scale == 1.0 or isinstance(value, bool):
        return value
    try:
        return float(str(value).strip()) * scale if value is not None and str(value).strip() \
            else value  # fmt: skip
    except ValueError:
        return value  # the record's rules reject it, in their words


def mapped_names(names: Iterable[str], aliases: Mapping[str, str] = ALIASES) -> set[str]:
    """The record fields a header's names give (for sniffing a format)."""
    lookup = _lookup(aliases)
    return {lookup[_squash(name)][0] for name in names if _squash(name) in lookup}
