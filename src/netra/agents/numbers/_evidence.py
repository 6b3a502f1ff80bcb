"""Tracing: the evidence's and the question's numbers indexed by kind, and whether a
mention equals one of them within the rounding it shows.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from netra.agents.numbers._markdown import number_mentions
from netra.agents.numbers._mentions import PERIODS, Mention, inline_mask, scan

_SECONDS = {"ms": 0.001, "s": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0,
           "weeks": 604800.0, "months": 2_592_000.0, "years": 31_536_000.0}  # fmt: skip
# A whole evidence string that is one name, date or time: nothing in it is a quantity.
_LABEL_STRING = re.compile(
    r"[A-Za-z_][\w.:/@+-]*|\d{4}-\d{2}(?:-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)?"
)
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
_KEY_PERIODS = {w: p for w, p in PERIODS.items() if w not in ("annum", "12 months")}
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


def add_texts(index: _Index, texts: _Texts) -> None:
    joined = _JOIN.join(text for text, _, _ in texts)
    starts, offset = [], 0
    for text, _, _ in texts:
        starts.append(offset)
        offset += len(text) + len(_JOIN)
    for mention in scan(joined, inline_mask(joined), 0):
        _, kind, period = texts[bisect_right(starts, mention.span[0]) - 1]
        _add_mention(index, mention, kind, period)


def build_index(evidence: list[Any], question: str) -> tuple[_Index, _Texts]:
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


def traced(index: _Index, mention: Mention) -> bool:
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
