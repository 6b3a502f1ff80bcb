"""The demo's traffic: its features, each a workload on one model, and its time window.

A feature's parameters say how its requests look (prompt and answer lengths, latency,
how requests chain) and, for eight of them, which inefficiency it plants; the clean
versions of those eight live with the planted cases (`_synthetic_cases`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

WINDOW_DAYS = 30

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


def window(end: date) -> tuple[datetime, datetime]:
    """The demo's time window: the WINDOW_DAYS days before `end` (naive UTC)."""
    stop = datetime.combine(end, time(0))
    return stop - timedelta(days=WINDOW_DAYS), stop
