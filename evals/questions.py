"""The questions a user of Netra Apex asks, and the facts a good answer contains.

Every expected number is computed here by plain SQL over the eval's own copy of the demo
dataset (`evals.oracle`), independently of the product's analyses, with two exceptions
said where they occur: the savings questions expect what the product's own finders
(`netra.analysis.findings.find_all`, run in-process) found, because those are tested
against the generator's planted ground truth elsewhere; what-if figures are re-priced
from token counts and the catalogue here.

`thread` groups follow-ups: a thread's questions are asked in order in one conversation.
A fact with several values or phrases is met by any of them (e.g. a cost in the data's
window or per month). `bullets` asks for exactly that many top-level list items.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from typing import TYPE_CHECKING, Any

from evals.facts import NOT_IN_DATA, FactSpec, Num, Phrase, date_forms

if TYPE_CHECKING:
    from evals.oracle import Oracle


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: str  # the category the report groups by
    facts: tuple[FactSpec, ...]
    thread: str | None = None
    bullets: int | None = None


# -- SQL the facts share -------------------------------------------------------------------

R = "FROM requests WHERE dataset_id = ?"
MONTH = f"(SELECT 30 / greatest(epoch(max(ts) - min(ts)) / 86400.0, 1.0) {R})"  # × → /month
LAST_DAY = f"(SELECT max(ts)::DATE {R})"


def top(key: str, value: str = "sum(cost_usd)", where: str = "TRUE", rank: int = 1) -> str:
    """SQL for the `key` with the rank-th largest `value` (name and value columns)."""
    return (f"SELECT {key} AS name, {value} AS value {R} AND ({where}) "
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1 OFFSET {rank - 1}")


def name_of(sql: str) -> str:
    return f"SELECT name FROM ({sql})"


def value_of(sql: str) -> str:
    return f"SELECT value FROM ({sql})"


def both(window_sql: str) -> Any:
    """A cost in the data's window, or the same per month: either is a right answer."""
    async def read(oracle: Oracle) -> tuple[float, float]:
        value = float(await oracle.scalar(window_sql))
        return value, value * float(await oracle.scalar(f"SELECT * FROM {MONTH}"))
    return read


def finding(category: str, key: str) -> Any:
    """A value of the product's own top finding of `category` (see the module docstring)."""
    async def read(oracle: Oracle) -> Any:
        found = await oracle.finding(category)
        return found["evidence"][key] if key in found["evidence"] else found[key]
    return read


def nth_finding(rank: int, key: str) -> Any:
    async def read(oracle: Oracle) -> Any:
        found = (await oracle.findings())[rank - 1]
        return found["evidence"][key] if key in found["evidence"] else found[key]
    return read


def yearly(category_rank: int) -> Any:
    async def read(oracle: Oracle) -> float:
        return 12 * float((await oracle.findings())[category_rank - 1]["savings_usd_month"])
    return read


async def combined(oracle: Oracle) -> tuple[float, float]:
    return await oracle.combined_savings_month()


def saving(where: str, provider: str | None = None, model: str | None = None,
           batch: bool | None = None) -> Any:
    """What a change saves, in the window or per month, re-priced independently."""
    async def read(oracle: Oracle) -> tuple[float, float]:
        paid, simulated = await oracle.repriced(where, provider, model, batch)
        return paid - simulated, (paid - simulated) * 30 / await oracle.window_days()
    return read


def cannot(thing: str, label: str) -> tuple[FactSpec, ...]:
    """An answer that says plainly the data cannot answer, naming what is missing."""
    return (Phrase(NOT_IN_DATA, "says the data does not hold it"), Phrase((thing,), label))


TOP_FEATURE = top("feature")
TOP_MODEL = top("model")
TOP_PROVIDER = top("provider")
COST_PER_REQUEST = top("feature", "sum(cost_usd) / count(*)")
TOP_USER = top("end_user")
SECOND_USER = top("end_user", rank=2)
SLOWEST = top("model", "quantile_cont(latency_ms, 0.95)")
PEAK_DAY = top("ts::DATE")
COMMON_ERROR = top("error_type", "count(*)", "status = 'error'")
FAILING_FEATURE = top("feature", "100.0 * avg(CASE WHEN status = 'error' THEN 1 ELSE 0 END)")
SECOND_FEATURE = top("feature", rank=2)
WEEKS = (f"SELECT sum(cost_usd) FILTER (WHERE ts::DATE > {LAST_DAY} - 7) AS this_week, "
         f"sum(cost_usd) FILTER (WHERE ts::DATE > {LAST_DAY} - 14 "
         f"AND ts::DATE <= {LAST_DAY} - 7) AS last_week {R} AND model = 'gpt-4o'")
FAILED = f"SELECT sum(cost_usd) {R} AND status = 'error'"
GERMAN = ("ausgegeben", "insgesamt", "Anfragen", "Ausgaben", "Kosten", "am teuersten",
          "langsamste", "Modell")

Q = Question
QUESTIONS: tuple[Question, ...] = (
    # -- spend ------------------------------------------------------------------------------
    Q("total_spend", "How much have we spent on LLM APIs in total?", "spend",
      (Num("usd", f"SELECT sum(cost_usd) {R}", "total spend"),)),
    Q("monthly_spend", "What is our monthly LLM spend?", "spend",
      (Num("usd", f"SELECT sum(cost_usd) * {MONTH} {R}", "spend per month"),)),
    Q("request_count", "How many LLM requests did we make?", "spend",
      (Num("count", f"SELECT count(*) {R}", "requests"),)),
    Q("token_totals", "How many input and output tokens did we use?", "spend",
      (Num("count", f"SELECT sum(input_tokens) {R}", "input tokens"),
       Num("count", f"SELECT sum(output_tokens) {R}", "output tokens"))),
    Q("last_7_days", "How much did we spend in the last 7 days of the data?", "spend",
      (Num("usd", f"SELECT sum(cost_usd) {R} AND ts::DATE > {LAST_DAY} - 7", "last 7 days"),)),
    Q("top_feature", "Which feature costs us the most?", "breakdown",
      (Phrase(name_of(TOP_FEATURE), "top feature"),
       Num("usd", both(value_of(TOP_FEATURE)), "its spend"))),
    Q("top_model", "Which model do we spend the most on?", "breakdown",
      (Phrase(name_of(TOP_MODEL), "top model"),
       Num("usd", both(value_of(TOP_MODEL)), "its spend"))),
    Q("top_provider", "Which provider gets most of our money?", "breakdown",
      (Phrase(name_of(TOP_PROVIDER), "top provider"),
       Num("usd", both(value_of(TOP_PROVIDER)), "its spend"))),
    Q("anthropic_share", "What share of our spend goes to Anthropic?", "breakdown",
      (Num("pct", f"SELECT 100 * sum(cost_usd) FILTER (WHERE provider = 'anthropic') "
                  f"/ sum(cost_usd) {R}", "Anthropic's share"),)),
    Q("models_used", "Which models do we use?", "breakdown",
      tuple(Phrase((m,), m) for m in (
          "claude-sonnet-4-5", "gemini-2.5-pro", "gpt-4o", "gpt-4.1", "claude-3-5-haiku",
          "gemini-2.5-flash-lite", "Llama-3.3-70B-Instruct-Turbo"))),
    Q("cost_per_request_feature", "Which feature has the highest cost per request?",
      "unit_cost",
      (Phrase(name_of(COST_PER_REQUEST), "feature"),
       Num("usd", value_of(COST_PER_REQUEST), "its cost per request"))),
    Q("average_request_cost", "What does an average request cost us?", "unit_cost",
      (Num("usd", f"SELECT avg(cost_usd) {R}", "average cost per request"),)),
    Q("ticket_triage_volume", "How many requests does ticket-triage make, and on which model?",
      "breakdown",
      (Num("count", f"SELECT count(*) {R} AND feature = 'ticket-triage'", "requests"),
       Phrase(f"SELECT any_value(model) {R} AND feature = 'ticket-triage'", "model"))),
    # -- trends and end users -------------------------------------------------------------
    Q("gpt4o_week_over_week",
      "How did our gpt-4o spend change week over week (the last 7 days of the data versus "
      "the 7 days before)?", "trend",
      (Num("usd", f"SELECT this_week FROM ({WEEKS})", "last 7 days"),
       Num("usd", f"SELECT last_week FROM ({WEEKS})", "the 7 days before"),
       Num("pct", f"SELECT 100 * (this_week - last_week) / last_week FROM ({WEEKS})",
           "change"))),
    Q("spike_day", "Which day did our spend spike, and by how much?", "trend",
      (Phrase(name_of(PEAK_DAY), "peak day", forms=date_forms),
       Num("usd", value_of(PEAK_DAY), "spend that day"))),
    Q("top_end_users", "Which end users cost us the most?", "users",
      (Phrase(name_of(TOP_USER), "top end user"),
       Num("usd", value_of(TOP_USER), "its spend"),
       Phrase(name_of(SECOND_USER), "second end user"))),
    Q("end_user_count", "How many distinct end users do we have?", "users",
      (Num("count", f"SELECT count(DISTINCT end_user) {R}", "end users"),)),
    # -- latency ----------------------------------------------------------------------------
    Q("slowest_model_p95", "What is the p95 latency of our slowest model?", "latency",
      (Phrase(name_of(SLOWEST), "slowest model"),
       Num("ms", value_of(SLOWEST), "its p95 latency"))),
    Q("overall_p95", "What's our overall p95 latency?", "latency",
      (Num("ms", f"SELECT quantile_cont(latency_ms, 0.95) {R}", "p95 latency"),)),
    Q("sonnet_ttft", "What is the median time to first token of claude-sonnet-4-5?", "latency",
      (Num("ms", f"SELECT quantile_cont(ttft_ms, 0.5) {R} AND model = 'claude-sonnet-4-5'",
           "p50 time to first token"),)),
    # -- errors and retries ---------------------------------------------------------------
    Q("error_rate", "What is our error rate?", "errors",
      (Num("pct", f"SELECT 100 * avg(CASE WHEN status = 'error' THEN 1 ELSE 0 END) {R}",
           "error rate"),)),
    Q("failed_cost", "How much did failed requests cost us?", "errors",
      (Num("usd", both(FAILED), "cost of failures"),
       Num("count", f"SELECT count(*) {R} AND status = 'error'", "failed requests"))),
    Q("common_error", "Which error type is most common?", "errors",
      (Phrase(name_of(COMMON_ERROR), "error type"),
       Num("count", value_of(COMMON_ERROR), "its failures"))),
    Q("failing_feature", "Which feature fails most often?", "errors",
      (Phrase(name_of(FAILING_FEATURE), "feature"),
       Num("pct", value_of(FAILING_FEATURE), "its error rate"))),
    Q("retry_waste", "How much money do retries waste?", "errors",
      (Phrase(finding("retry_waste", "feature"), "feature"),
       Num("usd", finding("retry_waste", "savings_usd_month"), "waste per month"))),
    # -- caching, batch, output limits, context ----------------------------------------------
    Q("response_cache", "How much could a response cache save us?", "savings",
      (Phrase(finding("response_caching", "feature"), "feature"),
       Num("usd", finding("response_caching", "savings_usd_month"), "savings per month"))),
    Q("prompt_cache", "Would prompt caching help us? How much would it save?", "savings",
      (Phrase(finding("prompt_caching", "feature"), "feature"),
       Num("usd", finding("prompt_caching", "savings_usd_month"), "savings per month"))),
    Q("cached_share", "What share of our input tokens is already served from a prompt cache?",
      "savings",
      (Num("pct", f"SELECT 100 * sum(cached_input_tokens) / sum(input_tokens) {R}",
           "cached share"),)),
    Q("batch_api", "Which traffic could move to a batch API, and what would that save?",
      "savings",
      (Phrase(finding("batch_api", "feature"), "feature"),
       Num("usd", finding("batch_api", "savings_usd_month"), "savings per month"))),
    Q("output_limits", "Do any features produce overly long outputs without a max_tokens cap?",
      "savings",
      (Phrase(finding("output_limits", "feature"), "feature"),
       Num("usd", finding("output_limits", "savings_usd_month"), "savings per month"))),
    Q("context_growth", "Are our conversations growing their context too much?", "savings",
      (Phrase(finding("context_growth", "feature"), "feature"),
       Num("usd", finding("context_growth", "savings_usd_month"), "savings per month"))),
    Q("rightsizing", "Are we using an expensive model for simple tasks?", "savings",
      (Phrase(finding("model_rightsizing", "feature"), "feature"),
       Phrase(finding("model_rightsizing", "suggested_model"), "cheaper model"),
       Num("usd", finding("model_rightsizing", "savings_usd_month"), "savings per month"))),
    Q("biggest_saving", "What is the single biggest saving we could make?", "savings",
      (Phrase(nth_finding(1, "feature"), "feature"),
       Num("usd", nth_finding(1, "savings_usd_month"), "savings per month"))),
    Q("total_savings", "How much could we save per month in total if we fixed everything?",
      "savings", (Num("usd", combined, "total savings per month"),)),
    # -- what-if ---------------------------------------------------------------------------
    Q("whatif_gpt4o_mini", "What if we moved all gpt-4o traffic to gpt-4o-mini?", "what_if",
      (Num("usd", saving("model = 'gpt-4o'", model="gpt-4o-mini"), "savings"),)),
    Q("whatif_batch", "What would we save if nightly-report used the batch API?", "what_if",
      (Num("usd", saving("feature = 'nightly-report'", batch=True), "savings"),)),
    # -- actions ---------------------------------------------------------------------------
    Q("action_plan", "Give me an action plan to cut our LLM costs.", "actions",
      (Phrase(nth_finding(1, "feature"), "first change"),
       Num("usd", nth_finding(1, "savings_usd_month"), "its savings per month"))),
    Q("litellm_config", "Write a LiteLLM config for the model changes you recommend.",
      "actions",
      (Phrase(("litellm",), "LiteLLM"),
       Phrase(finding("model_rightsizing", "suggested_model"), "the cheaper model"))),
    # -- providers -------------------------------------------------------------------------
    Q("cheaper_provider", "Would another provider be cheaper for the same models?",
      "providers",
      (Phrase(finding("provider_switch", "suggested_provider"), "cheaper provider"),
       Num("usd", finding("provider_switch", "savings_usd_month"), "savings per month"))),
    Q("gpt4o_on_azure", "Is gpt-4o cheaper on Azure?", "providers",
      (Phrase(("azure",), "Azure"),
       Phrase(("same", "no cheaper", "not cheaper", "identical", "equal", "0.0%", "no saving",
               "+0%", "0%"), "the same price"),
       Num("usd", both(f"SELECT sum(cost_usd) {R} AND model = 'gpt-4o'"), "gpt-4o spend"))),
    # -- follow-ups in one conversation --------------------------------------------------------
    Q("features_then", "Which features cost the most?", "follow_up",
      (Phrase(name_of(TOP_FEATURE), "top feature"),
       Num("usd", both(value_of(TOP_FEATURE)), "its spend")), thread="features"),
    Q("features_second", "And for the second one: which model does it run on, and what does "
      "a request cost?", "follow_up",
      (Phrase(name_of(SECOND_FEATURE), "second feature"),
       Phrase(f"SELECT any_value(model) {R} AND feature = ({name_of(SECOND_FEATURE)})",
              "its model"),
       Num("usd", f"SELECT avg(cost_usd) {R} AND feature = ({name_of(SECOND_FEATURE)})",
           "its cost per request")), thread="features"),
    Q("savings_then", "What are our biggest savings opportunities?", "follow_up",
      (Phrase(nth_finding(1, "feature"), "first finding"),
       Num("usd", nth_finding(1, "savings_usd_month"), "its savings")), thread="savings"),
    Q("savings_second", "Tell me more about the second one.", "follow_up",
      (Phrase(nth_finding(2, "feature"), "second finding"),
       Num("usd", nth_finding(2, "savings_usd_month"), "its savings")), thread="savings"),
    Q("savings_yearly", "Only for that feature: what would it save per year?", "follow_up",
      (Num("usd", yearly(2), "savings per year"),), thread="savings"),
    Q("models_then", "What's our spend by model?", "follow_up",
      (Phrase(name_of(TOP_MODEL), "top model"),
       Num("usd", both(value_of(TOP_MODEL)), "its spend")), thread="models"),
    Q("models_only_feature", "Only for support-chat.", "follow_up",
      (Phrase(f"SELECT any_value(model) {R} AND feature = 'support-chat'", "its model"),
       Num("usd", both(f"SELECT sum(cost_usd) {R} AND feature = 'support-chat'"),
           "support-chat spend")), thread="models"),
    # -- language and format ----------------------------------------------------------------
    Q("german_total", "Wie viel haben wir insgesamt für LLM-APIs ausgegeben, und welches "
      "Feature ist am teuersten?", "language",
      (Num("usd", f"SELECT sum(cost_usd) {R}", "Gesamtausgaben"),
       Phrase(name_of(TOP_FEATURE), "teuerstes Feature"),
       Phrase(GERMAN, "answers in German"))),
    Q("german_latency", "Welches Modell ist am langsamsten?", "language",
      (Phrase(name_of(SLOWEST), "langsamstes Modell"), Phrase(GERMAN, "answers in German"))),
    Q("three_bullets", "Summarize our LLM costs in 3 bullet points.", "format",
      (Num("usd", both(f"SELECT sum(cost_usd) {R}"), "total spend"),), bullets=3),
    # -- what the data does not hold -------------------------------------------------------------
    Q("unknown_feature", "How much does our voice-transcription feature cost?", "unknown_name",
      cannot("voice-transcription", "names the feature")),
    Q("unknown_model", "How much do we spend on gpt-5?", "unknown_name",
      cannot("gpt-5", "names the model")),
    Q("revenue", "What was our revenue per customer last month?", "unanswerable",
      cannot("revenue", "names revenue")),
    Q("gpu_utilisation", "What is our GPU utilisation?", "unanswerable",
      cannot("GPU", "names GPU")),
    Q("user_satisfaction", "Are our users satisfied with the answers they get?",
      "unanswerable", cannot("satisf", "names satisfaction")),
)


def select(pattern: str | None) -> list[Question]:
    """The questions whose id matches `pattern` (fnmatch or substring; several separated by
    commas), each with the earlier questions of its thread (a follow-up needs them)."""
    if not pattern:
        return list(QUESTIONS)
    patterns = [p.strip() for p in pattern.split(",") if p.strip()]
    wanted = {i for i, q in enumerate(QUESTIONS)
              if any(fnmatch(q.id, p) or p in q.id for p in patterns)}
    last_in_thread: dict[str, int] = {}
    for i in sorted(wanted):
        if QUESTIONS[i].thread:
            last_in_thread[QUESTIONS[i].thread or ""] = i
    return [q for i, q in enumerate(QUESTIONS)
            if i in wanted or (q.thread is not None and i < last_in_thread.get(q.thread, -1))]
