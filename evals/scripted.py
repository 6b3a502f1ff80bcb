"""A scripted model for the fake OpenAI server: honest plumbing, not intelligence.

It reads the conversation the agent sends (the question, the thread's earlier turns, the
tool results of this turn), picks the first rule of `RULES` whose pattern the question
matches, makes that rule's tool calls one round at a time (a round may depend on what
earlier rounds returned: a follow-up first looks up what "the second one" was), and then
writes a short answer in the question's language using ONLY numbers from the tool results
it received (formatted as the results give them; the one derivation is monthly × 12 for a
yearly figure, which the agent's rules allow). It never computes a figure of its own.

Use: `fake.reply = scripted.reply` on `tests.fakes.openai_server.running_fake_openai()`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_server import Answer, ToolCall

# -- the conversation, as the agent sends it --------------------------------------------


@dataclass
class Conversation:
    question: str
    earlier: list[tuple[str, str]]  # (role, text) of the thread's earlier turns
    rounds: int = 0  # tool-call rounds already made in this turn
    results: dict[str, list[Any]] = field(default_factory=dict)  # tool → results, in order
    failures: list[str] = field(default_factory=list)  # tools that failed (a retry prompt)

    @property
    def text(self) -> str:
        return self.question.lower()

    @property
    def german(self) -> bool:
        return bool(re.search(r"\b(wie|welche[sr]?|haben|wir|ist|unsere?|wieviel)\b",
                              self.text))

    def say(self, en: str, de: str | None = None) -> str:
        return de if self.german and de is not None else en

    def last(self, tool: str) -> Any:
        found = self.results.get(tool) or [None]
        return found[-1]

    def previous(self, role: str) -> str:
        return next((text for r, text in reversed(self.earlier) if r == role), "")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def read(body: dict[str, Any]) -> Conversation:
    messages = body.get("messages") or []
    asked = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    earlier = [(m["role"], _text(m.get("content"))) for m in messages[:max(asked, 0)]
               if m.get("role") in ("user", "assistant") and _text(m.get("content"))]
    conv = Conversation(_text(messages[asked].get("content")) if asked >= 0 else "", earlier)
    names: dict[str, str] = {}
    for message in messages[asked + 1:]:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            conv.rounds += 1
            names.update((c["id"], c["function"]["name"]) for c in message["tool_calls"])
        elif message.get("role") == "tool":
            name = names.get(message.get("tool_call_id", ""), "?")
            try:
                conv.results.setdefault(name, []).append(json.loads(_text(message["content"])))
            except ValueError:
                conv.failures.append(name)
    return conv


# -- formatting: figures exactly as the tool results give them ------------------------------


def usd(value: Any) -> str:
    x = float(value)
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:.4f}" if abs(x) >= 0.001 else f"${x:.6f}"


def pct(value: Any) -> str:
    return f"{float(value):.2f}%"


def fraction(value: Any) -> str:
    return f"{100 * float(value):.2f}%"


def ms(value: Any) -> str:
    return f"{float(value):,.1f} ms"


def count(value: Any) -> str:
    return f"{int(value):,}"


def quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def table(result: Any) -> list[dict[str, Any]]:
    """A `query` result's rows as dicts."""
    if not isinstance(result, dict):
        return []
    return [dict(zip(result.get("columns") or [], row, strict=False))
            for row in result.get("rows") or [] if isinstance(row, list)]


def rows(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, dict):
        return [r for r in result.get("rows") or [] if isinstance(r, dict)]
    return [r for r in result or [] if isinstance(r, dict)]


def ordinal(text: str) -> int:
    words = ("first", "second", "third", "fourth", "fifth")
    return next((i + 1 for i, w in enumerate(words) if re.search(rf"\b{w}\b", text)), 1)


def dimension(text: str) -> str:
    for word, by in (("provider", "provider"), ("model", "model"), ("day", "day")):
        if word in text:
            return by
    return "feature"


NAME = r"[A-Za-z0-9][\w.\-/]*[A-Za-z0-9]"
NAMED = rf"how much does our ({NAME}) feature cost|how much do we spend on ({NAME})"
MODEL = re.compile(r"\b(?:gpt|claude|gemini|o\d|llama|mistral)[\w.\-]*", re.I)


def named(conv: Conversation, pattern: str) -> str:
    """The first group `pattern` captures in the question ("" when it does not match)."""
    match = re.search(pattern, conv.question, re.I)
    return next((v for v in match.groups() if v), "") if match else ""


# -- rules --------------------------------------------------------------------------------

Step = Callable[[Conversation], list[ToolCall]]
Write = Callable[[Conversation], str]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str  # searched in the question, case-insensitively
    steps: tuple[Step, ...]  # one round of tool calls each; an empty round ends the calls
    write: Write
    after: str | None = None  # also searched in the thread's previous question

    def applies(self, conv: Conversation) -> bool:
        return bool(re.search(self.pattern, conv.question, re.I)) and (
            self.after is None or bool(re.search(self.after, conv.previous("user"), re.I)))


def call(name: str, **arguments: Any) -> Step:
    return lambda conv: [ToolCall(name, arguments)]


def sql(template: Callable[[Conversation], str]) -> Step:
    return lambda conv: [ToolCall("query", {"sql": template(conv)})]


def savings(*categories: str) -> Step:
    args = {"categories": list(categories)} if categories else {}
    return lambda conv: [ToolCall("find_savings", args)]


def unless_found(step: Step) -> Step:
    """The step only when the previous answer had no findings to go on."""
    def run(conv: Conversation) -> list[ToolCall]:
        return [] if (conv.last("previous_answer") or {}).get("findings") else step(conv)
    return run


# -- writers ------------------------------------------------------------------------------


def failed(conv: Conversation) -> str | None:
    if conv.failures:
        return conv.say(f"I could not get this from the data: the `{conv.failures[-1]}` tool "
                        "refused or failed.",
                        f"Das konnte ich nicht ermitteln: das Tool `{conv.failures[-1]}` ist "
                        "fehlgeschlagen.")
    return None


def guarded(write: Write) -> Write:
    """A writer that says so when a tool failed or returned nothing it can use."""
    def run(conv: Conversation) -> str:
        if (message := failed(conv)) is not None:
            return message
        try:
            return write(conv)
        except (KeyError, IndexError, TypeError, ValueError, StopIteration):
            return conv.say("The tools did not return what I need to answer this.",
                            "Die Tools haben nicht geliefert, was ich für die Antwort brauche.")
    return run


def fields_present(conv: Conversation) -> str:
    profile = conv.last("dataset_profile") or {}
    fields = [k for k, v in (profile.get("fields") or {}).items() if float(v or 0) > 0]
    return ", ".join(["ts", "provider", "model", "tokens", "cost", *fields])


def cannot(conv: Conversation) -> str:
    thing = next(label for word, label in (
        ("revenue", "revenue"), ("umsatz", "revenue"), ("gpu", "GPU utilisation"),
        ("satisf", "user satisfaction"), ("zufrieden", "user satisfaction"), ("", "that"),
    ) if word in conv.text)
    return conv.say(
        f"The data cannot answer this: it does not contain {thing}. It holds one record per "
        f"LLM request ({fields_present(conv)}), so it can say what each feature, model and end "
        f"user costs, but not {thing}. To answer it, bring {thing} figures keyed by end user "
        "or feature.",
        f"Die Daten enthalten keine Angaben zu {thing}, daher kann ich das nicht beantworten: "
        "sie enthalten nur einen Datensatz pro LLM-Anfrage.")


def named_cost(conv: Conversation) -> str:
    name = named(conv, NAMED)
    profile = conv.last("dataset_profile") or {}
    features = [f["feature"] for f in profile.get("features") or []]
    models = [m["model"] for m in profile.get("models") or []]
    spent = table(conv.last("query"))
    if not spent:
        return conv.say(
            f"There is no feature or model named {name} in the data: it is not in this "
            f"dataset. Its features are {', '.join(features)}; its models are "
            f"{', '.join(models)}.",
            f"{name} ist nicht in den Daten enthalten.")
    row = spent[0]
    return conv.say(f"{name} cost {usd(row['spend_usd'])} over {count(row['requests'])} "
                    "requests.", f"{name} hat {usd(row['spend_usd'])} gekostet.")


def named_step(conv: Conversation) -> list[ToolCall]:
    name = named(conv, NAMED)
    profile = conv.last("dataset_profile") or {}
    column = ("feature" if name in [f["feature"] for f in profile.get("features") or []]
              else "model" if name in [m["model"] for m in profile.get("models") or []]
              else None)
    if column is None:
        return []
    return [ToolCall("query", {"sql": "SELECT count(*) AS requests, round(sum(cost_usd), 6) AS "
                                      f"spend_usd FROM requests WHERE {column} = {quote(name)}"})]




def overview_line(conv: Conversation) -> str:
    o = conv.last("dataset_overview")
    return conv.say(
        f"You spent {usd(o['spend_usd'])} on {count(o['requests'])} requests over "
        f"{o['window_days']:.1f} days ({usd(o['monthly_spend_usd'])} per month).",
        f"Sie haben insgesamt {usd(o['spend_usd'])} für {count(o['requests'])} Anfragen "
        f"ausgegeben ({usd(o['monthly_spend_usd'])} pro Monat).")


def total(conv: Conversation) -> str:
    text = overview_line(conv)
    by_feature = rows(conv.last("spend_breakdown"))
    if by_feature:
        top = by_feature[0]
        text += " " + conv.say(
            f"The most expensive feature is {top['key']} at {usd(top['spend_usd'])}.",
            f"Am teuersten ist das Feature {top['key']} mit {usd(top['spend_usd'])}.")
    return text


def monthly(conv: Conversation) -> str:
    o = conv.last("dataset_overview")
    return (f"Your LLM spend is {usd(o['monthly_spend_usd'])} per month "
            f"({usd(o['spend_usd'])} over the {o['window_days']:.1f} days of data).")


def requests(conv: Conversation) -> str:
    o = conv.last("dataset_overview")
    return f"You made {count(o['requests'])} requests over {o['window_days']:.1f} days."


def tokens(conv: Conversation) -> str:
    o = conv.last("dataset_overview")
    return (f"You used {count(o['input_tokens'])} input tokens and "
            f"{count(o['output_tokens'])} output tokens.")


def breakdown(conv: Conversation) -> str:
    found = rows(conv.last("spend_breakdown"))
    by = (conv.last("spend_breakdown") or {}).get("by", "feature")
    top = found[0]
    lines = [conv.say(f"{top['key']} costs the most: {usd(top['spend_usd'])} "
                      f"({pct(top['share_pct'])} of spend, {count(top['requests'])} requests).",
                      f"Am teuersten ist {top['key']}: {usd(top['spend_usd'])}.")]
    lines += [f"- {r['key']}: {usd(r['spend_usd'])} ({pct(r['share_pct'])})" for r in found[:5]]
    return conv.say(f"Spend by {by}:\n\n", "") + "\n".join(lines)


def share(conv: Conversation) -> str:
    wanted = named(conv, rf"goes to (?P<name>{NAME})").lower()
    row = next(r for r in rows(conv.last("spend_breakdown")) if r["key"].lower() == wanted)
    return (f"{row['key']} gets {pct(row['share_pct'])} of your spend "
            f"({usd(row['spend_usd'])}).")


def models_used(conv: Conversation) -> str:
    models = (conv.last("dataset_profile") or {}).get("models") or []
    return "You use these models:\n\n" + "\n".join(
        f"- {m['model']} ({m['provider']}): {usd(m['spend_usd'])}" for m in models)


def single_row(conv: Conversation) -> dict[str, Any]:
    return table(conv.last("query"))[0]


def cost_per_request(conv: Conversation) -> str:
    row = single_row(conv)
    return (f"{row['feature']} has the highest cost per request: "
            f"{usd(row['cost_per_request_usd'])} over {count(row['requests'])} requests.")


def average_request(conv: Conversation) -> str:
    row = single_row(conv)
    return (f"An average request costs {usd(row['cost_per_request_usd'])} "
            f"({count(row['requests'])} requests).")


def feature_volume(conv: Conversation) -> str:
    name = named(conv, rf"does (?P<name>{NAME}) make")
    found = table(conv.last("query"))
    return f"{name} makes " + ", ".join(
        f"{count(r['requests'])} requests on {r['model']}" for r in found) + "."


def week_over_week(conv: Conversation) -> str:
    row = single_row(conv)
    model = MODEL.search(conv.question)
    return (f"{model.group(0) if model else 'The'} spend was "
            f"{usd(row['last_7_days_usd'])} in the last 7 days of the data against "
            f"{usd(row['previous_7_days_usd'])} in the 7 days before: "
            f"{pct(row['change_pct'])}.")


def spike(conv: Conversation) -> str:
    row = single_row(conv)
    return (f"Spend peaked on {row['day']} at {usd(row['spend_usd'])}, "
            f"{pct(row['above_average_pct'])} above the average day "
            f"({usd(row['average_day_usd'])}).")


def last_days(conv: Conversation) -> str:
    row = single_row(conv)
    return (f"In the last {conv.text.split('last ')[1].split()[0]} days of the data you spent "
            f"{usd(row['spend_usd'])} on {count(row['requests'])} requests.")


def end_users(conv: Conversation) -> str:
    found = table(conv.last("query"))
    if "users" in found[0] and "end_user" not in found[0]:
        return f"You have {count(found[0]['users'])} distinct end users."
    return "The end users who cost the most:\n\n" + "\n".join(
        f"- {r['end_user']}: {usd(r['spend_usd'])} ({count(r['requests'])} requests)"
        for r in found)


def latency_rows(conv: Conversation) -> list[dict[str, Any]]:
    return rows(conv.last("latency_by_model"))


def slowest(conv: Conversation) -> str:
    row = latency_rows(conv)[0]
    return conv.say(f"The slowest model is {row['model']}: p95 latency "
                    f"{ms(row['p95_latency_ms'])} (p50 {ms(row['p50_latency_ms'])}).",
                    f"Am langsamsten ist das Modell {row['model']}: p95-Latenz "
                    f"{ms(row['p95_latency_ms'])}.")


def ttft(conv: Conversation) -> str:
    model = MODEL.search(conv.question)
    wanted = model.group(0).rstrip("?.") if model else ""
    row = next(r for r in latency_rows(conv) if r["model"] == wanted)
    return (f"The median time to first token of {row['model']} is {ms(row['p50_ttft_ms'])} "
            f"over {count(row['requests'])} requests.")


def p95(conv: Conversation) -> str:
    o = conv.last("dataset_overview")
    return (f"Your overall p95 latency is {ms(o['p95_latency_ms'])} "
            f"(p50 {ms(o['p50_latency_ms'])}).")


def error_rate(conv: Conversation) -> str:
    o = conv.last("dataset_overview")
    return conv.say(f"Your error rate is {fraction(o['error_rate'])} of "
                    f"{count(o['requests'])} requests.",
                    f"Die Fehlerquote liegt bei {fraction(o['error_rate'])}.")


def failed_cost(conv: Conversation) -> str:
    e = conv.last("error_cost")
    return (f"{count(e['failed_requests'])} failed requests cost {usd(e['cost_usd'])} "
            f"({usd(e['cost_usd_month'])} per month), {pct(e['error_rate_pct'])} of requests.")


def error_type(conv: Conversation) -> str:
    found = rows(conv.last("error_cost")["by_error_type"])
    top = max(found, key=lambda r: r["failures"])
    return (f"The most common error type is {top['error_type']}: {count(top['failures'])} "
            f"failures costing {usd(top['cost_usd'])}.")


def failing_feature(conv: Conversation) -> str:
    found = rows(conv.last("error_cost")["by_feature"])
    top = max(found, key=lambda r: r["error_rate_pct"])
    return (f"{top['feature']} fails most often: {pct(top['error_rate_pct'])} of its "
            f"{count(top['requests'])} requests ({count(top['failures'])} failures).")


def findings(conv: Conversation) -> list[dict[str, Any]]:
    found = conv.last("find_savings")
    if found is None:
        found = (conv.last("previous_answer") or {}).get("findings")
    return [f for f in found or [] if isinstance(f, dict)]


def where(finding: dict[str, Any]) -> str:
    evidence = finding.get("evidence") or {}
    return str(finding.get("feature") or evidence.get("feature") or finding.get("title"))


def one_finding(finding: dict[str, Any]) -> str:
    return (f"**{finding['title']}** ({where(finding)}): saves "
            f"{usd(finding['savings_usd_month'])} per month ({pct(finding['savings_pct'])} of "
            f"{usd(finding['current_cost_usd_month'])} per month), confidence "
            f"{finding['confidence']}. {finding['action']}")


def category_finding(conv: Conversation) -> str:
    found = findings(conv)
    if not found:
        return "The analysis found nothing to gain here."
    return "\n\n".join(one_finding(f) for f in found[:2])


def top_findings(conv: Conversation) -> str:
    found = findings(conv)
    if not found:
        return "The analyses found no saving worth acting on."
    first = found[0]
    lines = [f"The biggest saving: {first['title']} ({where(first)}), "
             f"{usd(first['savings_usd_month'])} per month."]
    lines += [f"{i}. {f['title']}: {usd(f['savings_usd_month'])} per month"
              for i, f in enumerate(found[:3], 1)]
    return "\n".join(lines[:1]) + "\n\n" + "\n".join(lines[1:])


def finding_detail(conv: Conversation) -> str:
    found = findings(conv)
    return one_finding(found[ordinal(conv.text) - 1])


def yearly(conv: Conversation) -> str:
    found = findings(conv)
    said = conv.previous("assistant")
    finding = next((f for f in found if where(f) in said), found[0])
    monthly_saving = float(finding["savings_usd_month"])
    return (f"{where(finding)}: {usd(monthly_saving)} per month, so "
            f"{usd(12 * monthly_saving)} per year.")


def total_savings(conv: Conversation) -> str:
    totals = conv.last("action_plan")["totals"]
    return (f"Fixing everything saves {usd(totals['savings_usd_month'])} per month "
            f"({pct(totals['savings_pct'])} of {usd(totals['current_monthly_spend_usd'])} per "
            f"month), {usd(totals['savings_usd_year'])} per year, with overlapping findings "
            "counted once.")


def plan(conv: Conversation) -> str:
    result = conv.last("action_plan")
    saved = {f["id"]: f for f in findings(conv)}
    lines = [f"{i}. {c['title']} ({usd(saved[c['finding_id']]['savings_usd_month'])} per "
             f"month, effort {c['effort']}): {c['change']}"
             for i, c in enumerate(result["changes"], 1) if c["finding_id"] in saved]
    files = ", ".join(f"`{d}`" for d in result.get("downloads") or [])
    return ("Action plan, biggest saving first:\n\n" + "\n".join(lines)
            + (f"\n\nReady-to-use files: {files}." if files else ""))


def litellm(conv: Conversation) -> str:
    result = conv.last("action_plan")
    moves = [f"{where(f)} → {f.get('suggested_model')}" for f in findings(conv)
             if f.get("suggested_model")]
    files = [d for d in result.get("downloads") or [] if "litellm" in d.lower()]
    if not files:
        return "The action plan has no LiteLLM config for these findings."
    return (f"The LiteLLM config is `{files[0]}` (download it from the report). It routes "
            + "; ".join(moves) + ". Start the proxy with `litellm --config` and point each "
            "feature's client at it.")


def what_if(conv: Conversation) -> str:
    w = conv.last("what_if")
    return (f"{w['description']}: you would have paid {usd(w['simulated_cost_usd'])} instead of "
            f"{usd(w['current_cost_usd'])} for {count(w['affected_requests'])} requests, "
            f"{usd(w['savings_usd_month'])} per month less ({pct(w['savings_pct'])}).")


def cached_share(conv: Conversation) -> str:
    row = single_row(conv)
    return f"{pct(row['cached_pct'])} of your input tokens are already served from a cache."


def providers(conv: Conversation) -> str:
    found = rows(conv.last("compare_providers"))
    cheaper = [r for r in found if not r["current"] and float(r["savings_usd_month"]) > 0]
    if not cheaper:
        return "No other provider offers the same models for less."
    return "Cheaper elsewhere:\n\n" + "\n".join(
        f"- {r['source_model']} at {r['provider']} ({r['model']}): {usd(r['cost_usd_month'])} "
        f"per month instead of today's, {usd(r['savings_usd_month'])} per month less "
        f"({pct(r['delta_pct'])})" for r in cheaper)


def provider_for_model(conv: Conversation) -> str:
    wanted = named(conv, rf"cheaper on (?P<name>{NAME})").lower()
    found = rows(conv.last("compare_providers"))
    today = next(r for r in found if r["current"])
    there = next(r for r in found if r["provider"].lower() == wanted)
    verdict = ("the same price" if float(there["delta_pct"]) == 0 else
               "cheaper" if float(there["delta_pct"]) < 0 else "more expensive")
    return (f"At {there['provider']}, your {today['model']} traffic would cost "
            f"{usd(there['cost_usd'])}, against {usd(today['cost_usd'])} at {today['provider']}: "
            f"{verdict} ({pct(there['delta_pct'])}).")


def only_for(conv: Conversation) -> str:
    name = named(conv, rf"only for ({NAME})")
    found = table(conv.last("query"))
    key = next(iter(found[0]))
    return f"For {name}:\n\n" + "\n".join(
        f"- {r[key]}: {usd(r['spend_usd'])} over {count(r['requests'])} requests" for r in found)


def ordinal_breakdown(conv: Conversation) -> str:
    chosen = rows(conv.last("spend_breakdown"))[ordinal(conv.text) - 1]
    detail = table(conv.last("query"))
    runs = ", ".join(f"{r['model']} ({usd(r['cost_per_request_usd'])} per request)"
                     for r in detail)
    return (f"The {['first', 'second', 'third', 'fourth', 'fifth'][ordinal(conv.text) - 1]} is "
            f"{chosen['key']} ({usd(chosen['spend_usd'])}). It runs on {runs}.")


def bullets(conv: Conversation) -> str:
    o = conv.last("dataset_overview")
    feature, model = (rows(r)[0] for r in conv.results["spend_breakdown"][:2])
    return "\n".join([
        f"- **Spend:** {usd(o['spend_usd'])} over {o['window_days']:.1f} days "
        f"({usd(o['monthly_spend_usd'])} per month) on {count(o['requests'])} requests.",
        f"- **Top feature:** {feature['key']} at {usd(feature['spend_usd'])} "
        f"({pct(feature['share_pct'])}).",
        f"- **Top model:** {model['key']} at {usd(model['spend_usd'])} "
        f"({pct(model['share_pct'])}).",
    ])


def fallback(conv: Conversation) -> str:
    return "Here is what the data shows. " + overview_line(conv)


# -- steps that depend on the question or on earlier rounds -------------------------------------


def ordinal_detail(conv: Conversation) -> list[ToolCall]:
    chosen = rows(conv.last("spend_breakdown"))[ordinal(conv.text) - 1]
    by = (conv.last("spend_breakdown") or {}).get("by", "feature")
    return [ToolCall("query", {"sql": (
        "SELECT model, count(*) AS requests, round(avg(cost_usd), 6) AS cost_per_request_usd, "
        f"round(sum(cost_usd), 6) AS spend_usd FROM requests WHERE {by} = "
        f"{quote(chosen['key'])} GROUP BY model ORDER BY spend_usd DESC")})]


def previous_breakdown(conv: Conversation) -> list[ToolCall]:
    return [ToolCall("spend_breakdown", {"by": dimension(conv.previous("user").lower())})]


def only_for_sql(conv: Conversation) -> str:
    by = dimension(conv.previous("user").lower())
    by = "model" if by == "feature" else by
    return (f"SELECT {by}, count(*) AS requests, round(sum(cost_usd), 6) AS spend_usd "
            f"FROM requests WHERE feature = {quote(named(conv, rf'only for (?P<name>{NAME})'))} "
            "GROUP BY 1 ORDER BY spend_usd DESC")


def week_sql(conv: Conversation) -> str:
    model = MODEL.search(conv.question)
    name = model.group(0) if model else ""
    return (
        "WITH last AS (SELECT max(ts)::DATE AS d FROM requests), weeks AS (SELECT "
        "sum(cost_usd) FILTER (WHERE ts::DATE > last.d - 7) AS this_week, "
        "sum(cost_usd) FILTER (WHERE ts::DATE > last.d - 14 AND ts::DATE <= last.d - 7) "
        f"AS previous_week FROM requests, last WHERE model = {quote(name)}) "
        "SELECT round(this_week, 6) AS last_7_days_usd, round(previous_week, 6) AS "
        "previous_7_days_usd, round(100 * (this_week - previous_week) / previous_week, 2) AS "
        "change_pct FROM weeks")


SPIKE_SQL = (
    "WITH days AS (SELECT ts::DATE AS day, sum(cost_usd) AS spend FROM requests GROUP BY 1) "
    "SELECT day, round(spend, 6) AS spend_usd, round(avg(spend) OVER (), 6) AS average_day_usd, "
    "round(100 * (spend / avg(spend) OVER () - 1), 2) AS above_average_pct "
    "FROM days ORDER BY spend DESC LIMIT 1")


def last_days_sql(conv: Conversation) -> str:
    days = int(named(conv, r"last (?P<name>\d+) days") or 7)
    return ("SELECT round(sum(cost_usd), 6) AS spend_usd, count(*) AS requests FROM requests "
            f"WHERE ts::DATE > (SELECT max(ts)::DATE FROM requests) - {days}")


def users_sql(conv: Conversation) -> str:
    if re.search(r"how many|distinct|count", conv.text):
        return "SELECT count(DISTINCT end_user) AS users FROM requests"
    return ("SELECT end_user, count(*) AS requests, round(sum(cost_usd), 6) AS spend_usd "
            "FROM requests GROUP BY 1 ORDER BY spend_usd DESC LIMIT 5")


def what_if_models(conv: Conversation) -> list[ToolCall]:
    match = re.search(rf"all (?P<a>{NAME}) traffic to (?P<b>{NAME})", conv.question, re.I)
    return [ToolCall("what_if", {"model_map": {match.group("a"): match.group("b")}})] \
        if match else []


def what_if_batch(conv: Conversation) -> list[ToolCall]:
    feature = named(conv, rf"if (?P<name>{NAME}) used")
    return [ToolCall("what_if", {"features": [feature], "batch": True})]


def compare_model(conv: Conversation) -> list[ToolCall]:
    model = MODEL.search(conv.question)
    return [ToolCall("compare_providers", {"model": model.group(0) if model else None})]


# -- the table: first rule whose pattern the question matches ---------------------------------

# "the second one", "the third": not "time to first token"
ORDINAL = r"\b(first|second|third|fourth|fifth) one\b|\bthe (second|third|fourth|fifth)\b"
OVERVIEW = call("dataset_overview")
PROFILE = call("dataset_profile")
G = guarded
RULES: tuple[Rule, ...] = (
    Rule("cannot", r"revenue|umsatz|\bgpu\b|satisf|zufrieden", (PROFILE,), G(cannot)),
    Rule("named_cost", NAMED, (PROFILE, named_step), G(named_cost)),
    Rule("yearly", r"per year|a year|yearly|annual",
         (call("previous_answer"), unless_found(savings())), G(yearly)),
    Rule("finding_detail", ORDINAL,
         (call("previous_answer"), unless_found(savings())), G(finding_detail),
         after=r"sav|opportunit|finding|cut"),
    Rule("ordinal_breakdown", ORDINAL,
         (previous_breakdown, ordinal_detail), G(ordinal_breakdown)),
    Rule("only_for", rf"^only for (?P<name>{NAME})", (sql(only_for_sql),), G(only_for)),
    Rule("week_over_week", r"week over week|week-over-week", (sql(week_sql),),
         G(week_over_week)),
    Rule("spike", r"spike|peak|busiest day", (sql(lambda c: SPIKE_SQL),), G(spike)),
    Rule("last_days", r"last \d+ days", (sql(last_days_sql),), G(last_days)),
    Rule("end_users", r"end users?", (sql(users_sql),), G(end_users)),
    Rule("cost_per_request", r"feature.*per request|per request.*feature", (sql(lambda c: (
        "SELECT feature, count(*) AS requests, round(sum(cost_usd) / count(*), 6) AS "
        "cost_per_request_usd FROM requests GROUP BY 1 ORDER BY 3 DESC LIMIT 3")),),
         G(cost_per_request)),
    Rule("average_request", r"average request|a request cost", (sql(lambda c: (
        "SELECT round(avg(cost_usd), 6) AS cost_per_request_usd, count(*) AS requests "
        "FROM requests")),), G(average_request)),
    Rule("feature_volume", rf"how many requests does (?P<name>{NAME}) make", (sql(lambda c: (
        "SELECT model, count(*) AS requests FROM requests WHERE feature = "
        f"{quote(named(c, rf'does (?P<name>{NAME}) make'))} GROUP BY 1 ORDER BY 2 DESC")),),
         G(feature_volume)),
    Rule("ttft", r"time to first token|ttft", (call("latency_by_model"),), G(ttft)),
    Rule("slowest", r"slowest|langsamst", (call("latency_by_model"),), G(slowest)),
    Rule("p95", r"p95|latency", (OVERVIEW,), G(p95)),
    Rule("error_rate", r"error rate|fehlerquote", (OVERVIEW,), G(error_rate)),
    Rule("failed_cost", r"fail.*cost|cost.*fail", (call("error_cost"),), G(failed_cost)),
    Rule("error_type", r"error type", (call("error_cost"),), G(error_type)),
    Rule("failing_feature", r"fails? most", (call("error_cost"),), G(failing_feature)),
    Rule("retries", r"retr", (savings("retry_waste"),), G(category_finding)),
    Rule("cached_share", r"already served from|cached share", (sql(lambda c: (
        "SELECT round(100.0 * sum(cached_input_tokens) / sum(input_tokens), 2) AS cached_pct "
        "FROM requests")),), G(cached_share)),
    Rule("response_cache", r"response cache", (savings("response_caching"),),
         G(category_finding)),
    Rule("prompt_cache", r"prompt cach", (savings("prompt_caching"),), G(category_finding)),
    Rule("what_if_models", r"what if .* traffic to", (what_if_models,), G(what_if)),
    Rule("what_if_batch", r"save if .* used the batch", (what_if_batch,), G(what_if)),
    Rule("batch", r"batch", (savings("batch_api"),), G(category_finding)),
    Rule("output_limits", r"long outputs|max_tokens|output (?:limit|cap)",
         (savings("output_limits"),), G(category_finding)),
    Rule("context", r"context", (savings("context_growth"),), G(category_finding)),
    Rule("rightsizing", r"expensive model|simple tasks|smaller model|right-?siz",
         (savings("model_rightsizing"),), G(category_finding)),
    Rule("total_savings", r"save .*in total|total savings|fixed everything",
         (savings(), call("action_plan")), G(total_savings)),
    Rule("litellm", r"litellm|config", (savings(), call("action_plan")), G(litellm)),
    Rule("action_plan", r"action plan|plan to", (savings(), call("action_plan")), G(plan)),
    Rule("provider_for_model", rf"cheaper on (?P<name>{NAME})", (compare_model,),
         G(provider_for_model)),
    Rule("providers", r"provider.*cheaper|cheaper.*provider", (call("compare_providers"),),
         G(providers)),
    Rule("share", r"share of our spend", (call("spend_breakdown", by="provider"),), G(share)),
    Rule("savings", r"sav|cut|cheaper|reduce", (savings(),), G(top_findings)),
    Rule("bullets", r"\d+ bullet", (OVERVIEW, lambda c: [
        ToolCall("spend_breakdown", {"by": "feature"}),
        ToolCall("spend_breakdown", {"by": "model"})]), G(bullets)),
    Rule("german_total", r"ausgegeben|ausgaben",
         (OVERVIEW, call("spend_breakdown", by="feature")), G(total)),
    Rule("models_used", r"which models do we use", (PROFILE,), G(models_used)),
    Rule("top_feature", r"feature.*(most|teuerst)|(most|teuerst).*feature",
         (call("spend_breakdown", by="feature"),), G(breakdown)),
    Rule("top_model", r"model", (call("spend_breakdown", by="model"),), G(breakdown)),
    Rule("top_provider", r"provider", (call("spend_breakdown", by="provider"),), G(breakdown)),
    Rule("monthly", r"monthly|per month", (OVERVIEW,), G(monthly)),
    Rule("requests", r"how many .*requests", (OVERVIEW,), G(requests)),
    Rule("tokens", r"tokens", (OVERVIEW,), G(tokens)),
    Rule("total", r"", (OVERVIEW,), G(fallback)),
)


def rule_for(conv: Conversation) -> Rule:
    return next(rule for rule in RULES if rule.applies(conv))


def reply(body: dict[str, Any]) -> Answer:
    """The fake server's reply to one chat-completion request."""
    conv = read(body)
    rule = rule_for(conv)
    if conv.rounds < len(rule.steps) and not conv.failures:
        calls = rule.steps[conv.rounds](conv)
        if calls:
            return calls
    return rule.write(conv)
