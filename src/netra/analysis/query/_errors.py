"""Refusals, and an engine's errors turned into messages the model can act on."""

from __future__ import annotations

import re
import sys

import duckdb

from netra.analysis.query._allowlist import QUERY_COLUMN_NAMES

MAX_MESSAGE_CHARS = 600


class QueryRefused(ValueError):
    """The query was not run, or failed; the message says why, written for the model."""


def only_select(found: str) -> QueryRefused:
    return QueryRefused(
        f"only SELECT statements over the table `requests` are allowed; found {found}"
    )


def unknown_column(name: str) -> QueryRefused:
    if name.lower() in QUERY_COLUMN_NAMES:
        return QueryRefused(
            f"column `{name}` is not there where it is used: it is a column of `requests`, "
            "not of the subquery, CTE or alias it is read from"
        )
    return QueryRefused(f"unknown column `{name}` — columns: {', '.join(QUERY_COLUMN_NAMES)}")


# -- engine errors, as the model can act on them ------------------------------------------

_UNKNOWN_COLUMN = (
    re.compile(r'Referenced column "([^"]+)" not found'),
    re.compile(r'does not have a column named "([^"]+)"'),
    re.compile(r"Unknown expression (?:or function )?identifier `([^`]+)`"),
    re.compile(r"Missing columns: '([^']+)'"),
)
# DuckDB errors that quote values (a conversion, a parse): quotes the model did not write
# are redacted, however unlikely it is that a value of another dataset reaches one.
_VALUE_ERRORS = (duckdb.ConversionException, duckdb.InvalidInputException,
                 duckdb.OutOfRangeException)  # fmt: skip
# ClickHouse: `Code: 47. DB::Exception: <message>[: In scope <SQL>] (ERROR_NAME) (version …)`
_CLICKHOUSE = re.compile(r"DB::Exception: (.*?)(?: \([A-Z][A-Z_0-9]+\)|$)", re.S)
_CLICKHOUSE_CONTEXT = re.compile(r"[.:]?\s+(?:in scope|while processing)\b", re.I)


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def engine_message(error: Exception, sql: str, dataset_id: str) -> str | None:
    """What to tell the model of an engine's error; None for errors that are not the
    query's (they propagate as themselves)."""
    text = str(error)
    if isinstance(error, duckdb.InterruptException) or "TIMEOUT_EXCEEDED" in text:
        return "the query took too long and was stopped; aggregate more or filter"
    if isinstance(error, duckdb.Error):
        message = re.split(r"\n\s*LINE \d+:", text, maxsplit=1)[0]
        if isinstance(error, _VALUE_ERRORS):
            message = _redacted(message, sql)
    elif "DB::Exception" in text:
        found = _CLICKHOUSE.search(text)
        message = _CLICKHOUSE_CONTEXT.split(found.group(1) if found else text, maxsplit=1)[0]
        message = _redacted(message, sql)
    elif _is_translation_error(error):
        message = f"this query cannot run on the ClickHouse store: {first_line(text)}"
    else:
        return None
    for pattern in _UNKNOWN_COLUMN:
        if found := pattern.search(message):
            return str(unknown_column(found.group(1).rsplit(".", 1)[-1]))
    message = " ".join(message.replace(dataset_id, "<dataset>").split())
    return message[:MAX_MESSAGE_CHARS]


def _redacted(message: str, sql: str) -> str:
    """Quoted text the model did not write itself is data: shown as '…'."""
    lowered = sql.lower()

    def keep(found: re.Match[str]) -> str:
        quoted = found.group(2)
        return found.group(0) if quoted.lower() in lowered else f"{found.group(1)}…{found.group(1)}"

    return re.sub(r"(['\"])(.*?)\1", keep, message)


def _is_translation_error(error: Exception) -> bool:
    # Looked up, not imported: the embedded default never loads the ClickHouse store.
    module = sys.modules.get("netra.telemetry.store.clickhouse_store")
    return module is not None and isinstance(error, module.UnsupportedSQL)
