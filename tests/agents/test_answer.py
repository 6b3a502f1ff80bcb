"""The optimisation answer on thin data: when no analysis finds a saving, it names the
fields the data lacks and the analyses they would unlock, from the dataset's profile."""

from __future__ import annotations

from typing import Any

from netra.agents.answer import report_answer, report_sections
from netra.telemetry.import_report import UNLOCKS

FACTS: dict[str, Any] = {"overview": {
    "spend_usd": 12.0, "monthly_spend_usd": 12.0, "requests": 400, "window_days": 30.0,
    "p95_latency_ms": 900.0, "error_rate": 0.0, "unpriced_models": []}}
TOTALS = {"current_monthly_spend_usd": 12.0}
# The dataset_profile tool's `fields`: share of rows carrying each (0..1).
THIN = {"feature": 1.0, "latency_ms": 1.0, "prompt_hash": 0.0, "prefix_hash": 0.01,
        "conversation_id": 0.0}


def test_no_finding_on_thin_data_names_what_would_unlock_more() -> None:
    answer = report_answer(FACTS, [], [], TOTALS, [], THIN)
    assert "none of the analyses found a saving worth acting on" in answer
    for field in ("prompt_hash", "prefix_hash", "conversation_id"):
        assert f"`{field}` unlocks {UNLOCKS[field]}" in answer
    assert "`feature` unlocks" not in answer  # every row carries it
    summary = report_sections(FACTS, [], [], TOTALS, THIN)["executive_summary"]
    assert summary in answer and "Add them to the export" in summary


def test_no_finding_on_rich_data_says_so_plainly() -> None:
    rich = dict.fromkeys(THIN, 1.0)
    for coverage in (rich, None):
        answer = report_answer(FACTS, [], [], TOTALS, [], coverage)
        assert "none of the analyses found a saving worth acting on." in answer
        assert "unlocks" not in answer
