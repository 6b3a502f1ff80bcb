"""`records-csv`: the record of TELEMETRY.md, one per CSV row; extra columns kept as
metadata. Read and judged by DuckDB's own CSV reader (see _csv_sql).

Columns may go by the names people's exports give them (`timestamp`, `prompt_tokens`,
`user_id`…: _columns), and the provider may be left out where the model tells it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from netra.telemetry.importers._base import Importer, Judged
from netra.telemetry.importers._columns import ALIASES, ColumnMap, assign, mapped_names
from netra.telemetry.importers._csv_sql import judge_csv
from netra.telemetry.importers._tabular import header_names, looks_like_json
from netra.telemetry.schema import Defaults

_USAGE = {"ts", "input_tokens", "output_tokens"}


def sniff(head: str) -> bool:
    """The record's own names, or the usual ones with a model column (without one, a
    bare trace of time and tokens is a `token-trace`)."""
    if looks_like_json(head):
        return False
    names = header_names(head)
    return {name.lower() for name in names} >= _USAGE or _USAGE | {"model"} <= mapped_names(
        names
    )


def judge(cursor: duckdb.DuckDBPyConnection, path: Path, defaults: Defaults) -> Judged:
    return judge_csv(cursor, path, defaults, ALIASES)


def columns(head: str) -> ColumnMap:
    return assign(header_names(head), ALIASES)


IMPORTER = Importer(name="records-csv", sniff=sniff, judge=judge, columns=columns)
