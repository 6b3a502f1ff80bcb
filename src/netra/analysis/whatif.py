"""What-if replay: what the dataset's own traffic would have cost under an alternative.

A Scenario names the change: other models (`model_map`), other providers
(`provider_map`), the batch API on or off, provider prompt caching on or off, an exact
response cache, for some features only and for a share of the matching traffic. The
replay re-prices exactly those requests, in SQL, at the catalogue's rates for each
request's day, tier and batch flag (telemetry.pricing, one rate row per distinct key).

- **Matching traffic**: the requests of the named features (all when none are named) of
  the models and providers the maps name (all when no map is given).
- **Share**: of the matching requests of each (feature, provider, model), in time order,
  the k-th moves when ⌊k·share/100⌋ steps up: exactly ⌊n·share/100⌋ of n move, spread
  evenly over the window, the same ones on every replay.
- **Batch**: on, the catalogue's batch prices (no batch price: the normal one, never an
  invented discount); off, the normal prices.
- **Prompt cache** on: requests that report no cached tokens are replayed per
  (new provider, new model, prefix_hash) under the provider's cache rule
  (catalog.cache_rule), as the prompt_caching analysis does: the cacheable prefix is the
  shortest prompt of that prefix, rounded down to the rule's increment, nothing below its
  minimum; a request within the cache lifetime of the previous one reads it, any other
  writes it; explicit caches pay storage. Off: cached and written tokens at the input rate.
- **Response cache** on: a successful request whose identical prompt (prompt_hash, same
  new model) came within RESPONSE_CACHE_TTL_S of the previous one is answered from the
  cache at no cost. Off changes nothing: past cache hits are not in the data.

Requests the catalogue cannot price (before or after the change) are left out of both
figures and named in `unpriced`, never counted as free; requests whose token usage the
source did not record are left out too, and counted in `usage_unknown_requests`.

The parts live beside this module: the scenario and its checks against the dataset
(`_whatif_scenario`), the replay's SQL (`_whatif_replay`) and the answer's totals and
words (`_whatif_result`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from netra.analysis import _rates
from netra.analysis._whatif_replay import replay_sql
from netra.analysis._whatif_result import assumptions, describe, result_of
from netra.analysis._whatif_scenario import RESPONSE_CACHE_TTL_S as RESPONSE_CACHE_TTL_S
from netra.analysis._whatif_scenario import Move, Scenario, check_names, moves_of
from netra.telemetry.store import AnalyticsStore

__all__ = ["Move", "Scenario", "assumptions", "describe", "simulate"]

_CONTENTS = """
SELECT DISTINCT provider, model, coalesce(feature, '(none)') AS feature
FROM requests WHERE dataset_id = ?
"""


async def simulate(store: AnalyticsStore, dataset_id: str, scenario: Scenario) -> dict[str, Any]:
    """Re-price the dataset's own traffic under `scenario` (see the module docstring)."""
    # Provider ids are stored lower-case (TELEMETRY.md: genai-prices ids).
    providers = {k.strip().lower(): v.strip().lower() for k, v in scenario.provider_map.items()}
    scenario = replace(scenario, provider_map=providers)
    contents = await store.fetch(_CONTENTS, [dataset_id])
    check_names(scenario, contents)
    keys = await _rates.dataset_keys(store, dataset_id)
    last_day = max((k[3] for k in keys), default=date.today())
    moves = moves_of(scenario, contents, last_day)
    sql, params = replay_sql(scenario, dataset_id, moves, keys)
    groups = await store.fetch(sql, params)
    return result_of(scenario, groups, moves)
