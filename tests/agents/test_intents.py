"""Triage routes the kinds of question users ask, with the offline model alone."""

from __future__ import annotations

import pytest

from netra.agents.intents import INTENTS, read_ask
from netra.agents.llm.offline import classify_by_keywords

QUESTIONS = [
    ("How can we cut our LLM costs?", "optimize"),
    ("Where can we save money on AI?", "optimize"),
    ("Tell me more about the second finding", "finding_detail"),
    ("Explain the first finding in detail", "finding_detail"),
    ("What if we move only half of ticket-triage?", "what_if"),
    ("What would we have paid if we switched to gpt-4o-mini?", "what_if"),
    ("Spend by feature last week", "spend"),
    ("Where does our money go?", "spend"),
    ("How is our spend trending over time?", "trend"),
    ("Which model is slowest?", "latency"),
    ("What is our p95 latency?", "latency"),
    ("What did errors cost us?", "errors"),
    ("How many requests failed with rate limits?", "errors"),
    ("Compare providers for gpt-4o-class models", "providers"),
    ("How much would prompt caching save?", "caching"),
    ("Do we send identical prompts repeatedly?", "caching"),
    ("Which traffic could go through the batch API?", "batch"),
    ("Are our outputs too long? Should we cap max tokens?", "output_limits"),
    ("Are conversations growing their context turn after turn?", "context"),
    ("Give me the LiteLLM config to implement this", "action_plan"),
    ("How do I upload my data?", "data_help"),
    ("Which formats can I import?", "data_help"),
    ("Give me an overview of the dataset", "overview"),
]


@pytest.mark.parametrize(("question", "intent"), QUESTIONS)
def test_offline_triage_routes_the_question(question: str, intent: str) -> None:
    assert classify_by_keywords(question, INTENTS) == intent


def test_at_least_ten_kinds_of_question_are_routed() -> None:
    assert len({intent for _, intent in QUESTIONS}) >= 10


def test_parameters_are_read_from_the_question() -> None:
    ask = read_ask("What if we move only half of ticket-triage to gpt-4o-mini?",
                   features=["ticket-triage", "support-chat"], models=["gpt-4o", "gpt-4o-mini"])
    assert ask.share_pct == 50.0
    assert ask.features == ["ticket-triage"]
    assert ask.models == ["gpt-4o-mini"]
    assert read_ask("tell me more about the second finding", features=[], models=[]).ordinal == 2
    assert read_ask("finding #3 please", features=[], models=[]).ordinal == 3
    assert read_ask("spend by feature last week", features=[], models=[]).days == 7
    assert read_ask("spend in the last 3 days", features=[], models=[]).days == 3
    assert read_ask("move 30% of it", features=[], models=[]).share_pct == 30.0
    both = read_ask("use gpt-4o-mini instead of gpt-4o", features=[],
                    models=["gpt-4o", "gpt-4o-mini"])
    assert sorted(both.models) == ["gpt-4o", "gpt-4o-mini"]


def test_a_model_class_names_the_model() -> None:
    ask = read_ask("compare providers for gpt-4o-class models", features=[],
                   models=["gpt-4o", "gpt-4o-mini", "gpt-4.1"])
    assert ask.models == ["gpt-4o"]
