"""What a question asks for: its intent (chosen by the language model) and the parameters
written in it (read by rules, so the numbers a user typed are never re-invented)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# label -> the words that signal it. Order matters: ties go to the earlier label, so the
# broad "optimize" comes first. A hosted model reads these as descriptions.
INTENTS: dict[str, str] = {
    "optimize": "optimize optimise save savings reduce cut lower cheaper recommendations "
    "recommend improve waste efficient bill opportunities",
    "finding_detail": "tell more about detail details explain elaborate finding first second "
    "third fourth fifth last previous evidence",
    "what_if": "what if would switch switched move moved moving half share percent portion "
    "scenario simulate replay instead paid",
    "spend": "spend spent spending breakdown where money goes feature features biggest top "
    "week month yesterday today last days",
    "trend": "trend trending growth growing grew daily over time increase increasing day "
    "spike spiked peak highest jump jumped",
    "latency": "latency slow slowest fast fastest p95 p50 response speed performance quick",
    "errors": "error errors failure failures failed failing retry retries rate limit "
    "timeouts reliability",
    "providers": "compare comparison provider providers vendor vendors azure class "
    "equivalent alternatives",
    "caching": "cache caching cached prompt prefix repeated identical duplicate",
    "batch": "batch batches nightly offline async bulk interactive",
    "output_limits": "max tokens output outputs long verbose cap limit length",
    "context": "context conversation conversations growing history turns session",
    "action_plan": "config configuration litellm router yaml plan implement steps change "
    "code download",
    "data_help": "upload import ingest format formats csv jsonl bring data dataset connect "
    "api telemetry send otel langfuse helicone",
    "overview": "overview summary summarize models use using which dataset requests many "
    "tokens",
}

# Fields a question needs before the data can answer it (besides the required ones).
NEEDS: dict[str, tuple[str, ...]] = {
    "latency": ("latency_ms",),
    "errors": ("status",),
    "caching": ("prompt_hash", "prefix_hash"),
    "context": ("conversation_id",),
    "output_limits": ("max_tokens",),
}

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "top": 1, "last": -1}
_SHARES = {"half": 50.0, "a half": 50.0, "a third": 33.3, "a quarter": 25.0, "all": 100.0,
           "two thirds": 66.7, "three quarters": 75.0}
_WINDOWS = {"yesterday": 1, "today": 1, "last week": 7, "past week": 7, "this week": 7,
            "last month": 30, "past month": 30, "this month": 30, "last fortnight": 14}


@dataclass
class Ask:
    """The parameters a question carries, as written by the user."""

    question: str
    ordinal: int | None = None  # "the second finding" -> 2 ("last" -> -1)
    share_pct: float | None = None  # "half" -> 50.0, "30%" -> 30.0
    days: int | None = None  # "last week" -> 7, "last 3 days" -> 3
    features: list[str] = field(default_factory=list)  # known features named in the question
    models: list[str] = field(default_factory=list)  # known models named in the question
    # Names written like a feature or model ("voice-transcription", "gpt-5") that the
    # data does not have: said plainly, never silently ignored.
    unknown: list[str] = field(default_factory=list)


def read_ask(question: str, *, features: list[str], models: list[str]) -> Ask:
    text = question.lower()
    ask = Ask(question=question)
    for word, number in _ORDINALS.items():
        if re.search(rf"\b{word}\b", text):
            ask.ordinal = number
            break
    if match := re.search(r"(?:finding|#|number|no\.?)\s*(\d{1,2})\b", text):
        ask.ordinal = int(match.group(1))
    if match := re.search(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent)", text):
        ask.share_pct = min(100.0, float(match.group(1)))
    else:
        for phrase, share in sorted(_SHARES.items(), key=lambda kv: -len(kv[0])):
            if re.search(rf"\b{phrase}\b", text):
                ask.share_pct = share
                break
    if match := re.search(r"(?:last|past)\s+(\d{1,3})\s+days?", text):
        ask.days = int(match.group(1))
    else:
        for phrase, days in _WINDOWS.items():
            if phrase in text:
                ask.days = days
                break
    ask.features = [f for f in features if f and _mentions(text, f)]
    # Whole names only: "gpt-4o" is not read inside "gpt-4o-mini".
    ask.models = [m for m in dict.fromkeys(models) if m and _mentions(text, m)]
    known = {n.lower() for n in (*features, *models)}
    ask.unknown = [name for name in dict.fromkeys(_NAME.findall(text))
                   if name not in known and not any(name in k for k in known)
                   and name not in _NOT_NAMES]
    return ask


# A name in the product's sense: words joined by "-", "_" or "." (support-chat, gpt-5,
# claude-3-5-haiku); plain words are too often just words.
_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)+\b")
_NOT_NAMES = frozenset({"e.g", "i.e", "what-if", "week-over-week", "month-over-month",
                        "day-by-day", "per-request", "follow-up", "re-run", "cost-per-request",
                        "end-user", "end-users", "time-to-first-token", "p95-latency"})


def _mentions(text: str, name: str) -> bool:
    name = name.lower()
    variants = {name, name.replace("-", " "), name.replace("_", " ")}
    # Not inside a longer name ("gpt-4o" in "gpt-4o-mini"), but "gpt-4o-class" is gpt-4o.
    end = r"(?![\w]|\.\d|-(?!(?:class|like|type|tier|level)\b)\w)"
    return any(re.search(rf"(?<![\w.-]){re.escape(v)}{end}", text) for v in variants)
