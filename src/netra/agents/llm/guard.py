"""The numbers guard: a model's prose may only repeat numbers a tool produced.

The product promises every number in an answer comes from a tool result. A model that
writes "$4,100" where the tools said "$3,900" breaks that promise, so its text is checked
against the numbers in the draft and the facts before anyone sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

# "1,234.5", "3900", "0.42": thousands separators only in groups of three.
_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(k|K|M|B|bn|thousand|million|billion)\b)?"
)
_SCALE = {
    "k": 10**3, "K": 10**3, "thousand": 10**3,
    "M": 10**6, "million": 10**6,
    "B": 10**9, "bn": 10**9, "billion": 10**9,
}  # fmt: skip
# Counting words ("three findings") and small digits carry no tool claim worth refusing.
SMALL_INTEGER_LIMIT = 10


def _literals(text: str) -> Iterator[tuple[str, Decimal, Decimal | None]]:
    """(as written, value of the digits, value with its scale word applied or None)."""
    for match in _NUMBER.finditer(text):
        digits, scale = match.group(1), match.group(2)
        try:
            value = Decimal(digits.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only admits digits
            continue
        scaled = value * _SCALE[scale] if scale else None
        yield match.group(0), value, scaled


def _fact_values(facts: Any) -> Iterator[Decimal]:
    if isinstance(facts, bool) or facts is None:
        return
    if isinstance(facts, int | float):
        try:
            yield abs(Decimal(str(facts)))
        except InvalidOperation:  # NaN and infinities are not numbers anyone can quote
            return
    elif isinstance(facts, str):
        for _, value, scaled in _literals(facts):
            yield value
            if scaled is not None:
                yield scaled
    elif isinstance(facts, dict):
        for key, value in facts.items():
            yield from _fact_values(key)
            yield from _fact_values(value)
    elif isinstance(facts, list | tuple | set | frozenset):
        for item in facts:
            yield from _fact_values(item)


def _matches(value: Decimal, sources: set[Decimal]) -> bool:
    """Equal to a source, or a source rounded to as many decimals as `value` shows."""
    if value in sources:
        return True
    exponent = value.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    quantum = Decimal(1).scaleb(-places)
    return any(source.quantize(quantum) == value for source in sources if source < 10**15)


def invented_numbers(text: str, *, draft: str, facts: Any) -> list[str]:
    """The numbers in `text` that appear in neither the draft nor the facts."""
    sources = set(_fact_values(facts)) | set(_fact_values(draft))
    invented = []
    for written, value, scaled in _literals(text):
        if value == value.to_integral_value() and value <= SMALL_INTEGER_LIMIT and not scaled:
            continue
        if _matches(value, sources) or (scaled is not None and _matches(scaled, sources)):
            continue
        invented.append(written)
    return invented
