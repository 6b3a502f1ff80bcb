"""Reading numbers: each number a text states as a claim, with its sign, currency, scale,
unit and period, once the spans whose digits quote or label something are masked.

The answer and the evidence's strings are read alike (see the package docstring).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


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
PERIODS = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month",
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
_DIGITS = re.compile(r"\d+")
_NEAR = 40  # how far before a digit a date or a name holding it may start


def inline_mask(text: str, mask: bytearray | None = None) -> bytearray:
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


def scan(text: str, mask: bytearray, listed: int) -> Iterator[Mention]:
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
            period = PERIODS[(attached.group(1) or attached.group(2) or attached.group(3)).lower()]
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
        return PERIODS[(cue.group(1) or cue.group(2)).lower()]
    window = text[lo:start]
    if clause := _CLAUSE_END_BEFORE.search(window):
        window = clause.group()
    cues = list(_PERIOD_NEAR.finditer(window))
    return PERIODS[(cues[-1].group(1) or cues[-1].group(2)).lower()] if cues else None
