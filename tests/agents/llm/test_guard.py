from netra.agents.llm.guard import invented_numbers

DRAFT = "You spent **$3,900.00** on 12,345 requests; caching saves $410.50 a month (42%)."
FACTS = {
    "total_cost_usd": 3900.0,
    "requests": 12345,
    "savings": [{"usd_month": 410.5}],
    "p95_ms": 1834.25,
}


def test_numbers_from_the_draft_pass_in_any_common_format() -> None:
    text = "Spend was $3,900 over 12345 requests; caching saves 410.5 dollars, or 42 %."
    assert invented_numbers(text, draft=DRAFT, facts={}) == []


def test_numbers_only_in_the_facts_pass() -> None:
    assert invented_numbers("p95 is 1,834.25 ms", draft="", facts=FACTS) == []


def test_a_fact_rounded_to_the_precision_written_passes() -> None:
    assert invented_numbers("p95 is about 1,834 ms", draft="", facts=FACTS) == []


def test_invented_numbers_are_reported_as_written() -> None:
    text = "You could save $4,100 a month, or 57% of spend."
    assert invented_numbers(text, draft=DRAFT, facts=FACTS) == ["4,100", "57"]


def test_small_integers_are_allowed() -> None:
    assert invented_numbers("The top 3 findings, in 2 steps.", draft=DRAFT, facts={}) == []


def test_scaled_numbers_are_checked_by_value() -> None:
    assert invented_numbers("about $3.9k", draft=DRAFT, facts={}) == []
    assert invented_numbers("about $5.2k", draft=DRAFT, facts={}) == ["5.2k"]
