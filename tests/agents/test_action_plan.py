"""The action plan's files are ready to use: a LiteLLM proxy config LiteLLM would load."""

from __future__ import annotations

from typing import Any

import yaml

from netra.agents.action_plan import action_plan, litellm_config


def routing_finding(feature: str, model: str, target: str, savings: float,
                    category: str = "model_rightsizing", **evidence: Any) -> dict[str, Any]:
    return {
        "id": f"{category}-{feature}", "title": f"Move {feature} from {model} to {target}",
        "category": category, "affected_requests": 1000, "current_cost_usd_month": 100.0,
        "projected_cost_usd_month": 100.0 - savings, "savings_usd_month": savings,
        "savings_pct": savings, "confidence": "high",
        "evidence": {"feature": feature, "provider": "openai", "model": model,
                     "suggested_model": target, **evidence},
        "action": f"Route {feature} to {target}.",
    }


def caching_finding() -> dict[str, Any]:
    return {"id": "response_caching-faq", "title": "Cache faq-bot answers",
            "category": "response_caching", "affected_requests": 500,
            "current_cost_usd_month": 50.0, "projected_cost_usd_month": 20.0,
            "savings_usd_month": 30.0, "savings_pct": 60.0, "confidence": "medium",
            "evidence": {"feature": "faq-bot"}, "action": "Add a response cache."}


def test_litellm_config_routes_each_feature_to_its_proposed_model() -> None:
    findings = [routing_finding("ticket-triage", "gpt-4o", "gpt-4o-mini", 80.0),
                routing_finding("summaries", "claude-sonnet-4-5", "claude-haiku-4-5", 40.0,
                                provider="anthropic"),
                caching_finding()]
    config = yaml.safe_load(litellm_config(findings) or "")
    models = {entry["model_name"]: entry["litellm_params"] for entry in config["model_list"]}
    assert models["ticket-triage-model"]["model"] == "openai/gpt-4o-mini"
    assert models["ticket-triage-model"]["api_key"] == "os.environ/OPENAI_API_KEY"
    assert models["summaries-model"]["model"] == "anthropic/claude-haiku-4-5"
    for entry in config["model_list"]:  # the fields LiteLLM's proxy requires
        assert set(entry) == {"model_name", "litellm_params"}
        assert "/" in entry["litellm_params"]["model"]
    assert config["router_settings"]["routing_strategy"] == "simple-shuffle"
    assert config["litellm_settings"] == {"cache": True,
                                          "cache_params": {"type": "redis", "ttl": 86400}}


def test_provider_switch_targets_the_other_provider() -> None:
    finding = routing_finding("chat", "gpt-4o", "gpt-4o", 10.0, category="provider_switch",
                              suggested_provider="azure")
    config = yaml.safe_load(litellm_config([finding]) or "")
    params = config["model_list"][0]["litellm_params"]
    assert params["model"] == "azure/gpt-4o" and params["api_base"] == "os.environ/AZURE_API_BASE"


def test_no_routing_finding_means_no_config_but_a_plan() -> None:
    assert litellm_config([caching_finding()]) is None
    changes, downloads = action_plan([caching_finding()])
    assert [d["filename"] for d in downloads] == ["action_plan.md"]
    assert "cache" in changes[0]["settings"].lower()
    assert changes[0]["effort"] == "medium" and not changes[0]["quick_win"]


def test_routing_changes_carry_the_code_change() -> None:
    changes, downloads = action_plan([routing_finding("ticket-triage", "gpt-4o", "gpt-4o-mini",
                                                      80.0)])
    assert 'model="gpt-4o-mini"' in changes[0]["code"]
    assert changes[0]["quick_win"]
    assert [d["filename"] for d in downloads] == ["litellm_config.yaml", "action_plan.md"]
