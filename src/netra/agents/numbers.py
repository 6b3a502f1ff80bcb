"""The numbers check: each number in an answer comes from this run's tool results or from
the user's question, with its unit and its scale.

`check_numbers(text, evidence, question)` reads every number the answer mentions (sign,
currency, scale word, unit, per-period cue), traces it to ONE evidence value of a kind it
may be, and takes out what it cannot trace. `number_mentions(text)` is the reader alone.

Claims and non-claims
- Checked: money ($, US$, €, £, ¥, USD, dollars), percentages (%, percent, pp), durations
  (ms to weeks, months, years; "5-minute"), tokens, counts ("20,000 requests"), multipliers
  (2×, 2x, 2.5 times) and plain numbers, with their signs, separators, decimals and scale
  words (k, K, M, mn, bn, thousand, million, billion). Small integers too: "7 models" is a
  claim. A range's lower end takes its upper end's unit ("40-60%").
- Not checked, because these numbers quote or label something and do not measure it:
  code (fenced blocks, inline code): it quotes the SQL a tool ran or config to paste, so
  its numbers (LIMIT 10, max_tokens: 512) are parameters, not findings, and cutting a
  line out of a query would break it. Also link targets, URLs, footnote markers, list
  markers and heading numbers ("1." at a line start, "## 2. Caching"), dates and times
  (2026-11-03, Nov 3, 10:00, 10am, 14 UTC, bare years 1900-2099, "week 49", W49,
  "12 months"), names holding digits (gpt-4o-mini, claude-3-5-sonnet, gpt-4.1, o3, p95,
  "Claude 3.5 Sonnet", "Gemini 1.5 Pro"), versions (v1.2, 1.2.3), ordinals (95th),
  labels ("#2", "step 2", "tier 1", "HTTP 429"), denominators ("per 1M tokens", "/1K
  requests": they name the unit of the price before them, and that price is checked), and
  "top N" / "N steps" (points, actions, ...) when N is at most the longest list or table
  in the answer: that N counts what the reader can see, not the data. Numbers written as
  words ("three") are not read.

Traced
- A mention traces one value of its kind, after its scale (and in seconds for durations):
  money traces money keys (`*usd*`, cost, spend, savings, price, `*_per_mtok`; another
  currency only its own keys), percentages pct keys and share/rate/ratio values (a fraction
  of 1 or less ×100), durations `*_ms`, `*_s`, `*_days`, latency, ttft keys (ms, s,
  minutes, hours, days are one scale), tokens token keys, counts count-like keys and list
  lengths, multipliers ratio-like keys. A count never traces money, money never a count.
- A value under a key that names no kind inherits its parent's (`{"cost_usd": {"gpt-4o":
  12}}`); a table `{columns, rows}` (the `query` tool) keys each cell by its column. A
  value that still has no kind (the model's own SQL alias, `AS total`) is unit-less: it
  traces a mention of any unit at the mention's scale (counts and tokens: integers only).
  A plain number traces any value. Strings are read like the answer, so "$3,900.00 spent"
  is money; ids, timestamps, hashes and SQL/code strings are not evidence.
- Equal means within the rounding the text shows: "$3,876" is 3,876 ± 0.5, "$3.9k" is
  3,900 ± 50, "12.3%" is 12.3 ± 0.05. After a hedge ("about", "~", "over") the trailing
  zeros of an integer are rounding too ("about $20,000" is 20,000 ± 5,000).
- One-value derivations: a monthly value ×12 when the text says yearly (a year, annual,
  annually, per year), yearly ÷12 for monthly, monthly ÷30 for per day, daily ×30 for per
  month. A value whose key names a period does not equal a mention of another period.
- Signs are ignored (the words carry the direction: tools report savings as positives,
  the text may say "−$3,900/month").
- A number in the question is the user's own: it traces a mention of its unit, and a
  plain number there traces a mention of any unit.

Removed
- The sentence holding an untraced number, with any traced numbers in it: a sentence is
  the smallest unit that still reads. A list item, paragraph or quote left with no words
  is removed whole, a list item with its nested items; so is one whose emphasis or code
  marks would be left unbalanced. A heading or table row holding one is removed whole:
  a row is a record, and a blank cell would read as zero or unknown. A table left with no
  rows, or whose header held one, goes entirely, as does a heading whose section became
  empty; an ordered list that lost items is renumbered. Blank lines the removals leave are
  collapsed; code blocks are never touched. No number is rewritten in place.
- `Checked.unverified` lists the untraced mentions as written ("$20,000 a year").
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["Checked", "Mention", "check_numbers", "number_mentions"]


@dataclass(frozen=True, slots=True)
class Mention:
    """One number as an answer writes it."""

    text: str  # as written, with its unit and attached period: "$20,000 a year"
    span: tuple[int, int]
    value: float  # the digits with their sign: -3900.0 for "−$3,900/month"
    scale: float  # 1e3 for k / thousand, 1e6 for M / million, 1e9 for bn / billion
    unit: str  # "USD", "EUR", "%", "pp", "ms", "s", "minutes", "tokens", "requests", "x", ""
    kind: str  # money | percent | duration | tokens | count | multiple | number
    decimals: int = 0
    period: str | None = None  # day | week | month | year, when the text gives one
    approximate: bool = False  # "about $20,000": the trailing zeros are rounding

    @property
    def magnitude(self) -> float:
        return abs(self.value) * self.scale

    @property
    def tolerance(self) -> float:
        step = 10.0**-self.decimals
        if self.approximate and self.decimals == 0:
            digits = str(int(abs(self.value)))
            step = 10.0 ** (len(digits) - len(digits.rstrip("0"))) if digits != "0" else 1.0
        return step / 2 * self.scale * (1 + 1e-9) + 1e-12


@dataclass(frozen=True, slots=True)
class Checked:
    """The answer with every untraceable number taken out, and what was taken out."""

    text: str
    unverified: list[str] = field(default_factory=list)


# --- reading numbers --------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?=[-−+$€£¥\\UEG\d])"  # fails fast where no number can start
    r"(?P<pre>(?:[-−+]\s?)?(?:US\$|\\?\$|€|£|¥|\b(?:USD|EUR|GBP)\s?)?[-−]?)"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?)"
)
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "USD": "USD", "EUR": "EUR",
             "GBP": "GBP"}  # fmt: skip
_SCALES = {"thousand": 1e3, "k": 1e3, "K": 1e3, "million": 1e6, "mn": 1e6, "M": 1e6,
           "m": 1e6, "billion": 1e9, "bn": 1e9, "B": 1e9, "b": 1e9, "trillion": 1e12,
           "tn": 1e12}  # fmt: skip
_SCALE = re.compile(r"\s?(thousand|million|billion|trillion|mn|bn|tn)\b|([kKMmBb])(?![\w])")
_MTOK = re.compile(r"([kKM])tok(?:ens)?\b", re.I)
_COUNT_NOUNS = (
    r"requests?|calls?|quer(?:y|ies)|rows?|errors?|failures?|retr(?:y|ies)|hits?|misses|"
    r"users?|customers?|conversations?|sessions?|turns?|messages?|prompts?|responses?|"
    r"completions?|events?|records?|models?|providers?|features?|findings?|endpoints?|"
    r"teams?|projects?|workflows?|jobs?|batch(?:es)?|documents?|runs?|agents?|tenants?|"
    r"regions?|deployments?|services?|samples?|duplicates?|repeats?"
)
_ADJECTIVES = r"\s(?:[a-z][a-z-]*\s){0,2}?"
_UNIT_LIST = (
    (r"\s?(?:%|per\s?cent\b|pct\b)", "percent", "%"),
    (r"\s?(?:pp\b|ppts?\b|percentage[\s-]points?\b)", "percent", "pp"),
    (r"(?:[x×](?![\w])|\s×|\s+times\b)", "multiple", "x"),
    (r"(?:\s?|-)(?:ms|msec|milliseconds?)\b", "duration", "ms"),
    (r"(?:\s?|-)(?:s|secs?|seconds?)\b", "duration", "s"),
    (r"(?:\s?|-)(?:mins?|minutes?)\b", "duration", "minutes"),
    (r"(?:\s?|-)(?:h|hrs?|hours?)\b", "duration", "hours"),
    (r"(?:d|[\s-]days?)\b", "duration", "days"),
    (r"(?:\s?|-)(?:wks?|weeks?)\b", "duration", "weeks"),
    (r"[\s-]months?\b", "duration", "months"),
    (r"[\s-]years?\b", "duration", "years"),
    (_ADJECTIVES + r"(?:tokens?|toks?)\b", "tokens", "tokens"),
    (_ADJECTIVES + rf"(?P<noun>{_COUNT_NOUNS})\b", "count", ""),
    (r"\s?(?:USD\b|US\s+dollars\b|dollars?\b)", "money", "USD"),
    (r"\s?(?:EUR\b|euros?\b)", "money", "EUR"),
)
# One pattern, its alternatives in the order above: the first unit that reads wins.
_UNIT = re.compile("|".join(f"(?P<u{i}>{p})" for i, (p, _, _) in enumerate(_UNIT_LIST)), re.I)
_SECONDS = {"ms": 0.001, "s": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0,
           "weeks": 604800.0, "months": 2_592_000.0, "years": 31_536_000.0}  # fmt: skip
_PERIODS = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month",
            "mo": "month", "monthly": "month", "year": "year", "yr": "year", "annum": "year",
            "yearly": "year", "annual": "year", "annually": "year", "annualized": "year",
            "annualised": "year", "12 months": "year"}  # fmt: skip
_PERIOD_ATTACHED = re.compile(
    r"(?:\s?/\s?|\s+(?:per|a|an|each|every)\s+)(day|week|month|mo|year|yr|annum)\b"
    r"|\s+(daily|weekly|monthly|annually|yearly)\b|\s+(?:over|in|across|for)\s+(12 months)\b",
    re.I,
)
_PERIOD_NEAR = re.compile(
    r"\b(?:per|a|an|each|every)\s+(day|week|month|year)\b"
    r"|\b(daily|weekly|monthly|annual(?:ly|i[sz]ed)?|yearly|12 months)\b",
    re.I,
)
_CLAUSE_AFTER = re.compile(r"[^.;:!?\n,(|$€£¥\d]{0,40}")
_CLAUSE_END_BEFORE = re.compile(r"[.;!?\n|][^.;!?\n|]*$")
_HEDGE = re.compile(
    r"(?:\b(?:about|around|roughly|approximately|approx\.?|nearly|almost|over|under|some|"
    r"more than|less than|up to|close to)|~|≈)\s*\**$",
    re.I,
)
_LABEL_BEFORE = re.compile(
    r"\b(?:gpt|claude|gemini|llama|mistral|mixtral|qwen|deepseek|phi|command|grok|sonnet|"
    r"opus|haiku|version|release|python|node|iso|week|step|phase|tier|level|stage|section|"
    r"chapter|item|option|priority|rank|day|http|status|code)\s?[-#]?$",
    re.I,
)
_TIER_AFTER = re.compile(
    r"\s+(?:sonnet|haiku|opus|pro|flash|turbo|mini|nano|instruct|preview|ultra|lite)\b", re.I
)
_RANGE = re.compile(r"\s?[-–—]\s?(?=[$€£¥\d])|\s+to\s+(?=[$€£¥\d])")
_TOP_BEFORE = re.compile(r"\b(?:top|bottom)\s+$", re.I)
_STRUCTURE_AFTER = re.compile(
    r"\s+(?:[a-z-]+\s+)?(?:bullet points?|bullets?|points?|steps?|actions?|recommendations?|"
    r"items?|options?|ideas?|ways?|tips?|things|reasons?|changes?|suggestions?|takeaways?|"
    r"sections?|wins?|levers?|opportunities|areas?)\b",
    re.I,
)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?![a-z])\.?"
)
# Spans whose digits are not claims: code, links and footnotes, found in the whole text…
_QUOTED = re.compile(
    r"(?P<tick>`+)[^`\n]*?(?P=tick)|<!--.*?-->|\[\^?\d+\]"
    r"|\]\([^)\n]*\)|\]\[[^\]\n]*\]|<(?:https?|mailto):[^>\s]*>|\bhttps?://[^\s)>\]]+",
    re.S,
)
# … and dates, times, versions and names holding a digit (gpt-4o, p95), found near digits.
_LABELS = re.compile(
    r"(?=\w)(?<!\w)(?:"  # every branch starts a word: trying only there is faster
    + "|".join(
        (
            r"\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?",
            r"\b\d{4}-(?:0[1-9]|1[0-2])\b|\b\d{1,4}/\d{1,2}/\d{1,4}\b|\b24/7\b",
            rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?",
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}}\b)?",
            rf"\b{_MONTH}\s+\d{{4}}\b",
            r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp]\.?[Mm]\b\.?)?(?:\s?(?:UTC|GMT|Z)\b)?",
            r"\b\d{1,2}\s?(?:[ap]\.m\.|[AaPp][Mm]\b)|\b\d{1,2}\s?(?:UTC|GMT)\b",
            r"\b(?:ISO\s+)?[Ww]eek\s+\d{1,2}\b|\b(?:1[89]|20)\d0s\b|\b12\s+months\b",
            r"\b\d+(?:\.\d+){2,}\b",
            r"(?<![$€£¥\\])[A-Za-z_]+(?:[-.][A-Za-z_]+)*[-.]?\d\w*(?:[-.]\w+)*",
        )
    )
    + ")"
)
# A whole evidence string that is one name, date or time: nothing in it is a quantity.
_LABEL_STRING = re.compile(
    r"[A-Za-z_][\w.:/@+-]*|\d{4}-\d{2}(?:-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)?"
)
_DIGITS = re.compile(r"\d+")
_NEAR = 40  # how far before a digit a date or a name holding it may start


def number_mentions(text: str) -> list[Mention]:
    """Every number `text` states as a claim, in order (see the module docstring)."""
    doc = _parse(text)
    return list(_scan(text, doc.mask, doc.listed))


def _inline_mask(text: str, mask: bytearray | None = None) -> bytearray:
    """Marks the characters of `text` whose digits are not claims."""
    mask = mask if mask is not None else bytearray(len(text))
    for match in _QUOTED.finditer(text):
        mask[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
    lo = hi = -1
    for digits in _DIGITS.finditer(text):  # scanning only around digits keeps this fast
        if digits.start() - _NEAR > hi:
            _mask_labels(text, mask, lo, hi)
            lo = max(0, digits.start() - _NEAR)
        hi = digits.end() + _NEAR
    _mask_labels(text, mask, lo, hi)
    return mask


def _mask_labels(text: str, mask: bytearray, lo: int, hi: int) -> None:
    if hi >= 0:
        for match in _LABELS.finditer(text, lo, min(hi, len(text))):
            mask[match.start() : match.end()] = b"\x01" * (match.end() - match.start())


def _scan(text: str, mask: bytearray, listed: int) -> Iterator[Mention]:
    prev_end = 0
    for match in _NUMBER.finditer(text):
        if mask[match.start("num")]:
            continue
        mention = _read(text, match, prev_end, listed)
        if mention is not None:
            prev_end = mention.span[1]
            yield mention


def _read(text: str, match: re.Match[str], prev_end: int, listed: int) -> Mention | None:
    pre, num = match.group("pre"), match.group("num")
    start, pos = match.start(), match.end("num")
    before = text[start - 1] if start else " "
    signed = any(c in pre for c in "-−+")
    if before.isalnum() or before == "_":
        if not (signed and before.isdigit()):  # "3-5 days" is a range; "x-5" a name
            return None
        signed, pre = False, pre.lstrip("-−+ ")
        start = match.start("num") - len(pre)
    if (before == "." and text[start - 2 : start - 1].isdigit()) or before in "/#":
        return None  # a version's tail, a denominator ("$2.50/1M tokens"), a label ("#2")
    currency = next((_CURRENCY[c] for c in ("USD", "EUR", "GBP", "$", "€", "£", "¥") if c in pre),
                    None)  # fmt: skip
    if currency is None and text[max(0, start - 4) : start].lower() == "per ":
        return None
    if (quantity := _quantity(text, pos, currency)) is None:
        return None
    kind, unit, scale, end = quantity
    if kind == "number" and scale == 1 and (upper := _range_end(text, end, listed)):
        kind, unit, scale = upper.kind, upper.unit, upper.scale  # "40-60%": 40 is a percent too
    value = float(num.replace(",", ""))
    if kind in ("number", "count") and not _is_claim(
        text, start, end, num, value, scale, signed, listed, bare=kind == "number"
    ):
        return None
    period = None
    if kind in ("money", "count", "tokens", "number"):
        if attached := _PERIOD_ATTACHED.match(text, end):
            period = _PERIODS[(attached.group(1) or attached.group(2) or attached.group(3)).lower()]
            end = attached.end()
        else:
            period = _nearby_period(text, max(prev_end, start - 60), start, end)
    negative = signed and any(c in pre for c in "-−")
    return Mention(
        text=text[start:end], span=(start, end), value=-value if negative else value,
        scale=scale, unit=unit or "", kind=kind,
        decimals=len(num.partition(".")[2]), period=period,
        approximate=bool(_HEDGE.search(text, max(0, start - 24), start)),
    )  # fmt: skip


def _quantity(text: str, pos: int, currency: str | None) -> tuple[str, str, float, int] | None:
    """The kind, unit, scale and end of the number whose digits end at `pos`, or None when
    the digits are part of something else ("1.2.3", "10:30", "3rd", "4o", "70B")."""
    if text[pos : pos + 1] in (".", ":") and text[pos + 1 : pos + 2].isdigit():
        return None
    kind, unit, scale, end = ("money", currency, 1.0, pos) if currency else ("number", "", 1.0, pos)
    glued_scale = ""
    if tok := _MTOK.match(text, pos):
        kind, unit, scale, end = "tokens", "tokens", _SCALES[tok.group(1)], tok.end()
    else:
        if sc := _SCALE.match(text, pos):
            glued_scale = sc.group(2) or ""
            scale, end = _SCALES[sc.group(1) or glued_scale], sc.end()
        if kind == "number" and (um := _UNIT.match(text, end)) and um.lastgroup:
            _, kind, unit = _UNIT_LIST[int(um.lastgroup[1:])]
            unit, end = unit or um.group("noun").lower(), um.end()
    if glued_scale in ("m", "b", "B") and kind not in ("money", "tokens", "count"):
        return None  # "70B" names a model size; "5m" could be minutes
    if text[end : end + 1].isalnum() or text[end : end + 1] == "_":
        return None
    return kind, unit, scale, end


def _range_end(text: str, end: int, listed: int) -> Mention | None:
    """The upper end of a range a plain number starts ("40-60%", "2 to 3 s"), if any."""
    if (dash := _RANGE.match(text, end)) and (upper := _NUMBER.match(text, dash.end())):
        return _read(text, upper, end, listed)
    return None


def _is_claim(
    text: str, start: int, end: int, num: str, value: float, scale: float, signed: bool,
    listed: int, *, bare: bool,
) -> bool:  # fmt: skip
    """Whether a plain number or count is a claim: not a year, a name, a label, or a count of
    the items the answer itself lists."""
    if bare and scale == 1 and not signed and num.isdigit() and len(num) == 4 and (
        1900 <= value < 2100
    ):
        return False
    if _LABEL_BEFORE.search(text, max(0, start - 24), start) or (
        bare and _TIER_AFTER.match(text, end)
    ):
        return False
    counts_the_answer = _TOP_BEFORE.search(text, max(0, start - 12), start) or (
        _STRUCTURE_AFTER.match(text, end)
    )
    return not (counts_the_answer and value == int(value) and value <= listed)


def _nearby_period(text: str, lo: int, start: int, end: int) -> str | None:
    after = _CLAUSE_AFTER.match(text, end)
    if after and (cue := _PERIOD_NEAR.search(after.group())):
        return _PERIODS[(cue.group(1) or cue.group(2)).lower()]
    window = text[lo:start]
    if clause := _CLAUSE_END_BEFORE.search(window):
        window = clause.group()
    cues = list(_PERIOD_NEAR.finditer(window))
    return _PERIODS[(cues[-1].group(1) or cues[-1].group(2)).lower()] if cues else None


# --- indexing the evidence --------------------------------------------------------------

_KEY_WORDS: dict[str, str] = {
    **dict.fromkeys(("usd", "dollars", "cost", "costs", "spend", "spent", "spending",
                     "savings", "saving", "saved", "price", "prices", "pricing", "budget",
                     "bill", "billing", "revenue", "fee", "fees", "mtok"), "money:USD"),
    "eur": "money:EUR", "gbp": "money:GBP",
    **dict.fromkeys(("pct", "percent", "percentage"), "percent"),
    **dict.fromkeys(("share", "rate", "rates", "ratio", "fraction", "proportion"), "fraction"),
    **dict.fromkeys(("factor", "multiplier", "speedup"), "multiple"),
    **dict.fromkeys(("ms", "msec", "millis", "latency", "ttft"), "duration:ms"),
    **dict.fromkeys(("s", "sec", "secs", "seconds"), "duration:s"),
    **dict.fromkeys(("min", "mins", "minutes"), "duration:minutes"),
    **dict.fromkeys(("hours", "hrs"), "duration:hours"),
    "days": "duration:days", "weeks": "duration:weeks",
    **dict.fromkeys(("requests", "count", "counts", "n", "num", "calls", "hits", "misses",
                     "errors", "failures", "retries", "turns", "users", "conversations",
                     "sessions", "messages", "events", "occurrences", "attempts", "prompts",
                     "responses", "completions", "models", "providers", "features",
                     "findings"), "count"),
    **dict.fromkeys(("rows", "items", "results", "data", "records", "entries"), "container"),
    **dict.fromkeys(("id", "ids", "uuid", "ts", "timestamp", "epoch", "hash", "seed",
                     "version", "query", "sql", "code", "snippet"), "skip"),
}  # fmt: skip
_KEY_PERIODS = {w: p for w, p in _PERIODS.items() if w not in ("annum", "12 months")}
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORDS = re.compile(r"[^a-z0-9]+")
_PLAIN_NUMBER = re.compile(r"\s*[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*")


@lru_cache(maxsize=4096)
def _key_kind(key: str) -> tuple[str | None, str | None]:
    """What a JSON key says its numbers are, and per which period: the last telling word wins
    (`savings_usd_month` is money per month, `cost_share` a fraction)."""
    words = _WORDS.split(_CAMEL.sub(r"\1_\2", key).lower())
    period = next((_KEY_PERIODS[w] for w in words if w in _KEY_PERIODS), None)
    for word in reversed(words):
        kind = _KEY_WORDS.get(word) or ("tokens" if word.endswith("tokens") else None)
        if kind is not None:
            return kind, period
    return None, period


_Accept = Callable[[float, str | None], bool]


class _Index:
    """Evidence values by kind, sorted, so each mention is a range look-up."""

    def __init__(self) -> None:
        self._pending: dict[str, list[tuple[float, str | None]]] = {}
        self._values: dict[str, list[float]] = {}
        self._periods: dict[str, list[str | None]] = {}

    def add(self, key: str, value: float, period: str | None = None) -> None:
        self._pending.setdefault(key, []).append((value, period))

    def freeze(self) -> _Index:
        for key, pairs in self._pending.items():
            pairs.extend(zip(self._values.get(key, ()), self._periods.get(key, ()), strict=True))
            pairs.sort(key=lambda pair: pair[0])
            self._values[key] = [v for v, _ in pairs]
            self._periods[key] = [p for _, p in pairs]
        self._pending = {}
        return self

    def near(self, key: str, lo: float, hi: float, accept: _Accept | None = None) -> bool:
        values = self._values.get(key)
        if not values:
            return False
        i = bisect_left(values, lo)
        periods = self._periods[key]
        while i < len(values) and values[i] <= hi:
            if accept is None or accept(values[i], periods[i]):
                return True
            i += 1
        return False


def _add_value(index: _Index, kind: str | None, value: float, period: str | None) -> None:
    if not math.isfinite(value):
        return
    value = abs(value)
    index.add("any", value)
    if kind is None:
        index.add("unknown", value, period)
    elif kind == "fraction":
        index.add("percent", value * 100 if value <= 1 else value)
        index.add("multiple", value)
    elif kind.startswith("duration:"):
        index.add("duration", value * _SECONDS[kind.partition(":")[2]])
    elif kind not in ("skip", "container"):
        index.add(kind, value, period)


def _add_mention(index: _Index, mention: Mention, kind: str | None, period: str | None) -> None:
    if mention.kind == "number":
        _add_value(index, kind, mention.magnitude, mention.period or period)
    elif mention.kind == "money":
        _add_value(index, f"money:{mention.unit}", mention.magnitude, mention.period or period)
    elif mention.kind == "duration":
        _add_value(index, f"duration:{mention.unit}", mention.magnitude, None)
    else:
        _add_value(index, mention.kind, mention.magnitude, mention.period or period)


# Evidence strings are read in one pass over them all, joined by a line no pattern crosses.
_JOIN = "\n\x00\n"
_Texts = list[tuple[str, str | None, str | None]]  # a string, its kind, its period


def _walk(index: _Index, node: Any, kind: str | None, period: str | None, texts: _Texts) -> None:
    if isinstance(node, Mapping):
        _walk_mapping(index, node, kind, period, texts)
    elif isinstance(node, list | tuple):
        _add_value(index, "count", float(len(node)), None)
        for item in node:
            _walk(index, item, kind, period, texts)
    elif isinstance(node, bool) or node is None:
        return
    elif isinstance(node, int | float):
        _add_value(index, kind, float(node), period)
    elif isinstance(node, str) and any(c.isdigit() for c in node):
        if _PLAIN_NUMBER.fullmatch(node):
            _add_value(index, kind, float(node), period)
        elif not _LABEL_STRING.fullmatch(node):
            texts.append((node, kind, period))


def _walk_mapping(
    index: _Index, node: Mapping[Any, Any], kind: str | None, period: str | None, texts: _Texts
) -> None:
    columns, rows = node.get("columns"), node.get("rows")
    if isinstance(columns, list) and isinstance(rows, list) and all(
        isinstance(column, str) for column in columns
    ):  # a table ({columns, rows}, as `query` answers): each cell is keyed by its column
        for row in rows:
            if isinstance(row, list | tuple):
                _walk_mapping(index, dict(zip(columns, row, strict=False)), kind, period, texts)
        _add_value(index, "count", float(len(rows)), None)
        node = {key: value for key, value in node.items() if key != "rows"}
    for key, value in node.items():
        own, own_period = _key_kind(key if isinstance(key, str) else str(key))
        if own == "skip":
            continue
        if own == "container":
            own = "count" if isinstance(value, int | float) else None
        elif own is None:
            own = kind
        if isinstance(value, int | float) and not isinstance(value, bool):
            _add_value(index, own, float(value), own_period or period)
        else:
            _walk(index, value, own, own_period or period, texts)


def _add_texts(index: _Index, texts: _Texts) -> None:
    joined = _JOIN.join(text for text, _, _ in texts)
    starts, offset = [], 0
    for text, _, _ in texts:
        starts.append(offset)
        offset += len(text) + len(_JOIN)
    for mention in _scan(joined, _inline_mask(joined), 0):
        _, kind, period = texts[bisect_right(starts, mention.span[0]) - 1]
        _add_mention(index, mention, kind, period)


def _build_index(evidence: list[Any], question: str) -> tuple[_Index, _Texts]:
    """The index of the evidence's numbers and the question's, and the evidence's strings
    still to read."""
    index = _Index()
    texts: _Texts = []
    for result in evidence:  # not the list itself: how many tools ran is not a fact
        _walk(index, result, None, None, texts)
    for mention in number_mentions(question):
        if mention.kind == "number":  # the user's own plain number stands for any unit
            index.add("question", mention.magnitude)
        else:
            _add_mention(index, mention, None, None)
    return index.freeze(), texts


# (mention's period, evidence value's period) → factor taking the value to the mention
_PERIOD_FACTORS = {("year", "month"): 12.0, ("month", "year"): 1 / 12, ("day", "month"): 1 / 30,
                   ("month", "day"): 30.0}  # fmt: skip


def _accepting(period: str | None, exact: bool, integral: bool) -> _Accept:
    def accept(value: float, value_period: str | None) -> bool:
        if integral and value != int(value):
            return False
        if exact:
            return value_period == period
        return period is None or value_period is None or value_period == period

    return accept


def _traced(index: _Index, mention: Mention) -> bool:
    target, tol = mention.magnitude, mention.tolerance
    lo, hi = target - tol, target + tol
    if index.near("question", lo, hi):
        return True
    kind = mention.kind
    if kind == "number":
        return index.near("any", lo, hi)
    if kind == "duration":
        seconds = _SECONDS[mention.unit]
        return index.near("duration", lo * seconds, hi * seconds) or index.near("unknown", lo, hi)
    if kind in ("percent", "multiple"):
        return index.near(kind, lo, hi) or index.near("unknown", lo, hi)
    own = f"money:{mention.unit}" if kind == "money" else kind
    return _near_per_period(index, own, mention, lo, hi, integral=False) or (
        _near_per_period(index, "unknown", mention, lo, hi, integral=kind != "money")
    )


def _near_per_period(
    index: _Index, key: str, mention: Mention, lo: float, hi: float, *, integral: bool
) -> bool:
    if index.near(key, lo, hi, _accepting(mention.period, False, integral)):
        return True
    for (wanted, given), factor in _PERIOD_FACTORS.items():
        accept = _accepting(given, True, integral)
        if wanted == mention.period and index.near(key, lo / factor, hi / factor, accept):
            return True
    return False


# --- the answer's blocks, and taking sentences, items, rows out of them -----------------

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(?:(\d+(?:\.\d+)*[.)]?)\s+)?")
_ITEM = re.compile(r"^(\s*)(?:[-*+]|(\d{1,9})[.)])(?:\s+|$)")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_PREFIX = re.compile(r"^\s*(?:>\s?)*")
_BOUNDARY = re.compile(r"(?<=[.!?])[*_)\]\"'’”]*\s+(?:>\s*)*(?=\S)")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|approx|ca|cf|incl|est|fig)|\b[A-Za-z])\.$",
                           re.I)  # fmt: skip
_WORD = re.compile(r"[^\W_]")
_MARKER_NUMBER = re.compile(r"^(\s*)\d+")


@dataclass(slots=True)
class _Block:
    kind: str  # para | item | heading | row | header | code
    first: int  # line numbers
    last: int
    extent: int  # last line it takes with it: nested items, a table's rows
    content: int  # offset where its own text starts, after any marker
    level: int = 0  # heading level
    number: int | None = None  # an ordered list item's number
    run: int = -1  # the list an item belongs to: the block number of its first item


@dataclass(slots=True)
class _Doc:
    text: str
    lines: list[str]
    starts: list[int]
    blocks: list[_Block] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # line → block, -1 for blank lines
    mask: bytearray = field(default_factory=bytearray)
    listed: int = 0  # the longest list or table


def _blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _table_starts(lines: list[str], i: int) -> bool:
    return (
        "|" in lines[i] and i + 1 < len(lines) and "|" in lines[i + 1]
        and _TABLE_SEP.match(lines[i + 1]) is not None
    )  # fmt: skip


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    return bool(
        _blank(line) or _FENCE.match(line) or _HEADING.match(line) or _ITEM.match(line)
        or _RULE.match(line) or _table_starts(lines, i)
    )  # fmt: skip


def _parse(text: str) -> _Doc:
    lines = text.splitlines(keepends=True)
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    doc = _Doc(text, lines, starts, owner=[-1] * len(lines), mask=bytearray(len(text)))
    runs: dict[int, tuple[int, int]] = {}  # indent → (list, items so far)
    i = 0
    while i < len(lines):
        i = _parse_block(doc, i, runs)
    _inline_mask(text, doc.mask)
    return doc


def _add_block(doc: _Doc, block: _Block) -> None:
    for line in range(block.first, block.last + 1):
        doc.owner[line] = len(doc.blocks)
    doc.blocks.append(block)


def _mask_lines(doc: _Doc, first: int, last: int) -> None:
    lo, hi = doc.starts[first], doc.starts[last] + len(doc.lines[last])
    doc.mask[lo:hi] = b"\x01" * (hi - lo)


def _parse_block(doc: _Doc, i: int, runs: dict[int, tuple[int, int]]) -> int:
    """Adds the block starting at line `i` and returns the line after it."""
    lines, start = doc.lines, doc.starts[i]
    line = lines[i]
    if _blank(line) or _RULE.match(line):
        return i + 1
    if fence := _FENCE.match(line):
        j = i + 1
        while j < len(lines) and not lines[j].lstrip().startswith(fence.group(1)):
            j += 1
        j = min(j, len(lines) - 1)
        _mask_lines(doc, i, j)
        _add_block(doc, _Block("code", i, j, j, start))
        return j + 1
    item = _ITEM.match(line)
    if not item and not _indent(line):
        runs.clear()  # a list ends at the first block back at the margin
    if heading := _HEADING.match(line):
        doc.mask[start : start + heading.end()] = b"\x01" * heading.end()
        _add_block(doc, _Block("heading", i, i, i, start + heading.end(), len(heading.group(1))))
        return i + 1
    if _table_starts(lines, i):
        j = i + 2
        while j < len(lines) and "|" in lines[j] and not _blank(lines[j]):
            j += 1
        _add_block(doc, _Block("header", i, i + 1, j - 1, start))
        for row in range(i + 2, j):
            _add_block(doc, _Block("row", row, row, row, doc.starts[row]))
        doc.listed = max(doc.listed, j - i - 2)
        return j
    j = i
    while j + 1 < len(lines) and not _starts_block(lines, j + 1):
        j += 1
    if item:
        depth = len(item.group(1))
        for deeper in [d for d in runs if d > depth]:
            del runs[deeper]
        run, count = runs.get(depth, (len(doc.blocks), 0))
        runs[depth] = (run, count + 1)
        doc.listed = max(doc.listed, count + 1)
        doc.mask[start : start + item.end()] = b"\x01" * item.end()
        number = int(item.group(2)) if item.group(2) else None
        extent = _item_extent(lines, j, depth)
        _add_block(doc, _Block("item", i, j, extent, start + item.end(), 0, number, run))
    else:
        prefix = _PREFIX.match(line)
        _add_block(doc, _Block("para", i, j, j, start + (prefix.end() if prefix else 0)))
    return j + 1


def _item_extent(lines: list[str], last: int, depth: int) -> int:
    """The last line of a list item's nested content: what is indented deeper than its marker."""
    k = last
    while k + 1 < len(lines):
        nxt = k + 1
        while nxt < len(lines) and _blank(lines[nxt]):
            nxt += 1
        if nxt >= len(lines) or _indent(lines[nxt]) <= depth:
            break
        k = nxt
    return k


def _sentences(body: str) -> list[tuple[int, int]]:
    cuts, start = [], 0
    for boundary in _BOUNDARY.finditer(body):
        if _ABBREVIATION.search(body, max(start, boundary.start() - 8), boundary.start()):
            continue
        cuts.append((start, boundary.end()))
        start = boundary.end()
    cuts.append((start, len(body)))
    return cuts


def _balanced(text: str) -> bool:
    return text.count("**") % 2 == 0 and text.count("`") % 2 == 0 and (
        text.count("[") == text.count("]")
    )


def _without_sentences(doc: _Doc, block: _Block, offsets: list[int]) -> str | None:
    """The block's lines with the sentences at `offsets` taken out; None when nothing sound
    is left of it."""
    end = doc.starts[block.last] + len(doc.lines[block.last].rstrip("\r\n"))
    body = doc.text[block.content : end]
    kept = [
        body[lo:hi] for lo, hi in _sentences(body)
        if not any(lo <= offset - block.content < hi for offset in offsets)
    ]  # fmt: skip
    rest = "".join(kept).rstrip()
    if not _WORD.search(rest) or (_balanced(body) and not _balanced(rest)):
        return None
    return doc.text[doc.starts[block.first] : block.content] + rest


def _line_of(doc: _Doc, offset: int) -> int:
    return bisect_right(doc.starts, offset) - 1


def _remove(doc: _Doc, bad: list[Mention]) -> str:
    offsets: dict[int, list[int]] = {}
    for mention in bad:
        owner = doc.owner[_line_of(doc, mention.span[0])]
        offsets.setdefault(owner, []).append(mention.span[0])
    dropped: set[int] = set()
    rewritten: dict[int, str] = {}
    for b, at in offsets.items():
        block = doc.blocks[b]
        new = _without_sentences(doc, block, at) if block.kind in ("para", "item") else None
        if new is None:
            dropped.add(b)
        else:
            rewritten[b] = new
    gone = _gone_lines(doc, dropped)
    return _assemble(doc, gone, rewritten, _renumbered(doc, gone))


def _renumbered(doc: _Doc, gone: set[int]) -> dict[int, int]:
    """New numbers for the items of an ordered list that lost some (a nested list numbered
    from 2 would read as text)."""
    lists: dict[int, list[_Block]] = {}
    for block in doc.blocks:
        if block.number is not None:
            lists.setdefault(block.run, []).append(block)
    numbers: dict[int, int] = {}
    for items in lists.values():
        kept = [item for item in items if item.first not in gone]
        if len(kept) < len(items):
            start = items[0].number or 0
            numbers.update((item.first, start + k) for k, item in enumerate(kept))
    return numbers


def _gone_lines(doc: _Doc, dropped: set[int]) -> set[int]:
    """The lines removed: dropped blocks, tables without rows, headings without a section."""
    blocks = doc.blocks
    for b, block in enumerate(blocks):  # a header's block is followed by its rows
        if block.kind == "header":
            rows = range(b + 1, b + 1 + block.extent - block.last)
            if b in dropped or all(r in dropped for r in rows):
                dropped.update(rows)
                dropped.add(b)
    gone: set[int] = set()
    for b in dropped:
        gone.update(range(blocks[b].first, blocks[b].extent + 1))
    for h in range(len(blocks) - 1, -1, -1):
        heading = blocks[h]
        if heading.kind != "heading" or heading.first in gone:
            continue
        section = []
        for block in blocks[h + 1 :]:
            if block.kind == "heading" and block.level <= heading.level:
                break
            section.append(block)
        if section and all(block.first in gone for block in section):
            gone.add(heading.first)
    return gone


def _assemble(
    doc: _Doc, gone: set[int], rewritten: dict[int, str], numbers: dict[int, int]
) -> str:
    replace = {doc.blocks[b].first: (doc.blocks[b].last, new) for b, new in rewritten.items()}
    replace.update(
        (first, (first, doc.lines[first].rstrip("\r\n")))
        for first in numbers.keys() - replace.keys()
    )
    code = {line for block in doc.blocks if block.kind == "code"
            for line in range(block.first, block.last + 1)}  # fmt: skip
    out: list[str] = []
    gap, i = False, 0
    while i < len(doc.lines):
        line = doc.lines[i]
        if i in gone:
            gap, i = True, i + 1
            continue
        if i in replace:
            last, new = replace[i]
            if i in numbers:
                new = _MARKER_NUMBER.sub(rf"\g<1>{numbers[i]}", new, count=1)
            out.append(new + doc.lines[last][len(doc.lines[last].rstrip("\r\n")) :])
            gap, i = False, last + 1
            continue
        if gap and _blank(line) and i not in code and (not out or _blank(out[-1])):
            i += 1
            continue
        out.append(line)
        gap = gap and _blank(line)
        i += 1
    result = "".join(out).strip("\n")
    return result + "\n" if result and doc.text.endswith("\n") else result


def check_numbers(text: str, evidence: list[Any], question: str = "") -> Checked:
    """`text` without the sentences, items and rows whose numbers trace to no tool result
    nor the question, and the numbers taken out."""
    doc = _parse(text)
    mentions = list(_scan(text, doc.mask, doc.listed))
    if not mentions:
        return Checked(text, [])
    index, texts = _build_index(evidence, question)
    bad = [mention for mention in mentions if not _traced(index, mention)]
    if bad and texts:  # the strings are read only for what the numbers alone do not trace
        _add_texts(index, texts)
        bad = [mention for mention in bad if not _traced(index.freeze(), mention)]
    if not bad:
        return Checked(text, [])
    return Checked(_remove(doc, bad), [mention.text for mention in bad])
