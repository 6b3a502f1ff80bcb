"""The model catalogue: tiers and families with public sources, and prompt-cache rules."""

from __future__ import annotations

from datetime import date

from netra.analysis.catalog import (
    CATALOG,
    cache_rule,
    equivalents,
    pricing_sources,
    smaller_sibling,
    spec,
)  # fmt: skip
from netra.telemetry import pricing

DAY = date(2026, 11, 2)


def test_every_entry_cites_a_public_page_and_has_a_price() -> None:
    for entry in CATALOG:
        assert entry.source.startswith("https://"), entry
        assert entry.tier in (1, 2, 3) and entry.context_window > 0
        assert pricing.price_per_mtok(entry.provider, entry.model, DAY) is not None, entry
        assert pricing_sources(entry.provider), entry.provider


def test_right_sizing_steps_down_one_tier_within_a_line() -> None:
    pairs = {("openai", "gpt-4o"): "gpt-4o-mini", ("openai", "gpt-4.1"): "gpt-4.1-mini",
             ("openai", "gpt-4o-2024-08-06"): "gpt-4o-mini",
             ("anthropic", "claude-sonnet-4-5"): "claude-haiku-4-5",
             ("google", "gemini-2.5-pro"): "gemini-2.5-flash",
             ("google", "gemini-2.5-flash"): "gemini-2.5-flash-lite"}  # fmt: skip
    for (provider, model), target in pairs.items():
        sibling = smaller_sibling(provider, model)
        current = spec(provider, model)
        assert sibling is not None and current is not None
        assert sibling.model == target and sibling.tier < current.tier
        assert sibling.provider == provider and sibling.line == current.line
    for provider, model in (("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku-4-5"),
                            ("openai", "no-such-model")):  # fmt: skip
        assert smaller_sibling(provider, model) is None


def test_equivalents_are_the_same_model_elsewhere_whatever_the_case() -> None:
    hosts = equivalents("together", "META-LLAMA/Llama-3.3-70B-Instruct-Turbo")
    assert [(s.provider, s.model) for s in hosts] == [("groq", "llama-3.3-70b-versatile")]
    claude = {s.provider for s in equivalents("anthropic", "claude-sonnet-4-5")}
    assert claude == {"google", "aws"}


def test_cache_rules_follow_each_providers_documentation() -> None:
    openai = cache_rule("openai", "gpt-4o")
    sonnet = cache_rule("anthropic", "claude-sonnet-4-5")
    haiku = cache_rule("anthropic", "claude-haiku-4-5")
    gemini = cache_rule("google", "gemini-2.5-pro")
    assert openai is not None and sonnet is not None and haiku is not None and gemini is not None
    assert (openai.automatic, openai.min_tokens, openai.increment) == (True, 1024, 128)
    assert (sonnet.automatic, sonnet.min_tokens, sonnet.write_premium) == (False, 1024, 1.25)
    assert haiku.min_tokens == 4096
    assert gemini.ttl_s == 3600 and gemini.storage_usd_per_mtok_hour > 0
    assert cache_rule("groq", "llama-3.3-70b-versatile") is None
    for rule in (openai, sonnet, gemini):
        assert rule.source.startswith("https://")
