"""Which of a dataset's requests a dashboard or a page of requests shows: the time range
and the filters of a query string, checked, and the SQL conditions that select them.

Filters are repeatable query parameters (`model=a&model=b`: either model); a comma is part
of a value, since model and feature names may hold one. An empty value is no filter (a
form's "any"). A request without a feature or end user is selected by `(none)`, the key
the breakdowns give it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netra.errors import ValidationFailed
from netra.telemetry.schema import MAX_STRING

# Query parameter -> the column it filters (both nullable ones read NULL as NONE_KEY).
FILTERS = {"model": "model", "provider": "provider", "feature": "feature",
           "end_user": "end_user", "status": "status"}  # fmt: skip
NULLABLE = frozenset({"feature", "end_user"})
NONE_KEY = "(none)"
STATUSES = ("ok", "error")
RANGE = ("from", "to")
MAX_VALUES = 100  # values of one filter


def invalid(name: str, problem: str) -> ValidationFailed:
    """A 422 naming the query parameter, shaped like FastAPI's own (`details[].loc`)."""
    message = f"{name}: {problem}"
    return ValidationFailed(message, details=[{"loc": ["query", name], "message": problem}])


@dataclass(frozen=True)
class Slice:
    """Requests with start ≤ ts < end (either bound may be open) whose columns take one of
    the values listed for them (a filter with no values lets every value through)."""

    start: datetime | None = None  # naive UTC, as the store keeps ts
    end: datetime | None = None
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def filtered(self) -> bool:
        """Whether this is less than the whole dataset (by its terms, not its rows)."""
        return self.start is not None or self.end is not None or any(self.values.values())

    def where(self, dataset_id: str) -> tuple[str, list[Any]]:
        """SQL conditions (what follows WHERE) for the requests table, and their `?`
        parameters in order."""
        conditions, params = ["dataset_id = ?"], list[Any]([dataset_id])
        if self.start is not None:
            conditions.append("ts >= ?")
            params.append(self.start)
        if self.end is not None:
            conditions.append("ts < ?")
            params.append(self.end)
        for name, column in FILTERS.items():
            chosen = self.values.get(name, ())
            if chosen:
                condition, given = value_condition(name, column, chosen)
                conditions.append(condition)
                params += given
        return " AND ".join(conditions), params


def value_condition(name: str, column: str, chosen: Iterable[str]) -> tuple[str, list[str]]:
    """`column IN (…)` for the chosen values; NONE_KEY of a nullable column is its NULL
    (written as IS NULL, not coalesce(), so the engines can still skip blocks)."""
    values = list(dict.fromkeys(chosen))
    wants_null = name in NULLABLE and NONE_KEY in values
    if wants_null:
        values.remove(NONE_KEY)
    parts = [f"{column} IN ({', '.join('?' * len(values))})"] if values else []
    if wants_null:
        parts.append(f"{column} IS NULL")
    return "(" + " OR ".join(parts) + ")", values


def _time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid(name, f"not an ISO 8601 time (got {text[:40]!r}); "
                            "e.g. 2026-11-01 or 2026-11-01T09:30:00Z") from None  # fmt: skip
    if value.tzinfo is not None:  # a time with an offset: the same instant in UTC
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _values(name: str, given: list[str]) -> tuple[str, ...]:
    values = tuple(v for v in given if v != "")
    if len(values) > MAX_VALUES:
        raise invalid(name, f"at most {MAX_VALUES} values (got {len(values)})")
    if any(len(v) > MAX_STRING for v in values):
        raise invalid(name, f"a value is longer than {MAX_STRING} characters")
    if name == "status" and (wrong := [v for v in values if v not in STATUSES]):
        raise invalid(name, f"must be ok or error (got {wrong[0][:40]!r})")
    return values


def read_query(
    items: Iterable[tuple[str, str]], options: Iterable[str] = ()
) -> tuple[Slice, dict[str, str]]:
    """The slice a query string names, and its other parameters (`options`, each given at
    most once). Anything else in the query string is a 422, so a misspelt filter is not
    silently ignored."""
    allowed = {*FILTERS, *RANGE, *options}
    seen: dict[str, list[str]] = {}
    for name, value in items:
        if name not in allowed:
            raise invalid(name, "unknown query parameter; use " + ", ".join(sorted(allowed)))
        seen.setdefault(name, []).append(value)
    single = {}
    for name in (*RANGE, *options):
        given = seen.get(name, [])
        if len(given) > 1:
            raise invalid(name, "give it once")
        if given and given[0] != "":
            single[name] = given[0]
    start = _time("from", single.pop("from")) if "from" in single else None
    end = _time("to", single.pop("to")) if "to" in single else None
    if start is not None and end is not None and start >= end:
        raise invalid("from", "must be before to")
    values = {name: _values(name, seen.get(name, [])) for name in FILTERS}
    return Slice(start, end, {k: v for k, v in values.items() if v}), single


def whole_number(name: str, text: str | None, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]."""
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise invalid(name, f"must be a whole number (got {text[:40]!r})") from None
    if not low <= value <= high:
        raise invalid(name, f"must be between {low} and {high} (got {value})")
    return value
