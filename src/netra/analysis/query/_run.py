"""Running the model's query and carrying its rows back as JSON."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from netra.analysis.query._errors import QueryRefused, engine_message
from netra.analysis.query._parse import parse_query
from netra.analysis.query._scope import declared_columns, scoped_sql
from netra.telemetry.store import AnalyticsStore

# Named for the public module, as before it became a package, so log settings keep matching.
log = logging.getLogger("netra.analysis.query")

MAX_TEXT_CHARS = 2_000  # a longer text cell is cut: the answer goes back into a prompt


async def run_query(
    store: AnalyticsStore,
    dataset_id: str,
    sql: str,
    *,
    max_rows: int = 200,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """Run the model's SELECT over this dataset's `requests`: `{columns, rows, row_count,
    truncated}` with JSON-safe values, at most `max_rows` rows; QueryRefused otherwise."""
    try:
        tree = parse_query(sql)
        statement = scoped_sql(tree, dataset_id, max_rows + 1)
        try:
            rows = await asyncio.wait_for(store.fetch(statement), timeout_s)
        except TimeoutError:
            raise QueryRefused(
                f"the query took longer than {timeout_s:g} s and was stopped; aggregate more, "
                "filter (e.g. on ts) or avoid joining `requests` with itself"
            ) from None
        except Exception as error:
            message = engine_message(error, sql, dataset_id)
            if message is None:
                raise
            raise QueryRefused(message) from None
    except QueryRefused as refusal:
        log.info("query refused: %s", refusal)
        raise
    truncated = len(rows) > max_rows
    rows = rows[:max_rows]
    columns = list(rows[0]) if rows else declared_columns(statement)
    return {
        "columns": columns,
        "rows": [[json_value(value) for value in row.values()] for row in rows],
        "row_count": len(rows),
        "truncated": truncated,
    }


def json_value(value: Any) -> Any:
    """A value as JSON can carry it: times as ISO text, intervals as seconds, decimals as
    floats, long text cut."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        if len(value) <= MAX_TEXT_CHARS:
            return value
        return f"{value[:MAX_TEXT_CHARS]}… ({len(value) - MAX_TEXT_CHARS} more characters)"
    if isinstance(value, Decimal):
        return json_value(float(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):  # as seconds, which ClickHouse answers for an interval
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return json_value(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_value(item) for item in value]
    return json_value(str(value))
