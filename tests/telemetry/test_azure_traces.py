"""The Azure LLM inference traces (2023): every row in, cost exactly the catalogue's."""

from __future__ import annotations

import csv
import functools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from tests.telemetry.helpers import open_store

# A copy of ../shared/data/azure-llm-inference-2023 (CC-BY 4.0, see its LICENSE), kept
# in the repository so that a checkout without shared/ still runs this test.
TRACES = Path(__file__).parents[1] / "data" / "azure-llm-inference-2023"
FILES = ("AzureLLMInferenceTrace_code.csv", "AzureLLMInferenceTrace_conv.csv")


@functools.cache
def _per_token(day: str, kind: str) -> Decimal:
    """USD per token of one kind (input/output) on that day, straight from genai-prices."""
    usage = Usage(**{f"{kind}_tokens": 1_000_000})
    at = datetime.fromisoformat(day).replace(tzinfo=UTC)
    price = calc_price(usage, "gpt-4o", provider_id="openai", genai_request_timestamp=at)
    return price.total_price / 1_000_000


def _expected(path: Path) -> tuple[int, Decimal, set[str]]:
    """Rows, and cost from genai-prices' per-token gpt-4o prices on each row's day."""
    rows, cost, days = 0, Decimal(0), set()
    with path.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            day = row["TIMESTAMP"][:10]
            cost += int(row["ContextTokens"]) * _per_token(day, "input")
            cost += int(row["GeneratedTokens"]) * _per_token(day, "output")
            rows += 1
            days.add(day)
    return rows, cost, days


@pytest.mark.parametrize("name", FILES)
async def test_azure_trace_ingests_whole_and_priced(tmp_path: Path, name: str) -> None:
    path = TRACES / name
    rows, cost, days = _expected(path)
    async with open_store(tmp_path) as store:
        result = await store.import_file(
            "azure", path, default_provider="openai", default_model="gpt-4o"
        )
    assert result.format == "token-trace"
    assert (result.rows, result.rejected_rows, result.dataset_rows) == (rows, 0, rows)
    assert result.unpriced_models == []
    assert result.total_cost_usd == pytest.approx(float(cost), rel=1e-9)
    assert result.first_ts is not None and result.first_ts.date().isoformat() in days
