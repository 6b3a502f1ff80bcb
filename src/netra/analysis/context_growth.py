"""context_growth: conversations whose prompts grow turn after turn.

Turns are a conversation's requests in time order. A (feature, model) qualifies when
its later prompts are clearly longer than the prompt at turn WINDOW_TURNS (by
MIN_GROWTH): the whole history is resent every turn. The projection keeps each
conversation's prompt from growing past its turn-WINDOW_TURNS size plus a running
summary of SUMMARY_TOKENS (the last turns verbatim, older turns summarised): a turn's
prompt becomes min(prompt, prompt at turn WINDOW_TURNS + SUMMARY_TOKENS). Trimmed tokens
are priced at the request's own rates, cached tokens first (the cheaper assumption).
The calls that write the summary are not priced: done every few turns by a small model
they cost a small fraction of the saving, which the evidence states as an assumption.
"""

from __future__ import annotations

from typing import Any

from netra.analysis import _rates
from netra.analysis._common import WINDOW_VALUE_CTE, finding, slug
from netra.analysis.catalog import smaller_sibling
from netra.telemetry import pricing
from netra.telemetry.store import AnalyticsStore

WINDOW_TURNS = 6
SUMMARY_TOKENS = 400
MIN_GROWTH = 1.25  # later prompts / the prompt at WINDOW_TURNS
MIN_SAVINGS_PCT, MIN_AFFECTED = 5.0, 20
HIGH_CONVERSATIONS, HIGH_AFFECTED, HIGH_SAVINGS_PCT = 30, 200, 15.0
MEDIUM_AFFECTED = 50

QUERY = """
WITH {window},
q AS (
  -- conversations by a 64-bit hash: windows, joins and distinct counts on strings are
  -- slower, and every column the window carries is sorted with it
  SELECT coalesce(feature, '(none)') AS feature, provider, model, batch, ts,
    hash(conversation_id) AS conversation_key, input_tokens, cached_input_tokens, cost_usd,
    row_number() OVER (PARTITION BY hash(conversation_id) ORDER BY ts, hash(request_id))
      AS turn
  FROM requests
  WHERE dataset_id = ? AND conversation_id IS NOT NULL AND cost_usd IS NOT NULL
),
caps AS (
  SELECT conversation_key, max(input_tokens) FILTER (WHERE turn = {turns}) + {summary} AS cap
  FROM q GROUP BY 1 HAVING max(turn) > {turns}
),
trimmed AS (
  SELECT q.*, greatest(q.input_tokens - c.cap, 0) AS trimmed_tokens
  FROM q JOIN caps AS c USING (conversation_key) WHERE q.turn > {turns}
),
priced AS (
  SELECT t.feature, t.provider, t.model, t.trimmed_tokens,
    (least(t.trimmed_tokens, t.cached_input_tokens) * r.r_cached
     + greatest(t.trimmed_tokens - t.cached_input_tokens, 0) * r.r_input) / 1e6 AS saved
  FROM trimmed AS t JOIN {rates} AS r ON {join}
),
gains AS (
  SELECT feature, provider, model, count(*) FILTER (WHERE trimmed_tokens > 0)
      AS affected_requests,
    sum(trimmed_tokens) AS trimmed_tokens, coalesce(sum(saved), 0) AS saved
  FROM priced GROUP BY ALL
),
shape AS (
  SELECT feature, provider, model, count(*) AS requests,
    count(DISTINCT conversation_key) AS conversations,
    count(DISTINCT conversation_key) FILTER (WHERE turn > {turns}) AS long_conversations,
    max(turn) AS max_turns,
    round(avg(input_tokens) FILTER (WHERE turn = 1)) AS avg_prompt_turn_1,
    round(avg(input_tokens) FILTER (WHERE turn = {turns})) AS avg_prompt_at_window,
    round(avg(input_tokens) FILTER (WHERE turn > {turns})) AS avg_prompt_after_window,
    round(regr_slope(input_tokens, turn)) AS tokens_added_per_turn,
    sum(cost_usd) AS cost
  FROM q GROUP BY ALL
)
SELECT feature, provider, model, s.requests, s.conversations, s.long_conversations,
  s.max_turns, s.avg_prompt_turn_1, s.avg_prompt_at_window, s.avg_prompt_after_window,
  s.tokens_added_per_turn, g.affected_requests, g.trimmed_tokens,
  round(s.avg_prompt_after_window / nullif(s.avg_prompt_at_window, 0), 3) AS growth_ratio,
  round(s.cost, 6) AS current_cost_usd, win.days AS window_days,
  round(s.cost * 30 / win.days, 6) AS current_cost_usd_month,
  round((s.cost - g.saved) * 30 / win.days, 6) AS projected_cost_usd_month,
  round(g.saved * 30 / win.days, 6) AS savings_usd_month,
  round(100 * g.saved / nullif(s.cost, 0), 2) AS savings_pct
FROM shape AS s JOIN gains AS g USING (feature, provider, model), win
ORDER BY savings_usd_month DESC
"""


def _confidence(row: dict[str, Any]) -> str:
    if (
        row["long_conversations"] >= HIGH_CONVERSATIONS
        and row["affected_requests"] >= HIGH_AFFECTED
        and row["savings_pct"] >= HIGH_SAVINGS_PCT
    ):
        return "high"
    return "medium" if row["affected_requests"] >= MEDIUM_AFFECTED else "low"


def _qualifies(row: dict[str, Any]) -> bool:
    return bool(
        (row["growth_ratio"] or 0) >= MIN_GROWTH
        and (row["savings_pct"] or 0) >= MIN_SAVINGS_PCT
        and row["affected_requests"] >= MIN_AFFECTED
    )


async def find_context_growth(store: AnalyticsStore, dataset_id: str) -> list[dict[str, Any]]:
    """One finding per (feature, model) whose conversations resend their whole history."""
    keys = await _rates.dataset_keys(store, dataset_id)
    rates, rate_params, _ = _rates.rate_table(keys)
    sql = QUERY.format(
        window=WINDOW_VALUE_CTE, rates=rates, join=pricing.rate_join("t", "r"),
        turns=WINDOW_TURNS, summary=SUMMARY_TOKENS,
    )  # fmt: skip
    days = await _rates.window_days(store, dataset_id)
    rows = await store.fetch(sql, [days, dataset_id, *rate_params])
    return [_finding(row, sql) for row in rows if _qualifies(row)]


def _finding(row: dict[str, Any], sql: str) -> dict[str, Any]:
    feature, provider, model = row["feature"], row["provider"], row["model"]
    summariser = smaller_sibling(provider, model)
    by = f"a small model ({summariser.model})" if summariser else "a small model"
    return finding(
        id=slug("context_growth", feature, model),
        title=f"Trim the conversation history '{feature}' resends every turn",
        category="context_growth",
        numbers=row,
        confidence=_confidence(row),
        evidence={
            **row,
            "window_turns": WINDOW_TURNS,
            "summary_tokens": SUMMARY_TOKENS,
            "policy": f"turns after {WINDOW_TURNS} keep at most the prompt of turn "
            f"{WINDOW_TURNS} plus a {SUMMARY_TOKENS}-token summary",
            "assumptions": "trimmed tokens are priced at the request's rates, cached "
            "tokens first; the summarisation calls themselves are not priced",
            "query": sql.strip(),
        },
        action=(
            f"Stop resending whole conversations on '{feature}' ({provider} {model}): "
            f"prompts grow by ~{row['tokens_added_per_turn']:.0f} tokens a turn, from "
            f"{row['avg_prompt_turn_1']:.0f} at turn 1 to {row['avg_prompt_after_window']:.0f} "
            f"after turn {WINDOW_TURNS}. Keep the system prompt and the last {WINDOW_TURNS} "
            f"turns verbatim and replace older turns with a running summary of about "
            f"{SUMMARY_TOKENS} tokens, refreshed every few turns by {by} (e.g. LangChain's "
            "ConversationSummaryBufferMemory, or a max-history-tokens limit in your chat "
            "loop). Check answer quality on long conversations before and after."
        ),
    )
