"""The provider of CSV rows that name none, resolved per model, applied in SQL.

A file's rows are many and its models few: the provider is resolved once per distinct
model in Python (`pricing.provider_for`: the upload's default where the catalogue
prices the model there, else the vendor the catalogue knows the model under, else the
default as given) and applied to every row by one CASE over the model. A CASE, not a
join, keeps the reader's row order, which the line numbers of rejects rest on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from netra.telemetry import pricing
from netra.telemetry.import_report import Note
from netra.telemetry.schema import sql_literal, unrecognised_provider

# (provider as the row gives it or None, model, batch, day, rows) of the quick pass
Group = tuple[str | None, str | None, Any, date | None, int]
_LISTED = 6  # models named in the upload's note


@dataclass(frozen=True)
class Providers:
    """Model -> provider for rows without one (None: nothing names it)."""

    default: str | None = None
    by_model: dict[str, str | None] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # rows without provider, per model

    @classmethod
    def of(cls, groups: Iterable[Group], default: str | None) -> Providers:
        by_model: dict[str, str | None] = {}
        rows: dict[str, int] = {}
        for provider, model, _, _, count in groups:
            if provider is None and model is not None:
                by_model.setdefault(model, pricing.provider_for(model, default))
                rows[model] = rows.get(model, 0) + int(count)
        return cls(default, by_model, rows)

    def of_row(self, provider: str | None, model: str | None) -> str | None:
        """A row's provider: its own, else the one resolved for its model."""
        if provider is not None:
            return provider
        return self.by_model.get(model, self.default) if model is not None else self.default

    def price_keys(self, groups: Iterable[Group]) -> list[pricing.PriceKey]:
        """The price keys of the groups' rows that have one."""
        keys: list[pricing.PriceKey] = []
        for given, model, batch, day, _ in groups:
            provider = self.of_row(given, model)
            if provider is not None and model is not None and batch is not None and day:
                keys.append((provider, model, bool(batch), day))
        return keys

    def sql(self, given: str, model: str) -> str:
        """SQL of the provider of a row whose own is `given` (NULL: none) and model `model`."""
        resolved = [(m, p) for m, p in self.by_model.items() if p != self.default]
        fallback = sql_literal(self.default)
        if resolved:
            cases = " ".join(f"WHEN {sql_literal(m)} THEN {sql_literal(p)}" for m, p in resolved)
            fallback = f"CASE {model} {cases} ELSE {fallback} END"
        return f"CASE WHEN {given} IS NOT NULL THEN lower({given}) ELSE {fallback} END"

    def notes(self) -> list[Note]:
        """Which providers were inferred from the models, for how many rows."""
        inferred = {m: p for m, p in self.by_model.items() if p is not None and p != self.default}
        if not inferred:
            return []
        count = sum(self.rows[m] for m in inferred)
        ranked = sorted(inferred, key=lambda m: (-self.rows[m], m))
        named = ", ".join(f"{m} → {inferred[m]}" for m in ranked[:_LISTED])
        more = f" and {len(ranked) - _LISTED} more models" if len(ranked) > _LISTED else ""
        rows = f"{count:,} row{'s' if count != 1 else ''}"
        return [Note(None, f"provider not given: inferred from the model for {rows} "
                           f"({named}{more})")]  # fmt: skip



def unrecognised_sql(model: str) -> str:
    """schema's reason for a row whose model does not tell its provider, in SQL."""
    before, after = unrecognised_provider("\0").split("\0")
    return f"{sql_literal(before)} || {model} || {sql_literal(after)}"
