"""Per-token rates from the genai-prices catalogue, applied in bulk by SQL.

genai-prices is asked once per distinct (provider, model, batch, day) for the resolved
price; its rates become rows of a small rate table (runs of days with identical rates
merged into one time range) that SQL joins to the requests. The catalogue's meaning of
usage is kept: `input_tokens` is the whole prompt, so the uncached part is
input − cached − cache_write, each part at its own rate; a part the model has no
specific price for (e.g. OpenAI cache writes) is billed at the input rate, as
genai-prices does.

Tiered prices (e.g. above 200K prompt tokens) become one rate row per tier band.
Time-of-day prices (e.g. off-peak discounts) split a day into segments. Batch requests
use the catalogue's `processing: batch` variant; where the catalogue has none we assume
no discount (cost is then an upper bound, never an invented saving).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices, TimeOfDateConstraint

MTOK = 1_000_000
UNBOUNDED = 2**62
_BATCH = {"processing": "batch"}
_PRICE_KEYS = ("input_mtok", "cache_read_mtok", "cache_write_mtok", "output_mtok")


@dataclass(frozen=True)
class Rates:
    """USD per million tokens for each part of a request."""

    input: float
    cached_input: float
    cache_write: float
    output: float

    def cost_usd(
        self, input_tokens: int, output_tokens: int, cached: int = 0, cache_write: int = 0
    ) -> float:
        uncached = input_tokens - cached - cache_write
        return (
            uncached * self.input
            + cached * self.cached_input
            + cache_write * self.cache_write
            + output_tokens * self.output
        ) / MTOK


@dataclass(frozen=True)
class RateBand:
    """Rates for requests whose input_tokens lie in (above, up_to]."""

    above: int
    up_to: int
    rates: Rates


@dataclass(frozen=True)
class RateRow:
    """One row of the SQL rate table: a band of one model over a time range."""

    provider: str
    model: str
    batch: bool
    starts: datetime  # naive UTC, inclusive
    ends: datetime  # naive UTC, exclusive
    band: RateBand


PriceKey = tuple[str, str, bool, date]  # provider, model, batch, day


@functools.lru_cache(maxsize=4096)
def _lookup(provider: str, model: str) -> tuple[Provider, ModelInfo] | None:
    try:
        return data_snapshot.get_snapshot().find_provider_model(model, None, provider, None)
    except LookupError:
        return None


def _resolve(provider: str, model: str, at: datetime, batch: bool) -> ModelPrice | None:
    found = _lookup(provider, model)
    if found is None:
        return None
    catalog_provider, info = found
    # Mirrors genai-prices: a model found through another provider ignores variants.
    own_model = any(info is candidate for candidate in catalog_provider.models)
    context = _BATCH if batch and own_model else None
    return info.get_prices(at.replace(tzinfo=UTC), context)


def _at(price: Decimal | TieredPrices | None, input_tokens: int) -> float | None:
    if price is None:
        return None
    if isinstance(price, TieredPrices):
        chosen = price.base
        for tier in price.tiers:
            if input_tokens > tier.start:  # genai-prices: a tier applies strictly above start
                chosen = tier.price
        return float(chosen)
    return float(price)


def _units(price: ModelPrice) -> list[str]:
    """The keys the price has a value for, e.g. ["input_mtok"] or ["audio_hours"]."""
    return [key for key, value in vars(price).items() if value is not None and key[:1] != "_"]


def _bands(price: ModelPrice) -> tuple[RateBand, ...] | None:
    """The price's rates per tier band; None when it cannot be had from token counts.

    A part the catalogue gives no price is free, as genai-prices computes it: embeddings
    have an input price only, and a model listed without any price costs nothing. A model
    priced by neither input nor output tokens but by other units (audio hours,
    characters, pages: transcription, speech, OCR) cannot be priced from the record's
    token counts: it stays unpriced, never free.
    """
    values = {key: getattr(price, key, None) for key in _PRICE_KEYS}
    if values["input_mtok"] is None and values["output_mtok"] is None and _units(price):
        return None
    starts = sorted(
        {tier.start for v in values.values() if isinstance(v, TieredPrices) for tier in v.tiers}
    )
    edges = [-1, *starts, UNBOUNDED]
    bands = []
    for above, up_to in zip(edges, edges[1:], strict=False):
        sample = above + 1
        base = _at(values["input_mtok"], sample) or 0.0
        output = _at(values["output_mtok"], sample) or 0.0
        cached = _at(values["cache_read_mtok"], sample)
        written = _at(values["cache_write_mtok"], sample)
        rates = Rates(
            input=base,
            cached_input=base if cached is None else cached,
            cache_write=base if written is None else written,
            output=output,
        )
        bands.append(RateBand(above, up_to, rates))
    return tuple(bands)


def _segment_starts(provider: str, model: str) -> tuple[time, ...]:
    """Boundaries of time-of-day prices, so each segment of a day has one price."""
    found = _lookup(provider, model)
    if found is None:
        return (time(0),)
    info = found[1]
    constraints = [c.constraint for c in info.prices] if isinstance(info.prices, list) else []
    constraints += [v.constraint for v in info.price_variants or ()]
    edges = {time(0)}
    for constraint in constraints:
        if isinstance(constraint, TimeOfDateConstraint):
            for edge in (constraint.start_time, constraint.end_time):
                edges.add(datetime.combine(date(2000, 1, 1), edge).astimezone(UTC).time())
    return tuple(sorted(edges))


@functools.lru_cache(maxsize=65536)
def _day(key: PriceKey) -> tuple[tuple[datetime, datetime, tuple[RateBand, ...]], ...] | None:
    provider, model, batch, day = key
    midnight = datetime.combine(day, time(0))
    starts = [datetime.combine(day, edge) for edge in _segment_starts(provider, model)]
    segments = []
    for begin, end in zip(starts, [*starts[1:], midnight + timedelta(days=1)], strict=True):
        price = _resolve(provider, model, begin, batch)
        bands = _bands(price) if price is not None else None
        if bands is None:
            return None
        segments.append((begin, end, bands))
    return tuple(segments)


def unpriced_reason(provider: str, model: str, at: datetime) -> str:
    """Why a model has no cost: not in the catalogue, or priced in units the record lacks."""
    price = _resolve(provider, model, at.replace(tzinfo=None), batch=False)
    if price is None:
        return "not in the price catalogue"
    if _bands(price) is not None:
        return "no catalogue price on that day"
    units = dict.fromkeys(_UNIT_WORDS.get(key, key.replace("_", " ")) for key in _units(price))
    return f"priced per {' and per '.join(units)}, not per token"


_UNIT_WORDS = {
    "audio_hours": "audio hour", "input_audio_hours": "audio hour", "input_mchars": "character",
    "input_document_kpages": "page", "input_annotated_document_kpages": "page",
    "input_text_messages_kcount": "message", "requests_kcount": "request",
    "web_searches_kcount": "web search", "storage_searches_kcount": "file search",
}  # fmt: skip


def price_bands(
    provider: str, model: str, at: datetime, *, batch: bool = False
) -> tuple[RateBand, ...] | None:
    """All tier bands of a model at an instant (naive = UTC); None when not in the catalogue."""
    price = _resolve(provider, model, at.replace(tzinfo=None), batch)
    return _bands(price) if price is not None else None


def price_per_mtok(
    provider: str, model: str, when: date, *, batch: bool = False, input_tokens: int = 0
) -> Rates | None:
    """Rates of a (hypothetical) request on `when` at noon UTC; None for an unknown model."""
    bands = price_bands(provider, model, datetime.combine(when, time(12)), batch=batch)
    if bands is None:
        return None
    return next(band.rates for band in bands if band.above < input_tokens <= band.up_to)


def rate_rows(keys: Iterable[PriceKey]) -> tuple[list[RateRow], set[tuple[str, str]]]:
    """The rate table for these keys, and the (provider, model) pairs the catalogue lacks."""
    unpriced: set[tuple[str, str]] = set()
    spans: dict[tuple[str, str, bool], list[tuple[datetime, datetime, tuple[RateBand, ...]]]] = {}
    for key in sorted(set(keys)):
        segments = _day(key)
        if segments is None:
            unpriced.add((key[0], key[1]))
            continue
        merged = spans.setdefault(key[:3], [])
        for begin, end, bands in segments:
            # Days without requests in between are never priced by these rows, so runs of
            # equal rates merge across them too.
            if merged and merged[-1][2] == bands:
                merged[-1] = (merged[-1][0], end, bands)
            else:
                merged.append((begin, end, bands))
    rows = [
        RateRow(provider, model, batch, begin, end, band)
        for (provider, model, batch), runs in spans.items()
        for begin, end, bands in runs
        for band in bands
    ]
    return rows, unpriced


_RATE_COLUMNS = (
    "provider, model, batch, starts, ends, above, up_to, r_input, r_cached, r_cache_write, r_output"
)
_RATE_CASTS = (
    "(?::VARCHAR, ?::VARCHAR, ?::BOOLEAN, ?::TIMESTAMP, ?::TIMESTAMP, ?::BIGINT, ?::BIGINT,"
    " ?::DOUBLE, ?::DOUBLE, ?::DOUBLE, ?::DOUBLE)"
)


def rates_sql(rows: list[RateRow]) -> tuple[str, list[Any]]:
    """A FROM-able rate table (use it with an alias) and its parameters."""
    if not rows:  # an empty table with the right column types
        return f"(SELECT * FROM (VALUES {_RATE_CASTS}) AS v({_RATE_COLUMNS}) WHERE false)", [
            None
        ] * 11
    params: list[Any] = []
    for row in rows:
        r = row.band.rates
        params += [row.provider, row.model, row.batch, row.starts, row.ends, row.band.above]
        params += [row.band.up_to, r.input, r.cached_input, r.cache_write, r.output]
    values = ", ".join([_RATE_CASTS] * len(rows))
    return f"(SELECT * FROM (VALUES {values}) AS v({_RATE_COLUMNS}))", params


def rate_join(q: str = "q", r: str = "r", *, same_model: bool = True) -> str:
    """ON-clause joining requests `q` to their rate row in `r` (time range and tier band)."""
    model = f"{r}.provider = {q}.provider AND {r}.model = {q}.model AND " if same_model else ""
    return (
        f"{model}{r}.batch = {q}.batch AND {q}.ts >= {r}.starts AND {q}.ts < {r}.ends "
        f"AND {q}.input_tokens > {r}.above AND {q}.input_tokens <= {r}.up_to"
    )


def cost_sql(q: str = "q", r: str = "r") -> str:
    """USD cost of request `q` at rates `r` (NULL when no rate row matched)."""
    return (
        f"(({q}.input_tokens - {q}.cached_input_tokens - {q}.cache_write_tokens) * {r}.r_input"
        f" + {q}.cached_input_tokens * {r}.r_cached + {q}.cache_write_tokens * {r}.r_cache_write"
        f" + {q}.output_tokens * {r}.r_output) / {MTOK}.0"
    )


# Provider names as other tools write them -> genai-prices provider ids.
_PROVIDER_ALIASES = {
    "azure_openai": "azure", "azure-openai": "azure", "azure_ai": "azure",
    "bedrock": "aws", "aws_bedrock": "aws", "aws.bedrock": "aws", "amazon": "aws",
    "vertex_ai": "google", "vertex": "google", "vertexai": "google", "gemini": "google",
    "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
    "google_genai": "google", "google-genai": "google",
    "together_ai": "together", "fireworks_ai": "fireworks", "mistralai": "mistral",
    "xai": "x-ai", "x_ai": "x-ai", "az.ai.openai": "azure", "az.ai.inference": "azure",
    "anthropic_messages": "anthropic", "text-completion-openai": "openai",
    "cohere_chat": "cohere", "openai_compatible": "openai",
}  # fmt: skip


def provider_id(name: str) -> str:
    """The genai-prices id of a provider as another tool names it (`OPENAI`, `bedrock`)."""
    key = name.strip().lower()
    return _PROVIDER_ALIASES.get(key, key)


@functools.lru_cache(maxsize=4096)
def provider_of(model: str) -> str | None:
    """The provider the catalogue knows `model` under, for sources that record no
    provider (e.g. Langfuse); None when the catalogue does not know the model."""
    try:
        found, _ = data_snapshot.get_snapshot().find_provider_model(model, None, None, None)
    except LookupError:
        return None
    return found.id


@functools.lru_cache(maxsize=4096)
def provider_for(model: str, default: str | None = None) -> str | None:
    """The provider of a request that names none, from its model and the upload's default.

    The default wins where the catalogue prices the model there (gpt-4o with default
    `azure` stays Azure's): the user chose it. Else the provider the catalogue knows the
    model under (claude-… is Anthropic's even when the default is `openai`), so a file
    mixing vendors prices each row at its own vendor's rates. Else the default, as given
    (the model is then unpriced), or None: nothing names the provider.
    """
    if default is not None and _lookup(default, model) is not None:
        return default
    return provider_of(model) or default
