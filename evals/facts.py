"""What an answer must contain: numbers (with a unit and the tolerance answers round to)
and phrases, declared with the SQL that computes them, resolved against the eval-side
dataset, and matched against an answer's text.

A number matches a mention the numbers guard reads (`netra.agents.numbers.number_mentions`)
of a compatible kind when |mention − value| ≤ max(tol, min(shown rounding, cap)): "$251"
matches 250.94 (it shows dollars), "about $300" does not (its rounding is wider than the
cap). A phrase matches case-insensitively; a fact with several alternatives matches any.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from netra.agents.numbers import Mention

if TYPE_CHECKING:
    from evals.oracle import Oracle

Unit = Literal["usd", "pct", "count", "ms"]
# SQL whose first cell (of the first row) is the value, with `?` for the dataset id; or an
# async function of the oracle returning the value (or several acceptable values).
Source = str | Callable[["Oracle"], Awaitable[Any]]


@dataclass(frozen=True)
class Num:
    """A number the answer must state."""

    unit: Unit
    source: Source
    label: str


@dataclass(frozen=True)
class Phrase:
    """Text the answer must contain: fixed alternatives, or a computed value."""

    source: Source | tuple[str, ...]
    label: str
    forms: Callable[[Any], tuple[str, ...]] | None = None  # how a computed value may be written


FactSpec = Num | Phrase


@dataclass(frozen=True)
class Expected:
    """A resolved fact: numbers (any of `values`) or phrases (any of `phrases`)."""

    label: str
    unit: Unit | None = None
    values: tuple[float, ...] = ()
    phrases: tuple[str, ...] = ()

    @property
    def is_number(self) -> bool:
        return self.unit is not None

    def shown(self) -> str:
        if self.unit is None:
            return " | ".join(self.phrases[:3])
        return " | ".join(_fmt(self.unit, v) for v in self.values)


def _fmt(unit: Unit, value: float) -> str:
    if unit == "usd":
        return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
    if unit == "pct":
        return f"{value:.2f}%"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.0f}"


# -- tolerances: what rounding an answer may show -----------------------------------------

def tolerance(unit: Unit, value: float) -> tuple[float, float]:
    """(tol, cap): always accepted, and the most a mention's own rounding may add."""
    size = abs(value)
    if unit == "usd":
        return max(0.005 * size, 0.0051 if size >= 1 else 0.00051), 0.05 * size
    if unit == "pct":
        return 0.06, 0.5
    if unit == "ms":
        return 0.6, 0.02 * size
    return 0.5, 0.01 * size


_KINDS: dict[Unit, frozenset[str]] = {
    "usd": frozenset({"money", "number"}),
    "pct": frozenset({"percent", "number"}),
    "count": frozenset({"count", "number", "tokens"}),
    "ms": frozenset({"duration", "number"}),
}
_TO_MS = {"ms": 1.0, "s": 1e3, "minutes": 6e4, "hours": 3.6e6, "days": 8.64e7, "weeks": 6.048e8}


def _magnitude(unit: Unit, mention: Mention) -> tuple[float, float] | None:
    """The mention's value and shown rounding in the fact's unit, or None if it cannot be one."""
    if mention.kind not in _KINDS[unit]:
        return None
    if mention.kind == "money" and mention.unit != "USD":
        return None
    if mention.kind == "percent" and mention.unit != "%":
        return None
    factor = 1.0
    if mention.kind == "duration":
        if mention.unit not in _TO_MS:
            return None
        factor = _TO_MS[mention.unit]
    return mention.magnitude * factor, mention.tolerance * factor


def matches(fact: Expected, mention: Mention) -> bool:
    if fact.unit is None:
        return False
    read = _magnitude(fact.unit, mention)
    if read is None:
        return False
    value, shown = read
    for expected in fact.values:
        tol, cap = tolerance(fact.unit, expected)
        if abs(value - abs(expected)) <= max(tol, min(shown, cap)) + 1e-12:
            return True
    return False


def present(fact: Expected, text: str, mentions: Sequence[Mention]) -> bool:
    if fact.is_number:
        return any(matches(fact, m) for m in mentions)
    lowered = text.lower()
    return any(p.lower() in lowered for p in fact.phrases)


# -- phrase forms -------------------------------------------------------------------------

def date_forms(value: Any) -> tuple[str, ...]:
    """The ways an answer may write a day: 2026-11-22, Nov 22, 22 November, 22.11., 11/22."""
    day = value.date() if isinstance(value, datetime) else value
    if not isinstance(day, date):
        day = date.fromisoformat(str(value)[:10])
    month, short = day.strftime("%B"), day.strftime("%b")
    german = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
              "September", "Oktober", "November", "Dezember")[day.month - 1]
    return (day.isoformat(), f"{short} {day.day}", f"{month} {day.day}", f"{day.day} {short}",
            f"{day.day} {month}", f"{day.day}. {german}", f"{day.day:02d}.{day.month:02d}.",
            f"{day.month}/{day.day}")


# Ways an answer says the data does not hold something (English and German).
NOT_IN_DATA = (
    "not in the data", "not in your data", "not in the dataset", "not in this dataset",
    "isn't in", "is not in", "aren't in", "are not in", "no feature", "no model named",
    "no such", "doesn't exist", "does not exist", "don't exist", "do not exist", "not found",
    "no requests", "no data", "no record", "not recorded", "doesn't record", "does not record",
    "doesn't contain", "does not contain", "doesn't include", "does not include",
    "doesn't have", "does not have", "don't have", "do not have", "not available",
    "not tracked", "isn't tracked", "is not tracked", "cannot answer", "can't answer",
    "cannot tell", "can't tell", "cannot be answered", "can't be answered", "no information",
    "not part of", "nothing about", "not captured", "does not capture", "doesn't capture",
    "nicht in den daten", "nicht enthalten", "gibt es nicht", "keine daten",
)
