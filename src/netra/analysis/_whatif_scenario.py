"""The what-if scenario and how it meets the dataset: which names it may use and where
each of the dataset's models goes under it (the moves the replay re-prices)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from genai_prices import data_snapshot

from netra.analysis.catalog import spec, spec_by_model
from netra.errors import ValidationFailed
from netra.telemetry import pricing

RESPONSE_CACHE_TTL_S = 24 * 3600  # how long the exact response cache keeps an answer


@dataclass(frozen=True)
class Scenario:
    """The alternative to replay (None: keep what each request did)."""

    model_map: dict[str, str] = field(default_factory=dict)
    provider_map: dict[str, str] = field(default_factory=dict)
    features: tuple[str, ...] | None = None
    share_pct: float = 100.0
    batch: bool | None = None
    prompt_cache: bool | None = None
    response_cache: bool | None = None


Move = tuple[str, str, str, str]  # provider, model -> new provider, new model


def _is_model(provider: str, model: str, name: str) -> bool:
    """A dataset model is `name` itself or a dated id of it (gpt-4o-2024-08-06 is gpt-4o)."""
    found = spec(provider, model)
    return model.lower() == name.lower() or (found is not None and found.model == name.lower())


def _serving_provider(model: str) -> str | None:
    """The provider that serves a model in the catalogues (ours first, then genai-prices)."""
    found = spec_by_model(model)
    if found is not None:
        return found.provider
    try:
        return data_snapshot.get_snapshot().find_provider_model(model, None, None, None)[0].id
    except LookupError:
        return None


def _target(scenario: Scenario, provider: str, model: str, day: date) -> tuple[str, str] | None:
    """Where a dataset model goes under the scenario's maps; None when no map names it."""
    new_model = next(
        (to for name, to in scenario.model_map.items() if _is_model(provider, model, name)), None
    )
    new_provider = scenario.provider_map.get(provider)
    if new_model is None and new_provider is None:
        return None
    to_model = new_model or model
    to_provider = new_provider or provider
    # "gpt-4o -> claude-haiku-4-5" needs no provider_map: the model says where it runs.
    if new_provider is None and pricing.price_per_mtok(to_provider, to_model, day) is None:
        to_provider = _serving_provider(to_model) or to_provider
    if pricing.price_per_mtok(to_provider, to_model, day) is None:
        hint = (
            "name a catalogued model (e.g. gpt-4o-mini, claude-haiku-4-5, gemini-2.5-flash)"
            if new_model is not None
            else "name a provider that serves it"
        )
        raise ValidationFailed(
            f"{'model_map' if new_model is not None else 'provider_map'}: the price catalogue "
            f"does not know model {to_model!r} at provider {to_provider!r}, so it cannot "
            f"re-price {provider}/{model} traffic; {hint}"
        )
    return to_provider, to_model


def _unknown(where: str, kind: str, name: str, known: list[str]) -> ValidationFailed:
    return ValidationFailed(
        f"{where}: {name!r} is not a {kind} of this dataset "
        f"(its {kind}s: {', '.join(known) or 'none'})"
    )


def check_names(scenario: Scenario, contents: list[dict[str, Any]]) -> None:
    """Every model, provider and feature a scenario names must be in the dataset."""
    if not 0 < scenario.share_pct <= 100:
        raise ValidationFailed(f"share_pct: must be > 0 and ≤ 100 (got {scenario.share_pct})")
    models = sorted({(r["provider"], r["model"]) for r in contents})
    for name in scenario.model_map:
        if not any(_is_model(p, m, name) for p, m in models):
            raise _unknown("model_map", "model", name, sorted({m for _, m in models}))
    providers = sorted({p for p, _ in models})
    for name in scenario.provider_map:
        if name not in providers:
            raise _unknown("provider_map", "provider", name, providers)
    features = sorted({r["feature"] for r in contents})
    for name in scenario.features or ():
        if name not in features:
            raise _unknown("features", "feature", name, features)


def moves_of(scenario: Scenario, contents: list[dict[str, Any]], day: date) -> list[Move]:
    """(provider, model, new provider, new model) for every dataset model the scenario
    touches: all of them when it names no model or provider."""
    pairs = sorted({(r["provider"], r["model"]) for r in contents})
    if not (scenario.model_map or scenario.provider_map):
        return [(p, m, p, m) for p, m in pairs]
    moves = []
    for provider, model in pairs:
        target = _target(scenario, provider, model, day)
        if target is not None:
            moves.append((provider, model, *target))
    return moves
