"""The ground truth: what each planted case saves, priced straight from its own rows.

Deliberately not the analysis code: the SQL here reads the generator's parameters (the
feature, the cap, the prefix length, the history window…) so that the findings can be
held to an independent figure.
"""

from __future__ import annotations

from typing import Any, Protocol

from netra.telemetry import pricing
from netra.telemetry._synthetic_cases import planted_cases

PROMPT_CACHE_TTL_S = 300  # Anthropic: a cached prefix lives 5 minutes, refreshed on use

_WINDOW = """
SELECT greatest(date_diff('second', min(ts), max(ts)) / 86400.0, 1.0) AS days
FROM requests WHERE dataset_id = ?
"""

# Token parts per day of one feature's requests, to price them at any model's rates.
_TOKENS = """
SELECT ts::DATE AS day, batch, sum(input_tokens - cached_input_tokens - cache_write_tokens)
    AS uncached, sum(cached_input_tokens) AS cached, sum(cache_write_tokens) AS written,
  sum(output_tokens) AS output, min(input_tokens) AS low, max(input_tokens) AS high
FROM requests WHERE dataset_id = ? AND feature = ? GROUP BY ALL
"""

_REPEATS = """
SELECT coalesce(sum(total - first_cost), 0) AS usd FROM (
  SELECT sum(cost_usd) AS total, arg_min(cost_usd, ts) AS first_cost FROM requests
  WHERE dataset_id = ? AND feature = ? AND status = 'ok' GROUP BY prompt_hash)
"""

_CACHE_REPLAY = """
SELECT ts::DATE AS day, count(*) FILTER (WHERE gap_s <= ?) AS hits,
  count(*) FILTER (WHERE gap_s IS NULL OR gap_s > ?) AS writes,
  min(input_tokens) AS low, max(input_tokens) AS high
FROM (SELECT ts, input_tokens, epoch(ts - lag(ts) OVER (ORDER BY ts)) AS gap_s
      FROM requests WHERE dataset_id = ? AND feature = ?)
GROUP BY 1
"""

_EXCESS_OUTPUT = """
SELECT ts::DATE AS day, sum(greatest(output_tokens - ?, 0)) AS excess,
  min(input_tokens) AS low, max(input_tokens) AS high
FROM requests WHERE dataset_id = ? AND feature = ? AND status = 'ok' GROUP BY 1
"""

_FAILED_RETRIES = """
SELECT coalesce(sum(cost_usd), 0) AS usd FROM requests
WHERE dataset_id = ? AND feature = ? AND status = 'error'
  AND regexp_extract(metadata, '"attempt": (\\d+)', 1)::INT >= 2
"""

_TRIMMED_HISTORY = """
WITH t AS (
  SELECT conversation_id, ts, input_tokens,
    regexp_extract(metadata, '"turn": (\\d+)', 1)::INT AS turn
  FROM requests WHERE dataset_id = ? AND feature = ?
), capped AS (SELECT conversation_id, input_tokens + ? AS cap FROM t WHERE turn = ?)
SELECT ts::DATE AS day, sum(greatest(input_tokens - cap, 0)) AS saved,
  min(input_tokens) AS low, max(input_tokens) AS high
FROM t JOIN capped USING (conversation_id) WHERE turn > ? GROUP BY 1
"""


def _rates(provider: str, model: str, row: dict[str, Any], batch: bool) -> pricing.Rates:
    """The model's rates for a day's requests, which must all fall in one price tier."""
    low, high = (
        pricing.price_per_mtok(provider, model, row["day"], batch=batch, input_tokens=n)
        for n in (int(row["low"]), int(row["high"]))
    )
    if low is None or low != high:
        raise ValueError(f"{provider} {model} has no single price for the requests of "
                         f"{row['day']}: the planted cases must stay inside one tier")  # fmt: skip
    return low


class Queryable(Protocol):
    """What the ground truth reads a dataset through: an analytics store's `fetch`. Not
    AnalyticsStore itself: the stores generate the demo with this module, which is why it
    sits below them."""

    async def fetch(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]: ...


def _cost(provider: str, model: str, row: dict[str, Any], batch: bool) -> float:
    rates = _rates(provider, model, row, batch)
    return rates.cost_usd(
        int(row["uncached"] + row["cached"] + row["written"]), int(row["output"]),
        int(row["cached"]), int(row["written"]),
    )  # fmt: skip


async def _reprice_saving(
    store: Queryable, dataset_id: str, case: dict[str, Any], *, provider: str, model: str,
    batch: bool | None = None,
) -> float:  # fmt: skip
    """What the case's requests cost now less what they would cost at another price."""
    rows = await store.fetch(_TOKENS, [dataset_id, case["feature"]])
    saving = 0.0
    for row in rows:
        saving += _cost(case["provider"], case["model"], row, bool(row["batch"]))
        saving -= _cost(provider, model, row, bool(row["batch"]) if batch is None else batch)
    return saving


async def _prompt_caching(store: Queryable, dataset_id: str, case: dict[str, Any]) -> float:
    ttl, prefix = PROMPT_CACHE_TTL_S, case["prefix_tokens"]
    rows = await store.fetch(_CACHE_REPLAY, [ttl, ttl, dataset_id, case["feature"]])
    saving = 0.0
    for row in rows:
        r = _rates(case["provider"], case["model"], row, False)
        saving += row["hits"] * prefix * (r.input - r.cached_input) / pricing.MTOK
        saving -= row["writes"] * prefix * (r.cache_write - r.input) / pricing.MTOK
    return saving


async def _output_limits(store: Queryable, dataset_id: str, case: dict[str, Any]) -> float:
    rows = await store.fetch(_EXCESS_OUTPUT, [case["cap"], dataset_id, case["feature"]])
    return (
        sum(
            int(row["excess"]) * _rates(case["provider"], case["model"], row, False).output
            for row in rows
        )
        / pricing.MTOK
    )


async def _context_growth(store: Queryable, dataset_id: str, case: dict[str, Any]) -> float:
    turns = case["window_turns"]
    params = [dataset_id, case["feature"], case["summary_tokens"], turns, turns]
    rows = await store.fetch(_TRIMMED_HISTORY, params)
    return (
        sum(
            int(row["saved"]) * _rates(case["provider"], case["model"], row, False).input
            for row in rows
        )
        / pricing.MTOK
    )


async def _saving(store: Queryable, dataset_id: str, category: str, case: dict[str, Any]) -> float:
    feature = case["feature"]
    if category == "model_rightsizing":
        return await _reprice_saving(store, dataset_id, case, provider=case["provider"],
                                     model=case["suggested_model"])  # fmt: skip
    if category == "provider_switch":
        return await _reprice_saving(store, dataset_id, case, provider=case["suggested_provider"],
                                     model=case["suggested_model"])  # fmt: skip
    if category == "batch_api":
        return await _reprice_saving(store, dataset_id, case, provider=case["provider"],
                                     model=case["model"], batch=True)  # fmt: skip
    if category == "response_caching":
        [row] = await store.fetch(_REPEATS, [dataset_id, feature])
        return float(row["usd"])
    if category == "retry_waste":
        [row] = await store.fetch(_FAILED_RETRIES, [dataset_id, feature])
        return float(row["usd"])
    if category == "prompt_caching":
        return await _prompt_caching(store, dataset_id, case)
    if category == "output_limits":
        return await _output_limits(store, dataset_id, case)
    if category == "context_growth":
        return await _context_growth(store, dataset_id, case)
    raise ValueError(f"no ground truth for category {category!r}")


async def ground_truth(
    store: Queryable, dataset_id: str, *, clean: bool = False
) -> dict[str, float]:
    """Expected monthly savings (USD) per planted category of a generated dataset.

    Each case is priced straight from its own requests with the generator's parameters
    (the feature, the cap, the prefix length, the history window…) and catalogue rates
    looked up in Python, scaled like every finding: the dataset's window to 30 days.
    """
    [window_row] = await store.fetch(_WINDOW, [dataset_id])
    scale = 30 / float(window_row["days"] or 1.0)
    truth: dict[str, float] = {}
    for category, cases in planted_cases(clean).items():
        total = 0.0
        for case in cases:
            total += await _saving(store, dataset_id, category, case)
        truth[category] = round(total * scale, 6)
    return truth
