from netra.agents.llm import WritingBrief
from netra.agents.llm.offline import OfflineAnalyst, classify_by_keywords

LABELS = {
    "general": "general questions about Netra, greetings, help",
    "cost_overview": "total cost, spend, bill, expensive, money by model or feature",
    "latency": "latency, slow responses, p95, speed, time to first token",
    "caching": "prompt caching, cache hits, repeated prompts, duplicate requests",
    "model_routing": "cheaper model, switch models, downgrade, routing",
}

DRAFT = """## Where the money goes

You spent **$3,900.00** across 12,345 requests in the last 30 days.

| model | cost | share |
|---|---|---|
| gpt-4o | $3,100.00 | 79.5% |
| gpt-4o-mini | $800.00 | 20.5% |

### Findings
1. Cache the repeated system prompt of `support-bot`: it is sent on 84% of requests and \
would save about $410.00 a month at the current cache discount.
2. Route `summarise` to gpt-4o-mini: saves $1,020.00 a month.
"""


async def test_classify_picks_the_label_whose_keywords_the_question_uses() -> None:
    model = OfflineAnalyst()
    assert (
        await model.classify("Which feature is most expensive? Where is my money going?", LABELS)
        == "cost_overview"
    )
    assert await model.classify("Why are my responses so slow?", LABELS) == "latency"
    assert await model.classify("Would caching the repeated prompts help?", LABELS) == "caching"
    assert await model.classify("Can I switch to a cheaper model?", LABELS) == "model_routing"


async def test_classify_without_any_keyword_falls_to_the_first_label() -> None:
    assert await OfflineAnalyst().classify("hello there", LABELS) == "general"
    reordered = {"latency": LABELS["latency"], "general": LABELS["general"]}
    assert classify_by_keywords("hello there", reordered) == "latency"


async def test_classify_ignores_stop_words() -> None:
    labels = {"a": "cost of it", "b": "what is the latency"}
    # "what is the" must not outweigh the one real keyword.
    assert classify_by_keywords("what is the cost", labels) == "a"


async def test_classify_is_deterministic() -> None:
    question = "Are we paying too much for slow duplicate requests?"
    answers = {classify_by_keywords(question, LABELS) for _ in range(20)}
    assert len(answers) == 1


async def test_write_streams_the_draft_a_paragraph_at_a_time_joining_to_it_exactly() -> None:
    brief = WritingBrief(question="Where does my money go?", draft=DRAFT, facts={})
    chunks = [chunk async for chunk in OfflineAnalyst().write(brief)]
    assert "".join(chunks) == DRAFT
    assert [chunk.splitlines()[0] for chunk in chunks] == [
        "## Where the money goes", "You spent **$3,900.00** across 12,345 requests in the "
        "last 30 days.", "| model | cost | share |", "### Findings"]
    assert all(chunk.endswith("\n\n") and "\n\n" not in chunk[:-2] for chunk in chunks[:-1])


async def test_write_of_a_draft_without_trailing_newline_round_trips() -> None:
    draft = "one line " * 40 + "\n\n  indented\r\nlast"
    brief = WritingBrief(question="q", draft=draft, facts={})
    assert "".join([c async for c in OfflineAnalyst().write(brief)]) == draft
