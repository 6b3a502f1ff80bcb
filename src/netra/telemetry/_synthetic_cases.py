"""The inefficiencies planted in the demo: each one's fix (the clean features) and the
case a finding should report, with the parameters `ground_truth` prices it by."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from netra.telemetry._synthetic_features import FEATURES, WINDOW_DAYS, DemoFeature, window
from netra.telemetry.pricing import PriceKey

# What each planted case looks like when it is done right (the clean dataset).
_FIXES: dict[str, dict[str, Any]] = {
    "ticket-triage": {"model": "gpt-4o-mini"},
    "support-chat": {"prompt_cache": True},
    "faq-bot": {"prompt_pool": None},
    "nightly-report": {"batch": True},
    "email-drafts": {"runaway_share": 0.0, "max_tokens": 800},
    "invoice-extract": {"storm_share": 0.0, "backoff_s": 4.0},
    "research-assistant": {"full_history": False},
    "product-tagging": {"provider": "groq", "model": "llama-3.3-70b-versatile"},
}
CLEAN_FEATURES: tuple[DemoFeature, ...] = tuple(
    dataclasses.replace(f, **_FIXES.get(f.name, {})) for f in FEATURES
)

# Parameters of the planted cases' expected fixes, used by `ground_truth`.
OUTPUT_CAP = 1024  # email-drafts: max_tokens that keeps every normal draft whole
WINDOW_TURNS = 6  # research-assistant: turns kept verbatim before history is summarised
SUMMARY_TOKENS = 400  # … and the summary that replaces the older turns

_CASES: dict[str, dict[str, Any]] = {
    "model_rightsizing": {"feature": "ticket-triage", "suggested_model": "gpt-4o-mini",
                          "requests": "every request of the feature"},
    "response_caching": {"feature": "faq-bot",
                         "requests": "successful requests repeating an earlier prompt_hash"},
    "prompt_caching": {"feature": "support-chat", "prefix_tokens": 3000,
                       "requests": "every request: the system prompt written or read"},
    "batch_api": {"feature": "nightly-report", "requests": "every request of the feature"},
    "output_limits": {"feature": "email-drafts", "cap": OUTPUT_CAP,
                      "requests": f"successful answers longer than {OUTPUT_CAP} tokens"},
    "retry_waste": {"feature": "invoice-extract",
                    "requests": "failed retries (attempt ≥ 2) of a failed request"},
    "context_growth": {"feature": "research-assistant", "window_turns": WINDOW_TURNS,
                       "summary_tokens": SUMMARY_TOKENS,
                       "requests": f"conversation turns after turn {WINDOW_TURNS}"},
    "provider_switch": {"feature": "product-tagging", "suggested_provider": "groq",
                        "suggested_model": "llama-3.3-70b-versatile",
                        "requests": "every request of the feature"},
}  # fmt: skip


def features(clean: bool = False) -> tuple[DemoFeature, ...]:
    """The demo's features, with the planted inefficiencies or (clean) without."""
    return CLEAN_FEATURES if clean else FEATURES


def planted_cases(clean: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The inefficiencies the demo contains, per finding category (none when clean)."""
    if clean:
        return {}
    by_name = {f.name: f for f in FEATURES}
    cases = {}
    for category, case in _CASES.items():
        feature = by_name[case["feature"]]
        cases[category] = [{"provider": feature.provider, "model": feature.model, **case}]
    return cases


def price_keys(end: date) -> set[PriceKey]:
    """Every (provider, model, batch, day) either mode can produce, to price it in bulk."""
    start, _ = window(end)
    days = [(start + timedelta(days=n)).date() for n in range(WINDOW_DAYS)]
    models = {(f.provider, f.model) for f in (*FEATURES, *CLEAN_FEATURES)}
    return {(p, m, batch, day) for p, m in models for batch in (False, True) for day in days}
