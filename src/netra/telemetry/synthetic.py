"""Realistic demo telemetry, generated inside DuckDB with a hash-based RNG.

Every random draw is `hash(row index, seed, tag)`, so the same (rows, seed, end) always
gives the same rows, and 100,000 rows take a fraction of a second. The workload has a
month of traffic across OpenAI, Anthropic and Google, a diurnal pattern, latency that
follows the model and the output length, a few % errors, and planted inefficiencies
(see `planted_cases`) that the analysis must find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from netra.telemetry.pricing import PriceKey

WINDOW_DAYS = 30
ERROR_RATE = 0.025
_MOD = 1_000_003  # prime modulus turning a 64-bit hash into a uniform draw


@dataclass(frozen=True)
class DemoFeature:
    name: str
    provider: str
    model: str
    weight: float  # share of requests
    input_median: int
    input_sigma: float  # spread of log(tokens)
    output_median: int
    output_sigma: float
    max_tokens: int | None
    prefix: str | None  # shared system prompt id (prefix_hash)
    conversational: bool = False
    prompt_pool: int | None = None  # a small set of prompts asked again and again
    hours: tuple[int, int] | None = None  # scheduled job window (UTC) instead of diurnal
    tokens_per_s: float = 80.0
    base_ms: float = 400.0


FEATURES: tuple[DemoFeature, ...] = (
    # Planted model_rightsizing: short classification on an expensive model.
    DemoFeature("ticket-triage", "openai", "gpt-4o", 0.22, 1100, 0.35, 12, 0.4, 50, "triage-v2",
                tokens_per_s=80, base_ms=450),
    # Planted prompt_caching: long shared system prompt, no provider caching used.
    DemoFeature("support-chat", "anthropic", "claude-sonnet-4-5", 0.22, 3500, 0.4, 280, 0.5,
                1024, "support-system-v7", conversational=True, tokens_per_s=60, base_ms=700),
    # Planted response_caching: a few dozen FAQ prompts asked over and over.
    DemoFeature("faq-bot", "openai", "gpt-4.1", 0.18, 550, 0.2, 190, 0.35, 400, "faq-v3",
                prompt_pool=40, tokens_per_s=70, base_ms=500),
    DemoFeature("summarize-docs", "google", "gemini-2.5-pro", 0.10, 18000, 0.6, 500, 0.4, 1024,
                "summarize-v1", tokens_per_s=70, base_ms=900),
    DemoFeature("code-review", "anthropic", "claude-sonnet-4-5", 0.08, 7000, 0.5, 800, 0.5,
                4096, "review-v4", tokens_per_s=60, base_ms=800),
    # Planted batch_api: a scheduled job that nobody waits for.
    DemoFeature("nightly-report", "openai", "gpt-4o", 0.04, 12000, 0.4, 1400, 0.3, None,
                "report-v1", hours=(1, 3), tokens_per_s=80, base_ms=450),
    # Clean controls: short work already on small models.
    DemoFeature("autocomplete", "google", "gemini-2.5-flash", 0.10, 250, 0.4, 25, 0.5, 64,
                "complete-v2", tokens_per_s=180, base_ms=250),
    DemoFeature("intent-router", "anthropic", "claude-3-5-haiku", 0.06, 400, 0.3, 8, 0.4, 20,
                "router-v1", tokens_per_s=110, base_ms=350),
)  # fmt: skip


def planted_cases() -> dict[str, list[dict[str, str]]]:
    """The inefficiencies the demo contains, per finding category (ground truth for tests)."""
    return {
        "model_rightsizing": [
            {"feature": "ticket-triage", "provider": "openai", "model": "gpt-4o",
             "suggested_model": "gpt-4o-mini"},
        ],
        "response_caching": [{"feature": "faq-bot", "provider": "openai", "model": "gpt-4.1"}],
        "prompt_caching": [
            {"feature": "support-chat", "provider": "anthropic", "model": "claude-sonnet-4-5"},
        ],
        "batch_api": [{"feature": "nightly-report", "provider": "openai", "model": "gpt-4o"}],
    }  # fmt: skip


def window(end: date) -> tuple[datetime, datetime]:
    """The demo's time window: the WINDOW_DAYS days before `end` (naive UTC)."""
    stop = datetime.combine(end, time(0))
    return stop - timedelta(days=WINDOW_DAYS), stop


def price_keys(end: date) -> set[PriceKey]:
    """Every (provider, model, batch, day) the demo can produce, to price it in bulk."""
    start, _ = window(end)
    days = [(start + timedelta(days=n)).date() for n in range(WINDOW_DAYS)]
    return {(f.provider, f.model, False, day) for f in FEATURES for day in days}


def _u(tag: str, seed: int) -> str:
    return f"((hash(i, {seed}, '{tag}') % {_MOD})::DOUBLE / {_MOD})"


def _z(tag: str, seed: int) -> str:
    """Approximately standard normal (Irwin–Hall of 3 uniforms), bounded to ±3."""
    return f"(({_u(tag + '1', seed)} + {_u(tag + '2', seed)} + {_u(tag + '3', seed)} - 1.5) * 2)"


def _feature_table() -> str:
    def literal(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        return repr(value)

    rows = []
    for index, f in enumerate(FEATURES):
        hours = f.hours or (None, None)
        values = (index, f.name, f.provider, f.model, f.input_median, f.input_sigma,
                  f.output_median, f.output_sigma, f.max_tokens, f.prefix, f.conversational,
                  f.prompt_pool, hours[0], hours[1], f.tokens_per_s, f.base_ms)  # fmt: skip
        rows.append("(" + ", ".join(literal(v) for v in values) + ")")
    columns = (
        "fi, feature, provider, model, in_med, in_sig, out_med, out_sig, max_tokens, "
        "prefix, conv, pool, h_lo, h_hi, tps, base_ms"
    )
    return f"(VALUES {', '.join(rows)}) AS f({columns})"


def _pick(draw: str) -> str:
    """The feature index whose cumulative-weight bucket holds the draw."""
    cases, upper = [], 0.0
    for index, feature in enumerate(FEATURES[:-1]):
        upper += feature.weight
        cases.append(f"WHEN {draw} < {upper!r} THEN {index}")
    return f"CASE {' '.join(cases)} ELSE {len(FEATURES) - 1} END"


def demo_sql(rows: int, seed: int, end: date) -> str:
    """A SELECT of `rows` generated records in schema.COLUMNS order."""
    rows, seed = int(rows), int(seed)  # inlined as literals: never anything but integers
    start, _ = window(end)
    start_us = int((start - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
    total = sum(f.weight for f in FEATURES)

    def u(tag: str) -> str:
        return _u(tag, seed)

    def z(tag: str) -> str:
        return _z(tag, seed)

    return f"""
WITH drawn AS (
  SELECT i, {u("feature")} * {total} AS uf, floor({u("day")} * {WINDOW_DAYS}) AS day,
    CASE WHEN {u("busy")} < 0.75 THEN 8 + {u("hour")} * 11 ELSE {u("hour")} * 24 END AS hour,
    {u("err")} AS ue, {u("errtype")} AS ut, floor({u("turn")} * 8) + 1 AS turn
  FROM range({rows}) AS t(i)
), picked AS (
  SELECT d.*, f.* FROM drawn d JOIN {_feature_table()} ON f.fi = {_pick("d.uf")}
), shaped AS (
  SELECT p.*,
    make_timestamp({start_us}::BIGINT + ((p.day * 86400 + CASE WHEN p.h_lo IS NULL THEN p.hour
      ELSE p.h_lo + {u("job")} * (p.h_hi - p.h_lo) END * 3600) * 1e6)::BIGINT) AS ts,
    greatest(1, round(p.in_med * CASE WHEN p.conv THEN 0.55 + 0.15 * p.turn ELSE 1 END
      * exp(p.in_sig * {z("in")})))::BIGINT AS input_tokens,
    least(greatest(1, round(p.out_med * exp(p.out_sig * {z("out")}))),
      coalesce(p.max_tokens, 1e9))::BIGINT AS full_output,
    CASE WHEN p.ue < {ERROR_RATE} THEN 'error' ELSE 'ok' END AS status,
    CASE WHEN p.ue >= {ERROR_RATE} THEN NULL WHEN p.ut < 0.5 THEN 'rate_limit'
      WHEN p.ut < 0.8 THEN 'timeout' ELSE 'server_error' END AS error_type,
    p.base_ms * (0.8 + 0.4 * {u("ttft")}) AS wait_ms
  FROM picked p
)
SELECT ts, provider, model, input_tokens,
  CASE WHEN status = 'ok' THEN full_output ELSE 0 END AS output_tokens,
  0::BIGINT AS cached_input_tokens, 0::BIGINT AS cache_write_tokens,
  0::BIGINT AS reasoning_tokens,
  round(CASE WHEN error_type = 'timeout' THEN 30000 + {u("slow")} * 30000
    WHEN status = 'error' THEN 150 + {u("fail")} * 600
    ELSE wait_ms + input_tokens * 0.015 + full_output * 1000.0 / tps
      * (0.85 + 0.3 * {u("speed")}) END, 1) AS latency_ms,
  CASE WHEN status = 'ok' THEN round(wait_ms + input_tokens * 0.015, 1) END AS ttft_ms,
  status, error_type, feature,
  'user-' || lpad(floor(pow({u("user")}, 2) * 1500)::BIGINT::VARCHAR, 4, '0') AS end_user,
  CASE WHEN conv THEN 'conv-{seed}-' || floor({u("conv")} * {max(rows // 6, 1)})::BIGINT END
    AS conversation_id,
  'req-{seed}-' || i AS request_id,
  CASE WHEN pool IS NOT NULL AND {u("repeat")} < 0.92
    THEN 'faq-' || floor(pow({u("question")}, 2.2) * pool)::BIGINT
    ELSE md5('{seed}:' || i) END AS prompt_hash,
  'px-' || prefix AS prefix_hash, max_tokens::BIGINT AS max_tokens, false AS batch,
  NULL::DOUBLE AS source_cost_usd, NULL::VARCHAR AS metadata
FROM shaped
"""
