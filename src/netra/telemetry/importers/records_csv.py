"""`records-csv`: the record of TELEMETRY.md, one per CSV row; extra columns kept as
metadata. Read and judged by DuckDB's own CSV reader (see _csv_sql)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from netra.telemetry.importers._base import Importer, Judged
from netra.telemetry.importers._csv_sql import judge_csv
from netra.telemetry.importers._tabular import header_names, looks_like_json
from netra.telemetry.schema import Defaults


def sniff(head: str) -> bool:
    names = {name.lower() for name in header_names(head)}
    return not looks_like_json(head) and {"ts", "input_tokens", "output_tokens"} <= names


def judge(cursor: duckdb.DuckDBPyConnection, path: Path, defaults: Defaults) -> Judged:
    return judge_csv(cursor, path, defaults, {})


IMPORTER = Importer(name="records-csv", sniff=sniff, judge=judge)
