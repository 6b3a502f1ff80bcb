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

This module is the generator's one door; its parts live beside it: the features and the
window (`_synthetic_features`), the planted cases and their fixes (`_synthetic_cases`),
the SQL that writes the rows (`_synthetic_rows`) and the ground truth (`_synthetic_truth`).
"""

from __future__ import annotations

from netra.telemetry._synthetic_cases import CLEAN_FEATURES as CLEAN_FEATURES
from netra.telemetry._synthetic_cases import OUTPUT_CAP as OUTPUT_CAP
from netra.telemetry._synthetic_cases import SUMMARY_TOKENS as SUMMARY_TOKENS
from netra.telemetry._synthetic_cases import WINDOW_TURNS as WINDOW_TURNS
from netra.telemetry._synthetic_cases import features, planted_cases, price_keys
from netra.telemetry._synthetic_features import CONVERSATION as CONVERSATION
from netra.telemetry._synthetic_features import FEATURES as FEATURES
from netra.telemetry._synthetic_features import JOB as JOB
from netra.telemetry._synthetic_features import RETRY as RETRY
from netra.telemetry._synthetic_features import SINGLE as SINGLE
from netra.telemetry._synthetic_features import WINDOW_DAYS as WINDOW_DAYS
from netra.telemetry._synthetic_features import DemoFeature, window
from netra.telemetry._synthetic_rows import ERROR_RATE as ERROR_RATE
from netra.telemetry._synthetic_rows import KEPT_EXCHANGES as KEPT_EXCHANGES
from netra.telemetry._synthetic_rows import STORM_BLOCKS as STORM_BLOCKS
from netra.telemetry._synthetic_rows import STORM_FAILURE_RATE as STORM_FAILURE_RATE
from netra.telemetry._synthetic_rows import demo_sql
from netra.telemetry._synthetic_truth import PROMPT_CACHE_TTL_S as PROMPT_CACHE_TTL_S
from netra.telemetry._synthetic_truth import Queryable, ground_truth

__all__ = [
    "DemoFeature",
    "Queryable",
    "demo_sql",
    "features",
    "ground_truth",
    "planted_cases",
    "price_keys",
    "window",
]
