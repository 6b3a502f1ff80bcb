"""The numbers check: every number in an answer traces to a tool result or the question,
with its unit and scale; what does not is taken out with its sentence, item or row."""

from __future__ import annotations

from typing import Any

import pytest
from markdown_it_pyrs import MarkdownIt

from netra.agents.numbers import Checked, check_numbers, number_mentions

OVERVIEW: dict[str, Any] = {
    "requests": 20000,
    "window_days": 30,
    "spend_usd": 3876.4,
    "monthly_spend_usd": 3876.4,
    "input_tokens": 1_234_567,
}
FINDING: dict[str, Any] = {
    "id": "prompt_caching",
    "title": "Cache the shared system prompt",
    "savings_usd_month": 325.5,
    "savings_pct": 8.4,
    "cache_hit_rate": 0.12345,
    "affected_requests": 4210,
}
LATENCY: dict[str, Any] = {
    "rows": [{"model": "gpt-4o", "p95_latency_ms": 500, "p50_latency_ms": 1834.25}],
}
EVIDENCE: list[Any] = [OVERVIEW, [FINDING], LATENCY]


def check(text: str, evidence: list[Any] | None = None, question: str = "") -> Checked:
    return check_numbers(text, EVIDENCE if evidence is None else evidence, question)


# The parser's node names, as the opening tokens they are named after.
_OPENS = {"heading": "heading_open", "list_item": "list_item_open", "trow": "tr_open"}


def structure(markdown: str) -> list[str]:
    """The block nodes a CommonMark + tables parser (the page's) sees, to compare shapes."""
    tree = MarkdownIt("commonmark").enable("table").tree(markdown)
    return [_OPENS.get(node.name, node.name) for node in tree.walk() if node.name != "text"]


# --- the field failures of the old guard ------------------------------------------------


def test_a_count_never_traces_money() -> None:
    result = check("You could save $20,000 a year.", [{"requests": 20000}])
    assert result.unverified == ["$20,000 a year"]
    assert result.text == ""


def test_money_never_traces_a_count() -> None:
    result = check("You sent 20,000 requests.", [{"cost_usd": 20000}])
    assert result.unverified == ["20,000 requests"]


def test_a_scale_word_is_part_of_the_number() -> None:
    result = check("Spend could reach $62.78 million.", [{"spend_usd": 62.78}])
    assert result.unverified == ["$62.78 million"]
    assert check("Spend could reach $62.78 million.", [{"spend_usd": 62_780_000}]).unverified == []


def test_small_integers_are_checked() -> None:
    result = check("You use 7 models. Spend was $3,876.")
    assert result.unverified == ["7 models"]
    assert result.text == "Spend was $3,876."


def test_a_monthly_value_times_twelve_traces_a_yearly_mention() -> None:
    text = "Caching saves $325.50 a month, or $3,906 a year."
    assert check(text).text == text
    assert check("Caching saves $3,906 annually.").unverified == []
    assert check("Annual savings: $3,906.").unverified == []


def test_times_twelve_needs_the_text_to_say_yearly() -> None:
    assert check("Caching saves $3,906.").unverified == ["$3,906"]


def test_a_value_keyed_by_a_period_does_not_trace_another_period() -> None:
    assert check("Caching saves $325.50 a year.").unverified == ["$325.50 a year"]


def test_per_day_from_a_monthly_value() -> None:
    assert check("That is $10.85 per day.").unverified == []
    assert check("That is $10.85 in total.").unverified == ["$10.85"]


def test_milliseconds_trace_seconds_and_minutes() -> None:
    assert check("p95 latency is 0.5 s; the median is 1.8s.").unverified == []
    assert check("p95 latency is 500 ms.").unverified == []
    assert check("p95 latency is 0.6 s.").unverified == ["0.6 s"]


# --- rounding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Spend was $3,876.",
        "Spend was $3,876.40.",
        "Spend was $3.9k.",
        "Spend was $4k.",
        "Spend was about $4,000.",
        "The hit rate is 12%.",
        "The hit rate is 12.3%.",
        "The hit rate is 0.12.",
        "Caching saves 8.4% of spend.",
        "You sent 1.2M tokens.",
        "You sent 1,234,567 input tokens.",
        "You sent 20k requests.",
    ],
)
def test_rounding_the_text_shows_traces(text: str) -> None:
    assert check(text).unverified == []


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Spend was $3,877.", "$3,877"),
        ("Spend was $3,876.50.", "$3,876.50"),
        ("Spend was $4.0k.", "$4.0k"),
        ("The hit rate is 12.4%.", "12.4%"),
        ("You sent 1.3M tokens.", "1.3M tokens"),
        ("Spend was €3,876.", "€3,876"),
    ],
)
def test_rounding_the_text_does_not_show_is_unverified(text: str, written: str) -> None:
    assert check(text).unverified == [written]


# --- where numbers may come from --------------------------------------------------------


def test_numbers_from_the_question_are_kept() -> None:
    question = "What if we move 40% of traffic and cap output at 512 tokens over 90 days?"
    text = "Moving 40% of traffic with a 512-token cap over 90 days: see below."
    assert check(text, question=question).unverified == []


def test_a_plain_number_in_the_question_traces_any_unit() -> None:
    assert check("A $5,000 budget covers it.", [], "we spend 5000 a month").unverified == []


def test_numbers_written_in_evidence_strings_keep_their_units() -> None:
    evidence = [{"summary": "12,345 requests over 30.0 days, $3,900.00 spent"}]
    assert check("You spent $3,900 over 30 days.", evidence).unverified == []
    assert check("You spent $12,345.", evidence).unverified == ["$12,345"]


def test_a_key_that_names_nothing_inherits_its_parents_kind() -> None:
    evidence = [{"cost_usd": {"gpt-4o": 1210.0}, "latency_ms": {"p95": 1834.0}}]
    assert check("gpt-4o cost $1,210 with a p95 of 1.83 s.", evidence).unverified == []


def test_a_query_table_keys_each_cell_by_its_column() -> None:
    evidence = [{
        "columns": ["model", "requests", "spend"],
        "rows": [["gpt-4o", 1127, 11.64], ["o3", 995, 3.58]],
        "row_count": 2,
        "truncated": False,
    }]  # fmt: skip
    assert check("gpt-4o made 1,127 requests for $11.64; o3 cost $3.58.", evidence).unverified == []
    assert check("gpt-4o cost $1,127.", evidence).unverified == ["$1,127"]


def test_a_value_whose_key_names_no_unit_traces_any_unit() -> None:
    evidence = [{"columns": ["feature", "total"], "rows": [["faq-bot", 12.5]]}]
    assert check("faq-bot cost $12.50.", evidence).unverified == []


def test_ids_and_timestamps_are_not_evidence() -> None:
    evidence = [{"request_id": 4321, "first_ts": "2026-11-03T10:00:00Z", "model": "gpt-4o"}]
    assert check("You sent 4,321 requests to 4 models.", evidence).unverified == [
        "4,321 requests",
        "4 models",
    ]


def test_list_lengths_are_counts() -> None:
    evidence = [{"models": ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"]}]
    assert check("You use 3 models.", evidence).unverified == []


# --- what is not a claim ----------------------------------------------------------------


def test_dates_times_names_versions_and_labels_are_not_claims() -> None:
    text = (
        "On 2026-11-03 at 10:00 UTC (Nov 3, ISO week 49, 2026), gpt-4o-mini, "
        "claude-3-5-sonnet, gpt-4.1, o3 and Claude 3.5 Sonnet ran; p95 and p50 rose "
        "after v1.2.3 shipped in the 3rd release; the 95th percentile of step 2 (see [1])."
    )
    assert number_mentions(text) == []
    assert check(text, []).text == text


def test_list_numbering_and_heading_numbers_are_not_claims() -> None:
    text = "## 2. Findings\n\n1. Cache prompts.\n2. Batch reports.\n3. Cap output.\n"
    assert number_mentions(text) == []


def test_code_and_link_targets_are_not_claims() -> None:
    text = (
        "Run `SELECT model FROM requests LIMIT 10` or read [the guide](https://x.io/a/42).\n\n"
        "```yaml\nmax_tokens: 512\nretries: 3\n```\n"
    )
    assert number_mentions(text) == []
    assert check(text, []).text == text


def test_a_denominator_is_not_a_claim_but_its_price_is() -> None:
    evidence = [{"suggested_rates_per_mtok": {"input": 2.5, "output": 10.0}}]
    text = "Input costs $2.50 per 1M tokens and output $10/1M tokens."
    assert check(text, evidence).unverified == []
    assert check("Input costs $4 per 1M tokens.", evidence).unverified == ["$4"]


def test_a_range_takes_the_unit_of_its_upper_end() -> None:
    mentions = number_mentions("Routing saves 40-60% in 2 to 3 s.")
    assert [(m.text, m.unit) for m in mentions] == [("40", "%"), ("60%", "%"), ("2", "s"),
                                                    ("3 s", "s")]  # fmt: skip
    assert check("Routing could save 8-9% of spend.").unverified == ["9%"]


def test_issue_and_status_numbers_are_labels() -> None:
    assert number_mentions("Finding #2: HTTP 429 errors and status 500 responses.") == []


def test_top_n_counts_the_listed_items() -> None:
    text = "The top 3 models by spend:\n\n- gpt-4o\n- gpt-4o-mini\n- o3\n"
    assert check(text, []).text == text
    assert check("The top 5 models by spend are gpt-4o and o3.", []).unverified == ["5 models"]


# --- signs and forms --------------------------------------------------------------------


def test_negative_forms_trace_by_magnitude() -> None:
    evidence = [{"delta_usd_month": -3900.0, "delta_pct": -12.5}]
    texts = [
        "Spend changes by −$3,900/month.",
        "Spend changes by -$3,900 per month.",
        "Spend changes by $-3,900/month (−12.5%).",
        "Spend falls $3,900 a month.",
    ]
    for text in texts:
        assert check(text, evidence).unverified == [], text


def test_number_mentions_read_value_unit_scale_and_span() -> None:
    text = "Save −$3.9k/month, 12% of 1.2M tokens, in 0.5 s, 2× faster."
    mentions = number_mentions(text)
    assert [(m.value, m.scale, m.unit, m.kind) for m in mentions] == [
        (-3.9, 1000.0, "USD", "money"),
        (12.0, 1.0, "%", "percent"),
        (1.2, 1e6, "tokens", "tokens"),
        (0.5, 1.0, "s", "duration"),
        (2.0, 1.0, "x", "multiple"),
    ]
    assert mentions[0].period == "month"
    assert [text[m.span[0] : m.span[1]] for m in mentions] == [m.text for m in mentions]
    assert mentions[0].text == "−$3.9k/month"


# --- what is taken out ------------------------------------------------------------------


def test_only_the_sentence_with_the_untraced_number_goes() -> None:
    text = "Spend was $3,876 last month. Caching saves $4,100 a month. Start with caching."
    result = check(text)
    assert result.text == "Spend was $3,876 last month. Start with caching."
    assert result.unverified == ["$4,100 a month"]


def test_a_paragraph_left_empty_is_dropped() -> None:
    text = "# Costs\n\nSpend was $3,876.\n\nCaching saves $4,100 a month.\nThat is 57%.\n\nDone.\n"
    result = check(text)
    assert result.text == "# Costs\n\nSpend was $3,876.\n\nDone.\n"
    assert result.unverified == ["$4,100 a month", "57%"]


def test_a_table_row_with_an_untraced_cell_is_removed() -> None:
    text = (
        "| metric | value |\n|---|---|\n| spend | $3,876 |\n| savings | $4,100 |\n"
        "| requests | 20,000 |\n\nEnd.\n"
    )
    result = check(text)
    assert result.unverified == ["$4,100"]
    assert result.text == (
        "| metric | value |\n|---|---|\n| spend | $3,876 |\n| requests | 20,000 |\n\nEnd.\n"
    )
    assert structure(result.text).count("tr_open") == 3


def test_a_table_left_without_rows_is_removed() -> None:
    text = "Spend was $3,876.\n\n| metric | value |\n|---|---|\n| savings | $4,100 |\n\nEnd.\n"
    assert check(text).text == "Spend was $3,876.\n\nEnd.\n"


def test_a_list_item_with_an_untraced_number_goes_with_its_nested_items() -> None:
    text = (
        "Actions:\n\n"
        "- Cache prompts: saves $325.50 a month.\n"
        "- Batch reports: saves $900 a month.\n"
        "  - Move nightly jobs.\n"
        "  - Use the batch API.\n"
        "- Cap output at 512 tokens.\n"
    )
    result = check(text, question="cap at 512 tokens")
    assert result.text == (
        "Actions:\n\n- Cache prompts: saves $325.50 a month.\n- Cap output at 512 tokens.\n"
    )
    assert structure(result.text).count("list_item_open") == 2


def test_an_ordered_list_that_loses_items_is_renumbered() -> None:
    text = (
        "1. Cache: $325.50 a month.\n"
        "   1. Support chat costs $1.11.\n"
        "   2. FAQ bot.\n"
        "2. Batch: $900 a month.\n"
        "3. Route 4,210 requests.\n"
    )
    result = check(text)
    assert result.text == (
        "1. Cache: $325.50 a month.\n   1. FAQ bot.\n2. Route 4,210 requests.\n"
    )
    assert structure(result.text) == structure(
        "1. Cache: $325.50 a month.\n   1. FAQ bot.\n2. Route 4,210 requests.\n"
    )
    assert structure(result.text).count("list_item_open") == 3


def test_an_item_keeps_its_other_sentences() -> None:
    text = "- **Caching** saves $325.50 a month. It saves $900 more. Enable it.\n"
    assert check(text).text == "- **Caching** saves $325.50 a month. Enable it.\n"


def test_a_removal_that_would_unbalance_emphasis_drops_the_block() -> None:
    text = "**Caching saves $900 a month. Enable it.**\n\nSpend was $3,876.\n"
    assert check(text).text == "Spend was $3,876.\n"


def test_a_heading_with_an_untraced_number_goes_and_so_does_an_emptied_section() -> None:
    text = (
        "# Report\n\n## Saves $900 a month\n\nEnable caching.\n\n"
        "## Latency\n\nThe p95 is 2.5 s.\n\n## Spend\n\nSpend was $3,876.\n"
    )
    result = check(text)
    assert result.text == "# Report\n\nEnable caching.\n\n## Spend\n\nSpend was $3,876.\n"
    assert result.unverified == ["$900 a month", "2.5 s"]


def test_quotes_keep_their_markers() -> None:
    text = "> Spend was $3,876.\n> Caching saves $900.\n> Start there.\n"
    assert check(text).text == "> Spend was $3,876.\n> Start there.\n"


def test_markdown_stays_well_formed() -> None:
    text = (
        "# Where the money goes\n\n"
        "Spend was **$3,876** over 30 days, on 20,000 requests. Caching adds 45% more.\n\n"
        "## Findings\n\n"
        "1. **Prompt caching**: saves $325.50 a month (8.4%).\n"
        "2. **Batching**: saves $1,200 a month.\n"
        "3. **Routing**: moves 4,210 requests.\n\n"
        "| model | p95 |\n|---|---|\n| gpt-4o | 500 ms |\n| o3 | 9.1 s |\n\n"
        "```sql\nSELECT 1;\n```\n"
    )
    result = check(text)
    assert result.unverified == ["45%", "$1,200 a month", "9.1 s"]
    assert result.text == (
        "# Where the money goes\n\n"
        "Spend was **$3,876** over 30 days, on 20,000 requests.\n\n"
        "## Findings\n\n"
        "1. **Prompt caching**: saves $325.50 a month (8.4%).\n"
        "2. **Routing**: moves 4,210 requests.\n\n"
        "| model | p95 |\n|---|---|\n| gpt-4o | 500 ms |\n\n"
        "```sql\nSELECT 1;\n```\n"
    )
    kinds = structure(result.text)
    assert kinds.count("heading_open") == 2
    assert kinds.count("list_item_open") == 2
    assert kinds.count("tr_open") == 2
    assert kinds.count("fence") == 1


def test_all_numbers_traced_leaves_the_text_unchanged() -> None:
    text = (
        "# Summary\n\n"
        "Over 30 days you spent $3,876.40 ($3.9k) on 20,000 requests and 1.2M input tokens.\n\n"
        "- Caching saves **$325.50/month** (8.4%), or $3,906 a year; hit rate 12.3%.\n"
        "- It touches 4,210 requests.\n"
        "- p95 latency is 500 ms (0.5 s); the median is 1,834 ms.\n\n"
        "| metric | value |\n|---|---|\n| spend | $3,876 |\n| requests | 20,000 |\n"
    )
    assert check(text) == Checked(text, [])


def test_a_large_answer_against_large_evidence_is_checked() -> None:
    rows = [
        {"model": f"model-{i}", "spend_usd": 100.0 + i, "requests": 1000 + i, "share_pct": i / 10}
        for i in range(2000)
    ]
    evidence: list[Any] = [{"rows": rows, "summary": "$1,234.00 spent"}, OVERVIEW]
    lines = [f"- model-{i} spent ${100 + i:,.2f} on {1000 + i:,} requests." for i in range(300)]
    text = "\n".join(lines + ["- One more at $99,999.99.", ""])
    assert len(text) > 10_000
    result = check_numbers(text, evidence)
    assert result.unverified == ["$99,999.99"]
    assert result.text == "\n".join(lines) + "\n"
