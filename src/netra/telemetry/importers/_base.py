"""What every format module provides, and what the stores take from it.

An importer either streams parsed rows from Python (`read`, for formats whose rows need
mapping: nested JSON, exports of other tools) or judges the file in SQL with DuckDB's
own readers (`judge`, for plain tables where Python row-by-row would be far too slow).
Both end in the same shape, a `Judged` relation: the record's COLUMNS and a `reason`
column (NULL for a valid row). Python-read rows are staged in the connection-local
table `STAGE_TABLE` first; a SQL-judged file is read by the query that inserts it, so
its rows are written once. The stores take the valid rows, priced in bulk.

Notes for the upload report (import_report.py): an Importer's `field_notes` explain the
fields its format never carries; a reader may also yield `(line, Note(...))` among its
rows, and a mapper may return its record with notes under NOTES (see `with_notes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from netra.telemetry import pricing
from netra.telemetry.import_report import MAX_NOTES, MAX_REJECTS, Note, Reject
from netra.telemetry.importers._columns import ColumnMap
from netra.telemetry.schema import Defaults, RecordError, Row, parse_record

# (1-based line number, the validated row, the reason it was rejected, or a Note)
Parsed = tuple[int, Row | str | Note]

STAGE_TABLE = "netra_stage"
# The key under which a mapper's record carries Notes (never a record field or metadata).
NOTES = "__netra_notes__"


@dataclass
class Staged:
    """What reading a file found: its valid rows and its rejections, both counted."""

    rows: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)  # the first MAX_REJECTS, by line
    notes: list[Note] = field(default_factory=list)  # the importer's, each once
    # import_report.stats_sql counts of the valid rows, where they were staged
    stats: dict[str, int] | None = None

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_REJECTS:
            self.rejects.append(Reject(line, reason))

    def note(self, note: Note) -> None:
        if note not in self.notes and len(self.notes) < MAX_NOTES:
            self.notes.append(note)


@dataclass(frozen=True)
class Judged:
    """A file's rows as one SQL relation, each with the reason it is rejected (or NULL).

    `keys` are the price keys of its rows (a superset is fine: unused rates cost
    nothing). `settle`, called once the valid rows have been taken, with how many there
    were, returns what was rejected, counted and located.
    """

    relation: str  # FROM-able SQL: COLUMN_NAMES + reason
    keys: list[pricing.PriceKey]
    settle: Callable[[int], Staged]


Judge = Callable[[duckdb.DuckDBPyConnection, Path, Defaults], Judged]
Reader = Callable[[BinaryIO, Defaults], Iterator[Parsed]]


@dataclass(frozen=True)
class Importer:
    name: str
    sniff: Callable[[str], bool]  # does this head of a file (decoded text) look like ours?
    read: Reader | None = None  # rows parsed in Python from the open file
    judge: Judge | None = None  # or: the file judged in SQL by DuckDB's readers
    # record field -> why this format lacks it, shown when no imported row carries it
    field_notes: Mapping[str, str] = field(default_factory=dict)
    # tabular formats: which column of a file's head (decoded text) is read as which
    # field, as `read`/`judge` read them (the upload's preview shows it)
    columns: Callable[[str], ColumnMap] | None = None


class Unreadable(str):
    """The reason an item of a file could not even be read (bad bytes, bad JSON, wrong
    field count), as readers yield it in place of the item."""


class NotARecord(Exception):
    """Raised by a mapper for an item that is not an LLM request (e.g. a non-GenAI span):
    it is no data row, so neither kept nor rejected."""


Mapper = Callable[[dict[str, Any]], Mapping[str, Any]]


def with_notes(fields: Mapping[str, Any], *notes: Note) -> dict[str, Any]:
    """A mapper's record that also tells the upload report something, e.g.
    `with_notes(record, Note("end_user", "not in this export: use the v2 API export"))`."""
    return {**fields, NOTES: [*fields.get(NOTES, ()), *notes]}


def mapped(
    mapper: Mapper,
    value: Any,
    defaults: Defaults,
    *,
    infer_provider: bool = False,
    notes: list[Note] | None = None,
) -> Row | str | None:
    """One exported item through its format's mapper and the record rules: the row, the
    reason it is rejected, or None when the item is not a request at all. Notes the
    mapper gave (`with_notes`) are added to `notes`.

    With `infer_provider` (exports of tools that do not record the provider), a row
    without provider and without default_provider takes the provider the catalogue
    knows its model under.
    """
    if isinstance(value, Unreadable):
        return str(value)
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    try:
        fields = mapper(value)
        if NOTES in fields:
            fields = dict(fields)
            given = fields.pop(NOTES)
            if notes is not None:
                notes.extend(given)
        if infer_provider and defaults.provider is None and not fields.get("provider"):
            model = fields.get("model")
            fields = {**fields, "provider": pricing.provider_of(str(model)) if model else None}
        return parse_record(fields, defaults)
    except NotARecord:
        return None
    except RecordError as error:
        return str(error)


def rows_of(
    items: Iterator[tuple[int, Any]],
    mapper: Mapper,
    defaults: Defaults,
    *,
    infer_provider: bool = False,
) -> Iterator[Parsed]:
    """Parsed rows (and notes) of a stream of (line, item), items that are no request
    left out."""
    notes: list[Note] = []
    for line, value in items:
        outcome = mapped(mapper, value, defaults, infer_provider=infer_provider, notes=notes)
        if notes:
            yield from ((line, note) for note in notes)
            notes.clear()
        if outcome is not None:
            yield line, outcome
