"""The model catalogue the analyses choose targets from, and providers' prompt-cache rules.

Prices are never written here: they come from genai-prices through telemetry.pricing, for
the date of each request. This file holds what genai-prices does not: a capability tier
per model (1 = small and fast, 2 = mid-size, 3 = frontier), the model's context window,
its `line` (a generation of one vendor: right-sizing stays inside it), its `family` (the
same weights under another provider's id: provider switching stays inside it), and the
public page each figure comes from.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from genai_prices import data_snapshot


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    model: str
    family: str  # the same model wherever it is served
    line: str  # one vendor generation: gpt-4o, claude-4, gemini-2.5…
    tier: int  # 1 small, 2 mid, 3 frontier
    context_window: int  # tokens, prompt + output
    source: str  # the provider's public page for tier and context window


_OPENAI = "https://platform.openai.com/docs/models"
_AZURE = "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/models"
_ANTHROPIC = "https://docs.anthropic.com/en/docs/about-claude/models/overview"
_GEMINI = "https://ai.google.dev/gemini-api/docs/models"
_VERTEX_CLAUDE = "https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude"
_BEDROCK = "https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html"
_GROQ = "https://console.groq.com/docs/models"
_TOGETHER = "https://docs.together.ai/docs/serverless-models"

# (provider, model, family, line, tier, context window, source)
_ROWS: tuple[tuple[str, str, str, str, int, int, str], ...] = (
    ("openai", "gpt-4o", "gpt-4o", "gpt-4o", 3, 128_000, _OPENAI),
    ("openai", "gpt-4-turbo", "gpt-4-turbo", "gpt-4o", 3, 128_000, _OPENAI),
    ("openai", "gpt-4", "gpt-4", "gpt-4o", 3, 8_192, _OPENAI),
    ("openai", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o", 1, 128_000, _OPENAI),
    ("openai", "gpt-4.1", "gpt-4.1", "gpt-4.1", 3, 1_047_576, _OPENAI),
    ("openai", "gpt-4.1-mini", "gpt-4.1-mini", "gpt-4.1", 2, 1_047_576, _OPENAI),
    ("openai", "gpt-4.1-nano", "gpt-4.1-nano", "gpt-4.1", 1, 1_047_576, _OPENAI),
    ("openai", "gpt-5", "gpt-5", "gpt-5", 3, 400_000, _OPENAI),
    ("openai", "gpt-5-mini", "gpt-5-mini", "gpt-5", 2, 400_000, _OPENAI),
    ("openai", "gpt-5-nano", "gpt-5-nano", "gpt-5", 1, 400_000, _OPENAI),
    ("azure", "gpt-4o", "gpt-4o", "gpt-4o", 3, 128_000, _AZURE),
    ("azure", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o", 1, 128_000, _AZURE),
    ("azure", "gpt-4.1", "gpt-4.1", "gpt-4.1", 3, 1_047_576, _AZURE),
    ("azure", "gpt-4.1-mini", "gpt-4.1-mini", "gpt-4.1", 2, 1_047_576, _AZURE),
    ("anthropic", "claude-opus-4-1", "claude-opus-4-1", "claude-4", 3, 200_000, _ANTHROPIC),
    ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5", "claude-4", 2, 200_000, _ANTHROPIC),
    ("anthropic", "claude-sonnet-4", "claude-sonnet-4", "claude-4", 2, 200_000, _ANTHROPIC),
    ("anthropic", "claude-haiku-4-5", "claude-haiku-4-5", "claude-4", 1, 200_000, _ANTHROPIC),
    ("anthropic", "claude-3-7-sonnet", "claude-3-7-sonnet", "claude-3", 2, 200_000, _ANTHROPIC),
    ("anthropic", "claude-3-5-sonnet", "claude-3-5-sonnet", "claude-3", 2, 200_000, _ANTHROPIC),
    ("anthropic", "claude-3-5-haiku", "claude-3-5-haiku", "claude-3", 1, 200_000, _ANTHROPIC),
    ("google", "gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5", 3, 1_048_576, _GEMINI),
    ("google", "gemini-2.5-flash", "gemini-2.5-flash", "gemini-2.5", 2, 1_048_576, _GEMINI),
    ("google", "gemini-2.5-flash-lite", "gemini-2.5-flash-lite", "gemini-2.5", 1, 1_048_576,
     _GEMINI),
    ("google", "gemini-1.5-pro", "gemini-1.5-pro", "gemini-1.5", 3, 2_097_152, _GEMINI),
    ("google", "gemini-1.5-flash", "gemini-1.5-flash", "gemini-1.5", 2, 1_048_576, _GEMINI),
    ("google", "claude-sonnet-4-5", "claude-sonnet-4-5", "vertex-claude", 2, 200_000,
     _VERTEX_CLAUDE),
    ("google", "claude-haiku-4-5", "claude-haiku-4-5", "vertex-claude", 1, 200_000,
     _VERTEX_CLAUDE),
    ("aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5",
     "bedrock-claude", 2, 200_000, _BEDROCK),
    ("aws", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5",
     "bedrock-claude", 1, 200_000, _BEDROCK),
    ("groq", "llama-3.3-70b-versatile", "llama-3.3-70b", "llama-3", 2, 131_072, _GROQ),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "llama-3.3-70b", "llama-3", 2,
     131_072, _TOGETHER),
    ("groq", "openai/gpt-oss-120b", "gpt-oss-120b", "gpt-oss", 2, 131_072, _GROQ),
    ("together", "openai/gpt-oss-120b", "gpt-oss-120b", "gpt-oss", 2, 131_072, _TOGETHER),
)  # fmt: skip
CATALOG: tuple[ModelSpec, ...] = tuple(ModelSpec(*row) for row in _ROWS)
_BY_KEY = {(s.provider, s.model.lower()): s for s in CATALOG}  # ids match case-blind
_DATED = re.compile(r"^(?P<base>.+?)(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)?$")


def spec(provider: str, model: str) -> ModelSpec | None:
    """The catalogue entry of a model; dated ids (gpt-4o-2024-08-06, …-latest) too."""
    key = (provider.lower(), model.lower())
    if key in _BY_KEY:
        return _BY_KEY[key]
    match = _DATED.match(key[1])
    return _BY_KEY.get((key[0], match.group("base"))) if match else None


def smaller_sibling(provider: str, model: str) -> ModelSpec | None:
    """The right-sizing target: the same provider and line, the highest tier below."""
    current = spec(provider, model)
    if current is None:
        return None
    below = [
        s
        for s in CATALOG
        if s.provider == current.provider and s.line == current.line and s.tier < current.tier
    ]
    best = max((s.tier for s in below), default=None)
    return next((s for s in below if s.tier == best), None)


def equivalents(provider: str, model: str) -> list[ModelSpec]:
    """The same model (family) served by other providers, in catalogue order."""
    current = spec(provider, model)
    if current is None:
        return []
    return [s for s in CATALOG if s.family == current.family and s.provider != current.provider]


def family_members(name: str) -> list[ModelSpec]:
    """Every provider's entry of a family ("gpt-4o" → openai and azure gpt-4o)."""
    found = spec_by_model(name)
    family = found.family if found is not None else name.lower()
    return [s for s in CATALOG if s.family == family]


def spec_by_model(model: str) -> ModelSpec | None:
    """The first entry with this model id or family, whatever the provider."""
    lowered = model.lower()
    return next((s for s in CATALOG if lowered in (s.model.lower(), s.family)), None)


@functools.lru_cache(maxsize=256)
def pricing_sources(provider: str) -> tuple[str, ...]:
    """The provider's public pricing pages, as genai-prices records them."""
    for candidate in data_snapshot.get_snapshot().providers:
        if candidate.id == provider:
            return tuple(candidate.pricing_urls or ())
    return ()


# -- prompt caching -------------------------------------------------------------------


@dataclass(frozen=True)
class CacheRule:
    """How a provider's prompt cache behaves for a model.

    `min_tokens`: prompts shorter than this are never cached. `ttl_s`: an entry lives
    this long after its last use (each hit refreshes it). `write_premium`: the price of
    a cache write over the input price (the catalogue's cache-write rate carries it;
    this figure documents it). `increment`: cached prefixes are whole multiples of it.
    `storage_usd_per_mtok_hour`: explicit caches billed for the time they are kept.
    """

    provider: str
    min_tokens: int
    ttl_s: float
    write_premium: float
    automatic: bool
    increment: int
    storage_usd_per_mtok_hour: float
    source: str


_OPENAI_CACHE = "https://platform.openai.com/docs/guides/prompt-caching"
_ANTHROPIC_CACHE = "https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching"
_GEMINI_CACHE = "https://ai.google.dev/gemini-api/docs/caching"


def cache_rule(provider: str, model: str) -> CacheRule | None:
    """The prompt-cache rule for a model, or None where the provider has none we know."""
    name = model.lower()
    if provider in ("openai", "azure"):
        # Automatic for prompts of ≥ 1024 tokens, in 128-token steps, no write premium;
        # entries are evicted after 5–10 minutes of inactivity: we assume the lower 5.
        return CacheRule(provider, 1024, 300, 1.0, True, 128, 0.0, _OPENAI_CACHE)
    if provider in ("anthropic", "aws") or (provider == "google" and "claude" in name):
        # Explicit cache_control breakpoints; writes cost 1.25× input, reads 0.1×;
        # 5-minute lifetime refreshed on each hit. Minimum length by model.
        minimum = 1024
        if "haiku-4-5" in name or "opus-4-5" in name:
            minimum = 4096
        elif "haiku" in name:
            minimum = 2048
        return CacheRule(provider, minimum, 300, 1.25, False, 1, 0.0, _ANTHROPIC_CACHE)
    if provider == "google" and "gemini" in name:
        # Explicit context caching: ≥ 1024 tokens on Flash, ≥ 4096 on Pro (2.5), a
        # default TTL of one hour, and storage billed per token-hour while kept.
        pro = "pro" in name
        return CacheRule(
            provider, 4096 if pro else 1024, 3600, 1.0, False, 1, 4.5 if pro else 1.0,
            _GEMINI_CACHE,
        )  # fmt: skip
    return None
