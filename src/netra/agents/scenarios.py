"""Turns a what-if question into a replay Scenario, using the thread's earlier findings
for what the question leaves implicit ("what if we move only half of ticket-triage?")."""

from __future__ import annotations

import re
from typing import Any

from netra.agents.intents import Ask
from netra.analysis.whatif import Scenario, describe

RESPONSE_CACHE_WORDS = r"response cach|cache (the )?(answers|responses)"


def _finding_for(findings: list[dict[str, Any]], features: list[str]) -> dict[str, Any] | None:
    """The biggest routing finding, on one of the named features when any are named."""
    for finding in findings:
        evidence = finding.get("evidence") or {}
        if finding["category"] not in ("model_rightsizing", "provider_switch"):
            continue
        if not features or evidence.get("feature") in features:
            return finding
    return None


def _model_map(ask: Ask) -> dict[str, str]:
    """Two models named: "from A to B", "B instead of A", else in the order written."""
    if len(ask.models) < 2:
        return {}
    text = ask.question.lower()
    first, second = sorted(ask.models[:2], key=lambda m: text.find(m.lower()))
    if re.search(rf"{re.escape(first.lower())}\s+instead\s+of", text):
        return {second: first}
    return {first: second}


# "to gpt-4o-mini", "with claude-haiku-4-5": a model name has a digit in it.
_TARGET = re.compile(r"\b(?:to|with|onto|by|for)\s+([a-z][\w.:/-]*\d[\w.:/-]*)", re.I)


def _named_target(ask: Ask) -> str | None:
    """The model the question moves traffic to, also when the data has never used it."""
    for match in _TARGET.finditer(ask.question):
        name = match.group(1).rstrip(".?!,")
        if name.lower() not in {m.lower() for m in ask.models}:
            return name
    return None


def build_scenario(ask: Ask, findings: list[dict[str, Any]]) -> tuple[Scenario, str]:
    """The scenario and a sentence describing it."""
    text = ask.question.lower()
    features = tuple(ask.features) or None
    share = ask.share_pct if ask.share_pct is not None else 100.0
    batch = True if "batch" in text else None
    response_cache = True if re.search(RESPONSE_CACHE_WORDS, text) else None
    prompt_cache = True if re.search(r"prompt cach|prefix cach", text) else None
    model_map = _model_map(ask)
    provider_map: dict[str, str] = {}
    target = _named_target(ask)
    if not model_map and len(ask.models) == 1 and target:
        model_map = {ask.models[0]: target}  # "move gpt-4o to gpt-4o-mini"
    if not model_map and len(ask.models) == 1 and (finding := _finding_for(findings, ask.features)):
        source = str(finding["evidence"]["model"])
        if source != ask.models[0]:  # "what if we used gpt-4o-mini there?"
            model_map = {source: ask.models[0]}
    if not (model_map or batch or response_cache or prompt_cache):
        finding = _finding_for(findings, ask.features)
        if finding is not None:
            evidence = finding["evidence"]
            if evidence.get("suggested_model"):
                model_map = {str(evidence["model"]): str(evidence["suggested_model"])}
            if evidence.get("suggested_provider"):
                provider_map = {str(evidence["provider"]): str(evidence["suggested_provider"])}
            if not features and evidence.get("feature"):
                features = (str(evidence["feature"]),)
    scenario = Scenario(model_map=model_map, provider_map=provider_map, features=features,
                        share_pct=share, batch=batch, prompt_cache=prompt_cache,
                        response_cache=response_cache)
    return scenario, describe(scenario)
