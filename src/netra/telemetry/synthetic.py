"""Realistic demo telemetry, generated inside DuckDB with a hash-based RNG.

Every random draw is `hash(row index, seed, tag)`, so the same (rows, seed, end, clean)
always gives the same rows, and 100,000 rows take a fraction of a second. The workload
has a month of traffic across OpenAI, Anthropic, Google and an open-weights host, a
diurnal pattern, latency that follows the model and the output length, a few % errors,
conversations, a nightly job and retried requests.

By default one inefficiency of each TELEMETRY.md category is planted (`planted_cases`);
with `clean=True` the same features run efficiently, so no finding should be confident.
`ground_truth` prices each planted case directly from its rows and the generator's own
parameters, independently of the analysis code, so tests can hold the findings to it.

Rows are shaped in three steps: per-row draws; chains (a conversation's turns, a nightly
job's items, a request and its retries) linked by window functions; then each chain's
timeline and growing prompt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from netra.telemetry import pricing
from netra.telemetry.pricing import PriceKey
from netra.telemetry.store import sql_literal

if TYPE_CHECKING:
    from netra.telemetry.store import AnalyticsStore

WINDOW_DAYS = 30
ERROR_RATE = 0.025
KEPT_EXCHANGES = 4  # conversations that trim their history keep the last four exchanges
STORM_BLOCKS = 240  # the month is cut into this many periods, each calm or a retry storm
STORM_FAILURE_RATE = 0.75  # an attempt during a storm fails this often
_MOD = 1_000_003  # prime modulus turning a 64-bit hash into a uniform draw
_BLOCK_OFFSET = 10**15  # block draws hash integers no row draw uses

SINGLE, CONVERSATION, JOB, RETRY = "single", "conversation", "job", "retry"


@dataclass(frozen=True)
class DemoFeature:
    name: str
    provider: str
    model: str
    weight: float  # share of requests
    prefix_tokens: int  # system prompt and tools, the same in every request (prefix_hash)
    body_median: int  # the variable part of the prompt (a conversation's user turn)
    body_sigma: float  # spread of log(tokens)
    output_median: int
    output_sigma: float
    max_tokens: int | None
    prefix: str
    chain: str = SINGLE  # conversation | job (nightly run) | retry (request + retries)
    turns: float = 1.0  # mean conversation length
    full_history: bool = True  # conversations: resend every earlier exchange (or the last 4)
    prompt_pool: int | None = None  # a small set of prompts asked again and again
    hours: tuple[int, int] | None = None  # scheduled job window (UTC) instead of diurnal
    runaway_share: float = 0.0  # answers that loop on without a cap (8–16 × the median)
    storm_share: float = 0.0  # share of the month in retry storms (chain 'retry')
    backoff_s: float = 1.0  # wait before a retry
    prompt_cache: bool = False  # explicit prompt caching of the prefix (cache_control)
    batch: bool = False  # sent through the provider's batch API
    tokens_per_s: float = 80.0
    base_ms: float = 400.0


FEATURES: tuple[DemoFeature, ...] = (
    # model_rightsizing: short classification on a frontier model.
    DemoFeature("ticket-triage", "openai", "gpt-4o", 0.18, 800, 300, 0.5, 12, 0.4, 50,
                "triage-v2", base_ms=450),
    # prompt_caching: a 3,000-token system prompt resent on every turn, never cached.
    DemoFeature("support-chat", "anthropic", "claude-sonnet-4-5", 0.16, 3000, 80, 0.6, 280,
                0.5, 1024, "support-system-v7", chain=CONVERSATION, turns=8,
                full_history=False, tokens_per_s=60, base_ms=700),
    # response_caching: a few dozen FAQ prompts asked over and over.
    DemoFeature("faq-bot", "openai", "gpt-4.1", 0.14, 350, 200, 0.2, 190, 0.35, 400, "faq-v3",
                prompt_pool=40, tokens_per_s=70, base_ms=500),
    DemoFeature("summarize-docs", "google", "gemini-2.5-pro", 0.08, 300, 18000, 0.6, 500, 0.4,
                1024, "summarize-v1", tokens_per_s=70, base_ms=900),
    DemoFeature("code-review", "anthropic", "claude-sonnet-4-5", 0.06, 900, 6000, 0.5, 800, 0.5,
                4096, "review-v4", tokens_per_s=60, base_ms=800),
    # batch_api: a nightly job that nobody waits for.
    DemoFeature("nightly-report", "openai", "gpt-4o", 0.04, 1800, 9000, 0.4, 1400, 0.3, None,
                "report-v1", chain=JOB, hours=(1, 3), base_ms=450),
    DemoFeature("autocomplete", "google", "gemini-2.5-flash-lite", 0.08, 150, 100, 0.4, 25,
                0.5, 64, "complete-v2", tokens_per_s=180, base_ms=250),
    DemoFeature("intent-router", "anthropic", "claude-3-5-haiku", 0.05, 300, 100, 0.3, 8, 0.4,
                20, "router-v1", tokens_per_s=110, base_ms=350),
    # output_limits: no max_tokens, and 6% of the drafts loop on for thousands of tokens.
    DemoFeature("email-drafts", "openai", "gpt-4.1", 0.06, 500, 400, 0.4, 250, 0.35, None,
                "drafts-v1", runaway_share=0.06, tokens_per_s=70, base_ms=500),
    # retry_waste: during provider incidents, timed-out calls are retried at once, again
    # and again, each attempt paying for the whole prompt.
    DemoFeature("invoice-extract", "google", "gemini-2.5-pro", 0.05, 700, 9000, 0.4, 400, 0.3,
                1024, "invoice-v2", chain=RETRY, storm_share=0.25, backoff_s=0.5,
                tokens_per_s=70, base_ms=900),
    # context_growth: every turn resends the whole conversation.
    DemoFeature("research-assistant", "anthropic", "claude-sonnet-4-5", 0.05, 400, 120, 0.6,
                450, 0.5, 2048, "research-v1", chain=CONVERSATION, turns=12,
                tokens_per_s=60, base_ms=700),
    # provider_switch: the same open-weights model costs less at another host.
    DemoFeature("product-tagging", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.05,
                600, 1900, 0.4, 150, 0.4, 300, "tagging-v1", tokens_per_s=120, base_ms=400),
)  # fmt: skip

# What each planted case looks like when it is done right (the clean dataset).
_FIXES: dict[str, dict[str, Any]] = {
    "ticket-triage": {"model": "gpt-4o-mini"},
    "support-chat": {"prompt_cache": True},
    "faq-bot": {"prompt_pool": None},
    "nightly-report": {"batch": True},
    "email-drafts": {"runaway_share": 0.0, "max_tokens": 800},
    "invoice-extract": {"storm_share": 0.0, "backoff_s": 4.0},
    "research-assistant": {"full_history": False},
    "product-tagging": {"provider": "groq", "model": "llama-3.3-70b-versatile"},
}
CLEAN_FEATURES: tuple[DemoFeature, ...] = tuple(
    dataclasses.replace(f, **_FIXES.get(f.name, {})) for f in FEATURES
)

# Parameters of the planted cases' expected fixes, used by `ground_truth`.
OUTPUT_CAP = 1024  # email-drafts: max_tokens that keeps every normal draft whole
WINDOW_TURNS = 6  # research-assistant: turns kept verbatim before history is summarised
SUMMARY_TOKENS = 400  # … and the summary that replaces the older turns

_CASES: dict[str, dict[str, Any]] = {
    "model_rightsizing": {"feature": "ticket-triage", "suggested_model": "gpt-4o-mini",
                          "requests": "every request of the feature"},
    "response_caching": {"feature": "faq-bot",
                         "requests": "successful requests repeating an earlier prompt_hash"},
    "prompt_caching": {"feature": "support-chat", "prefix_tokens": 3000,
                       "requests": "every request: the system prompt written or read"},
    "batch_api": {"feature": "nightly-report", "requests": "every request of the feature"},
    "output_limits": {"feature": "email-drafts", "cap": OUTPUT_CAP,
                      "requests": f"successful answers longer than {OUTPUT_CAP} tokens"},
    "retry_waste": {"feature": "invoice-extract",
                    "requests": "failed retries (attempt ≥ 2) of a failed request"},
    "context_growth": {"feature": "research-assistant", "window_turns": WINDOW_TURNS,
                       "summary_tokens": SUMMARY_TOKENS,
                       "requests": f"conversation turns after turn {WINDOW_TURNS}"},
    "provider_switch": {"feature": "product-tagging", "suggested_provider": "groq",
                        "suggested_model": "llama-3.3-70b-versatile",
                        "requests": "every request of the feature"},
}  # fmt: skip


def features(clean: bool = False) -> tuple[DemoFeature, ...]:
    """The demo's features, with the planted inefficiencies or (clean) without."""
    return CLEAN_FEATURES if clean else FEATURES


def planted_cases(clean: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The inefficiencies the demo contains, per finding category (none when clean)."""
    if clean:
        return {}
    by_name = {f.name: f for f in FEATURES}
    cases = {}
    for category, case in _CASES.items():
        feature = by_name[case["feature"]]
        cases[category] = [{"provider": feature.provider, "model": feature.model, **case}]
    return cases


def window(end: date) -> tuple[datetime, datetime]:
    """The demo's time window: the WINDOW_DAYS days before `end` (naive UTC)."""
    stop = datetime.combine(end, time(0))
    return stop - timedelta(days=WINDOW_DAYS), stop


def price_keys(end: date) -> set[PriceKey]:
    """Every (provider, model, batch, day) either mode can produce, to price it in bulk."""
    start, _ = window(end)
    days = [(start + timedelta(days=n)).date() for n in range(WINDOW_DAYS)]
    models = {(f.provider, f.model) for f in (*FEATURES, *CLEAN_FEATURES)}
    return {(p, m, batch, day) for p, m in models for batch in (False, True) for day in days}


# -- generation -----------------------------------------------------------------------


def _block_draw(index: str, seed: int) -> str:
    """A uniform draw shared by the rows of a block (offset clear of the row hashes)."""
    return f"((hash({index} + {_BLOCK_OFFSET}, {seed}) % {_MOD})::DOUBLE / {_MOD})"


# Per-row draws come three to a 64-bit hash (20 bits each): hashing is the generator's
# main cost, so each row hashes ceil(len(_DRAWS) / 3) times rather than once per draw.
_DRAWS = (
    "feature", "err", "errtype", "in1", "in2", "in3", "runaway", "loop", "out1", "out2",
    "out3", "ttft", "speed", "slow", "fail", "user", "gap", "at", "day", "busy", "hour",
    "repeat", "question",
)  # fmt: skip
_PER_HASH, _BITS = 3, 20


_WORDS = -(-len(_DRAWS) // _PER_HASH)


def _hashes(seed: int) -> str:
    # Distinct integers hashed, not hash(i, seed, n): DuckDB combines the hashes of its
    # arguments so that hash(i, s, 0) and hash(i, s, 2) share low bits (correlated draws).
    return ", ".join(f"hash(i * {_WORDS} + {n}, {seed}) AS h{n}" for n in range(_WORDS))


def _draw(tag: str) -> str:
    """A uniform draw in [0, 1) from the row's hashes (see _hashes)."""
    word, slot = divmod(_DRAWS.index(tag), _PER_HASH)
    mask = (1 << _BITS) - 1
    return f"((h{word} >> {slot * _BITS}) & {mask})::DOUBLE / {mask + 1}"


def _normal(tag: str) -> str:
    """Approximately standard normal (Irwin–Hall of 3 uniforms), bounded to ±3."""
    return f"(({_draw(tag + '1')} + {_draw(tag + '2')} + {_draw(tag + '3')} - 1.5) * 2)"


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return sql_literal(value)
    return repr(value)


_FEATURE_COLUMNS = (
    ("fi", "INTEGER"), ("feature", "VARCHAR"), ("provider", "VARCHAR"), ("model", "VARCHAR"),
    ("prefix_tokens", "INTEGER"), ("body_med", "DOUBLE"), ("body_sig", "DOUBLE"),
    ("out_med", "DOUBLE"), ("out_sig", "DOUBLE"), ("max_tokens", "BIGINT"),
    ("prefix", "VARCHAR"), ("kind", "VARCHAR"), ("group_rows", "BIGINT"),
    ("full_history", "BOOLEAN"), ("pool", "INTEGER"), ("h_lo", "DOUBLE"),
    ("job_spacing_s", "DOUBLE"), ("runaway", "DOUBLE"), ("storm", "DOUBLE"),
    ("backoff_s", "DOUBLE"), ("prompt_cache", "BOOLEAN"), ("batch", "BOOLEAN"),
    ("tps", "DOUBLE"), ("base_ms", "DOUBLE"),
)  # fmt: skip


def _feature_table(chosen: tuple[DemoFeature, ...], rows: int) -> str:
    """The features as a typed SQL table (one row each)."""
    values = []
    for index, f in enumerate(chosen):
        hours = f.hours or (0, 0)
        per_day = max(rows * f.weight / WINDOW_DAYS, 1.0)
        row = (index, f.name, f.provider, f.model, f.prefix_tokens, f.body_median,
               f.body_sigma, f.output_median, f.output_sigma, f.max_tokens, f.prefix, f.chain,
               # conversations: the rows of the feature within a block of this many rows
               # of the whole stream form one conversation, so turns ≈ the mean length
               max(round(f.turns / f.weight), 1), f.full_history, f.prompt_pool,
               hours[0] if f.hours else None, (hours[1] - hours[0]) * 3600 / per_day,
               f.runaway_share, f.storm_share, f.backoff_s, f.prompt_cache, f.batch,
               f.tokens_per_s, f.base_ms)  # fmt: skip
        values.append("(" + ", ".join(_literal(v) for v in row) + ")")
    names = ", ".join(f"c{n}" for n in range(len(_FEATURE_COLUMNS)))
    typed = ", ".join(f"c{n}::{kind} AS {name}" for n, (name, kind) in enumerate(_FEATURE_COLUMNS))
    return f"(SELECT {typed} FROM (VALUES {', '.join(values)}) AS v({names}))"


def _pick(chosen: tuple[DemoFeature, ...], draw: str) -> str:
    """The feature index whose cumulative-weight bucket holds the draw."""
    total = sum(f.weight for f in chosen)
    cases, upper = [], 0.0
    for index, feature in enumerate(chosen[:-1]):
        upper += feature.weight / total
        cases.append(f"WHEN {draw} < {upper!r} THEN {index}")
    return f"CASE {' '.join(cases)} ELSE {len(chosen) - 1} END"


def demo_sql(rows: int, seed: int, end: date, *, clean: bool = False) -> str:
    """A SELECT of `rows` generated records in schema.COLUMNS order."""
    rows, seed = int(rows), int(seed)  # inlined as literals: never anything but integers
    chosen = features(clean)
    start, _ = window(end)
    start_us = int((start - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
    span_s = WINDOW_DAYS * 86400
    storm_rows = max(rows // STORM_BLOCKS, 1)

    u, z = _draw, _normal

    diurnal = (
        f"(floor({u('day')} * {WINDOW_DAYS}) * 86400 + 3600 * CASE WHEN {u('busy')} < 0.75 "
        f"THEN 8 + {u('hour')} * 11 ELSE {u('hour')} * 24 END)"
    )
    return f"""
WITH f AS {_feature_table(chosen, rows)},
drawn AS (
  SELECT *, {_pick(chosen, "uf")} AS fi
  FROM (SELECT *, {u("feature")} AS uf FROM (SELECT i, {_hashes(seed)} FROM range({rows}) AS t(i)))
), draws AS (
  SELECT d.*, f.kind, f.full_history, f.prefix_tokens, f.storm > 0 AS stormy,
    f.tps, f.backoff_s, f.job_spacing_s,
    -- a request fails on its own draw; a retried request fails far more during a storm
    {u("err")} < CASE WHEN f.storm > 0
      AND {_block_draw(f"i // {storm_rows}", seed)} < f.storm THEN {STORM_FAILURE_RATE}
      ELSE {ERROR_RATE} END AS failed,
    {u("errtype")} AS ut,
    greatest(1, round(f.body_med * exp(f.body_sig * {z("in")})))::BIGINT AS body,
    least(CASE WHEN {u("runaway")} < f.runaway THEN round(f.out_med * (8 + 8 * {u("loop")}))
      ELSE greatest(1, round(f.out_med * exp(f.out_sig * {z("out")}))) END,
      coalesce(f.max_tokens, 1e9))::BIGINT AS full_output,
    f.base_ms * (0.8 + 0.4 * {u("ttft")}) AS wait_ms,
    {u("speed")} AS us, {u("slow")} AS u_slow, {u("fail")} AS u_fail, {u("user")} AS u_user,
    {u("gap")} AS u_gap, {u("repeat")} AS u_repeat, {u("question")} AS u_question,
    CASE f.kind
      WHEN '{JOB}' THEN (i * {WINDOW_DAYS} // {rows}) * 86400 + f.h_lo * 3600
      WHEN '{RETRY}' THEN (i + {u("at")}) / {rows} * {span_s - 3600}
      -- a conversation must end inside the window too
      WHEN '{CONVERSATION}' THEN least({diurnal}, {span_s - 7200})
      ELSE {diurnal} END AS base_s,
    CASE f.kind WHEN '{CONVERSATION}' THEN i // f.group_rows
      WHEN '{JOB}' THEN i * {WINDOW_DAYS} // {rows} ELSE i END AS chain
  FROM drawn AS d JOIN f USING (fi)
), calls AS (
  SELECT *, CASE WHEN failed THEN 0 ELSE full_output END AS output_tokens,
    CASE WHEN NOT failed THEN NULL
      WHEN stormy THEN CASE WHEN ut < 0.7 THEN 'timeout' ELSE 'server_error' END
      WHEN ut < 0.5 THEN 'rate_limit' WHEN ut < 0.8 THEN 'timeout'
      ELSE 'server_error' END AS error_type
  FROM draws
), rowwise AS MATERIALIZED (
  -- only what the chains and the final columns need: narrow rows window fast
  SELECT i, fi, kind, full_history, prefix_tokens, failed, error_type, body, output_tokens,
    wait_ms, u_user, u_repeat, u_question, base_s, chain, call_ms,
    body + output_tokens AS exchange,
    -- the time from this request's start to the next one of its chain (ms)
    CASE kind WHEN '{CONVERSATION}' THEN call_ms + round(15000 + 90000 * u_gap)
      WHEN '{RETRY}' THEN call_ms + round(backoff_s * (1 + u_gap) * 1000)
      ELSE round(job_spacing_s * (0.5 + u_gap) * 1000) END::BIGINT AS step_ms
  FROM (
    SELECT *, round(CASE WHEN error_type = 'timeout' THEN 30000 + u_slow * 30000
        WHEN failed THEN 150 + u_fail * 600
        ELSE wait_ms + (prefix_tokens + body) * 0.015 + full_output * 1000.0 / tps
          * (0.85 + 0.3 * us) END)::BIGINT AS call_ms
    FROM calls)
), linked AS (
  -- a retried request's attempts: each failure is followed by the next attempt
  SELECT * REPLACE (coalesce(sum((NOT failed)::INT) OVER (PARTITION BY fi ORDER BY i
    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS chain)
  FROM rowwise WHERE kind = '{RETRY}'
  UNION ALL BY NAME
  SELECT * FROM rowwise WHERE kind IN ('{CONVERSATION}', '{JOB}')
), chained AS (
  SELECT *, row_number() OVER c AS pos, lag(step_ms) OVER c AS after_ms,
    first_value(base_s) OVER c AS start_s,
    first_value(i) OVER c AS first_i, first_value(u_user) OVER c AS chain_user,
    coalesce(sum(step_ms) OVER before, 0) AS offset_ms,
    CASE WHEN kind <> '{CONVERSATION}' THEN 0
      WHEN full_history THEN coalesce(sum(exchange) OVER before, 0)
      ELSE coalesce(sum(exchange) OVER kept, 0) END AS history
  FROM linked
  WINDOW c AS (PARTITION BY fi, chain ORDER BY i),
    before AS (c ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
    kept AS (c ROWS BETWEEN {KEPT_EXCHANGES} PRECEDING AND 1 PRECEDING)
  UNION ALL BY NAME
  SELECT *, 1::BIGINT AS pos, NULL::BIGINT AS after_ms, base_s AS start_s, i AS first_i,
    u_user AS chain_user, 0::BIGINT AS offset_ms, 0::HUGEINT AS history
  FROM rowwise WHERE kind = '{SINGLE}'
), shaped AS (
  SELECT c.*, f.feature, f.provider, f.model, f.prefix, f.max_tokens, f.batch, f.pool,
    f.prompt_cache, (c.prefix_tokens + c.history + c.body)::BIGINT AS input_tokens,
    make_timestamp(({start_us} + (c.start_s * 1e6)::BIGINT + c.offset_ms * 1000)::BIGINT)
      AS ts
  FROM chained AS c JOIN f USING (fi)
)
SELECT ts, provider, model, input_tokens, output_tokens::BIGINT AS output_tokens,
  CASE WHEN prompt_cache AND pos > 1 THEN prefix_tokens
    -- OpenAI caches a prefix of ≥ 1024 tokens by itself, in 128-token steps, for ~5 min
    WHEN provider IN ('openai', 'azure') AND prefix_tokens >= 1024 AND after_ms <= 300000
      THEN prefix_tokens // 128 * 128
    ELSE 0 END::BIGINT AS cached_input_tokens,
  CASE WHEN prompt_cache AND pos = 1 THEN prefix_tokens ELSE 0 END::BIGINT
    AS cache_write_tokens,
  0::BIGINT AS reasoning_tokens, call_ms::DOUBLE AS latency_ms,
  CASE WHEN NOT failed THEN round(wait_ms + input_tokens * 0.015, 1) END AS ttft_ms,
  CASE WHEN failed THEN 'error' ELSE 'ok' END AS status, error_type, feature,
  'user-' || lpad(floor(pow(chain_user, 2) * 1500)::BIGINT::VARCHAR, 4, '0') AS end_user,
  CASE WHEN kind = '{CONVERSATION}' THEN 'conv-{seed}-' || fi || '-' || chain END
    AS conversation_id,
  'req-{seed}-' || i AS request_id,
  CASE WHEN pool IS NOT NULL AND u_repeat < 0.92
    THEN 'faq-' || floor(pow(u_question, 2.2) * pool)::BIGINT
    ELSE printf('%016x', hash(CASE WHEN kind = '{RETRY}' THEN first_i ELSE i END, {seed}))
    END AS prompt_hash,
  'px-' || prefix AS prefix_hash, max_tokens, batch,
  NULL::DOUBLE AS source_cost_usd,
  CASE kind WHEN '{CONVERSATION}' THEN '{{"turn": ' || pos || '}}'
    WHEN '{RETRY}' THEN '{{"attempt": ' || pos || '}}' END AS metadata,
  true AS usage_recorded
FROM shaped
"""


# -- ground truth ---------------------------------------------------------------------

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


def _cost(provider: str, model: str, row: dict[str, Any], batch: bool) -> float:
    rates = _rates(provider, model, row, batch)
    return rates.cost_usd(
        int(row["uncached"] + row["cached"] + row["written"]), int(row["output"]),
        int(row["cached"]), int(row["written"]),
    )  # fmt: skip


async def _reprice_saving(
    store: AnalyticsStore, dataset_id: str, case: dict[str, Any], *, provider: str, model: str,
    batch: bool | None = None,
) -> float:  # fmt: skip
    """What the case's requests cost now less what they would cost at another price."""
    rows = await store.fetch(_TOKENS, [dataset_id, case["feature"]])
    saving = 0.0
    for row in rows:
        saving += _cost(case["provider"], case["model"], row, bool(row["batch"]))
        saving -= _cost(provider, model, row, bool(row["batch"]) if batch is None else batch)
    return saving


async def _prompt_caching(store: AnalyticsStore, dataset_id: str, case: dict[str, Any]) -> float:
    ttl, prefix = PROMPT_CACHE_TTL_S, case["prefix_tokens"]
    rows = await store.fetch(_CACHE_REPLAY, [ttl, ttl, dataset_id, case["feature"]])
    saving = 0.0
    for row in rows:
        r = _rates(case["provider"], case["model"], row, False)
        saving += row["hits"] * prefix * (r.input - r.cached_input) / pricing.MTOK
        saving -= row["writes"] * prefix * (r.cache_write - r.input) / pricing.MTOK
    return saving


async def _output_limits(store: AnalyticsStore, dataset_id: str, case: dict[str, Any]) -> float:
    rows = await store.fetch(_EXCESS_OUTPUT, [case["cap"], dataset_id, case["feature"]])
    return (
        sum(
            int(row["excess"]) * _rates(case["provider"], case["model"], row, False).output
            for row in rows
        )
        / pricing.MTOK
    )


async def _context_growth(store: AnalyticsStore, dataset_id: str, case: dict[str, Any]) -> float:
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


async def _saving(
    store: AnalyticsStore, dataset_id: str, category: str, case: dict[str, Any]
) -> float:
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
    store: AnalyticsStore, dataset_id: str, *, clean: bool = False
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
