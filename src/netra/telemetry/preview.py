"""The upload's preview: how the head of a file would be imported, before it is.

One implementation of each step, the upload's own: the format is detected by the same
sniffers (`importers.format_of`), the columns are mapped by the importer's `columns`
(`_columns.assign`, which its reader uses), and the rows go through `staging.import_file`
with pricing, judged by the same rules. Only the destination differs: a throwaway
in-memory DuckDB table named like the store's, so the import report's own queries
(`stats_sql`, `UNPRICED`) run on it unchanged. Nothing is stored.

A head cut from a longer file ends mid-record: it is cut back to its last whole line,
and a parse error of a record the cut broke is not reported as the file's.
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb

from netra.db.base import isoformat_z
from netra.errors import ValidationFailed
from netra.telemetry import import_report, staging
from netra.telemetry.import_report import ImportReport, Reject
from netra.telemetry.importers import HEAD_BYTES, choose_importer, format_of, head_text
from netra.telemetry.importers._columns import Column
from netra.telemetry.schema import Defaults

PREVIEW_BYTES = HEAD_BYTES  # what the page sends of a file: what a sniffer sees
SAMPLE_ROWS = 5
_DATASET = "preview"
_READ = "netra_preview_read"  # the valid rows as read, numbered
# DuckDB for a few hundred rows: one thread and little memory, whatever the machine has.
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "threads": 1, "memory_limit": "256MB", "preserve_insertion_order": True}


@dataclass
class Preview:
    format: str
    columns: list[Column] | None  # None: the format maps its own fields (no header)
    sample: list[dict[str, Any]]  # the first rows as they would be stored, cost included
    rows: int  # of the head: kept
    rejected: int  # and rejected, the first of them in `rejects`
    rejects: list[Reject]
    report: ImportReport  # what the kept rows of the head carry, and notes
    truncated: bool  # the head of a longer file


def cut_to_whole_lines(path: Path) -> None:
    """Drop the partial line a head cut from a longer file ends with (a file of one line,
    e.g. a JSON document, is kept whole: its reader stops where the cut broke it)."""
    data = path.read_bytes()
    end = data.rfind(b"\n")
    if end >= 0:
        path.write_bytes(data[: end + 1])


def preview(path: Path, fmt: str, defaults: Defaults, *, truncated: bool) -> Preview:
    """How the file at `path` (a whole file, or with `truncated` its head) would be
    imported as `fmt` (`auto`: detected); ValidationFailed when it cannot be."""
    with path.open("rb") as file:
        head = head_text(file.read(PREVIEW_BYTES))
    if fmt == "auto":
        fmt = format_of(head)
    importer = choose_importer(path, fmt)
    with closing(duckdb.connect(":memory:", config=_CONFIG)) as cursor:
        try:
            staged = staging.import_file(cursor, importer, path, defaults,
                                         lambda source, keys: _keep(cursor, source, keys))
            sample = _sample(cursor)
            stats = staging.stats(cursor, "requests")
            unpriced = cursor.execute(import_report.UNPRICED, [_DATASET]).fetchall()
        except duckdb.Error as error:
            raise ValidationFailed(
                f"the file could not be read as {importer.name}: check the format, and that "
                "it is the export itself (a header line, then one record per line)",
            ) from error
    rejects, rejected = staged.rejects, staged.rejected
    if truncated and rejects and rejects[-1].reason.startswith(import_report.STRUCTURAL):
        rejects, rejected = rejects[:-1], rejected - 1  # the record the cut broke
    return Preview(
        format=importer.name,
        columns=list(importer.columns(head).columns) if importer.columns else None,
        sample=sample,
        rows=staged.rows,
        rejected=rejected,
        rejects=rejects,
        report=import_report.build(stats, staged.notes, importer.field_notes, unpriced),
        truncated=truncated,
    )


def _keep(cursor: duckdb.DuckDBPyConnection, source: str, keys: Any) -> int:
    """The importer's insert: the valid rows, priced, into a table shaped like the store's
    (plus their order in the file: one thread reads them in it, the pricing join not)."""
    cursor.execute(f"CREATE TEMP TABLE {_READ} AS "
                   f"SELECT *, row_number() OVER () AS ordinal FROM {source} AS s")  # fmt: skip
    select, params = staging.priced_select(cursor, _READ, keys, carry=("ordinal",))
    cursor.execute(f"CREATE TEMP TABLE requests AS SELECT ? AS dataset_id, * FROM ({select})",
                   [_DATASET, *params])  # fmt: skip
    counted = cursor.execute("SELECT count(*) FROM requests").fetchone()
    return int(counted[0]) if counted else 0


def _sample(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The first rows kept, in file order, as JSON values."""
    cursor.execute(
        "SELECT * EXCLUDE (dataset_id, ordinal) FROM requests "
        f"ORDER BY ordinal LIMIT {SAMPLE_ROWS}"
    )
    names = [column[0] for column in cursor.description or []]
    return [_json_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("ts") is not None:
        row["ts"] = isoformat_z(row["ts"].replace(tzinfo=UTC))  # stored naive, in UTC
    if row.get("metadata"):
        row["metadata"] = json.loads(row["metadata"])
    return row
