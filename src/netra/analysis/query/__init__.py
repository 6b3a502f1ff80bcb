"""`query(sql)` for a language model: one read-only SELECT over the caller's own dataset.

The model sees ONE table, `requests`, with the record's columns and the computed
`cost_usd`. Its SQL is hostile input, so nothing of it runs as written: sqlglot parses it
(DuckDB dialect), the tree is checked against allowlists (statement kind, tables,
functions), every `requests` becomes a subquery of this dataset's rows and allowed
columns only, and the SQL that runs is generated from the checked tree. `dataset_id`
(all datasets share one physical table) is never visible to the model, never settable.

Every refusal is a `QueryRefused` whose message tells the model what to change; an
engine error becomes one too, trimmed to its first lines, without our dataset's id and,
for errors that quote data values, without values the model did not write itself.
"""

from __future__ import annotations

from netra.analysis.query._allowlist import QUERY_COLUMN_NAMES, QUERY_COLUMNS
from netra.analysis.query._allowlist import TABLE as TABLE
from netra.analysis.query._errors import MAX_MESSAGE_CHARS as MAX_MESSAGE_CHARS
from netra.analysis.query._errors import QueryRefused
from netra.analysis.query._parse import MAX_SQL_CHARS as MAX_SQL_CHARS
from netra.analysis.query._parse import parse_query
from netra.analysis.query._run import MAX_TEXT_CHARS as MAX_TEXT_CHARS
from netra.analysis.query._run import json_value, run_query
from netra.analysis.query._scope import scoped_sql

__all__ = [
    "QUERY_COLUMNS",
    "QUERY_COLUMN_NAMES",
    "QueryRefused",
    "json_value",
    "parse_query",
    "run_query",
    "scoped_sql",
]
