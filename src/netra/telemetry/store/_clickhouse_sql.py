"""DuckDB SQL on ClickHouse.

The analyses are written once, in DuckDB SQL. `translate` reads a statement as DuckDB
resolves it (sqlglot's `qualify`), applies the rewrites that keep the numbers DuckDB's
(`_clickhouse_rewrites`) and splits the ClickHouse SQL around its `?` parameters, which
`Statement.bind` fills with ClickHouse literals; `rows_of` hands the answer back as
DuckDB's Python API would.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.tokenizer_core import TokenType
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "NETRA_ANALYTICS_URL needs the ClickHouse extras: pip install 'netra-apex[clickhouse]' "
        "(server) or 'netra-apex[chdb]' (embedded)"
    ) from error

from netra.telemetry.schema import COLUMNS
from netra.telemetry.store._clickhouse_client import TABLE, literal
from netra.telemetry.store._clickhouse_rewrites import apply_rewrites


class UnsupportedSQL(ValueError):
    """A DuckDB statement the ClickHouse store cannot translate."""


_MARK = "__netra_p{}__"
_MARKED = re.compile(r"__netra_p(\d+)__")


@dataclass(frozen=True)
class Statement:
    """A translated statement: ClickHouse SQL split around its parameters."""

    parts: tuple[str, ...]  # len(slots) + 1 pieces of SQL text
    slots: tuple[int, ...]  # which `?` of the DuckDB statement goes after each part
    parameters: int  # how many `?` the DuckDB statement has
    sql: str  # the ClickHouse SQL, parameters shown as markers (for errors and logs)

    def bind(self, params: Sequence[Any]) -> str:
        if len(params) != self.parameters:
            raise ValueError(
                f"the statement has {self.parameters} parameter(s) but {len(params)} were given"
            )
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces += [literal(params[slot]), part]
        return "".join(pieces)


def _mark_parameters(sql: str) -> tuple[str, int]:
    """Replace each `?` (outside strings and comments) with a numbered marker name."""
    pieces, last, count = [], 0, 0
    for token in sqlglot.tokenize(sql, read="duckdb"):
        # `?::TYPE` is one token (QDCOLON) to the tokenizer; its first character is ours.
        if token.token_type in (TokenType.PLACEHOLDER, TokenType.QDCOLON):
            pieces += [sql[last : token.start], _MARK.format(count)]
            last = token.start + 1
            count += 1
    pieces.append(sql[last:])
    return "".join(pieces), count


# The requests table in DuckDB's types, so `*` and `p.*` expand to named columns.
_SCHEMA: dict[str, object] = {
    TABLE: {"dataset_id": "VARCHAR", **dict(COLUMNS), "cost_usd": "DOUBLE"}
}


def _parse(marked: str) -> exp.Expr:
    """Parse DuckDB SQL with every column qualified by its table, every `*` expanded and
    every output named, as DuckDB resolves them: ClickHouse would otherwise read a name
    as an output alias where DuckDB reads the column (`sum(cost_usd) AS cost_usd, …
    sum(cost_usd) * 2`), and call a joined column `p.feature` where DuckDB says `feature`."""
    return qualify(
        sqlglot.parse_one(marked, read="duckdb"),
        dialect="duckdb",
        schema=_SCHEMA,
        quote_identifiers=False,
        identify=False,
        validate_qualify_columns=False,
    )


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> Statement:
    """ClickHouse SQL for a DuckDB statement with `?` parameters (cached per text)."""
    marked, count = _mark_parameters(sql)
    try:
        tree = _parse(marked)
        tree = apply_rewrites(tree)
        target = tree.sql(dialect="clickhouse")
    except SqlglotError as error:
        raise UnsupportedSQL(f"cannot translate this DuckDB SQL to ClickHouse: {error}") from None
    pieces = _MARKED.split(target)
    slots = tuple(int(slot) for slot in pieces[1::2])
    if set(slots) != set(range(count)):
        raise UnsupportedSQL(f"parameters were lost translating to ClickHouse: {target}")
    return Statement(tuple(pieces[::2]), slots, count, target)


def _naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps as DuckDB returns them: naive, in UTC."""
    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            naive = table.column(index).cast(pa.timestamp(column.type.unit))
            table = table.set_column(index, column.name, naive)
    return table


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as DuckDB's Python API gives them: naive UTC timestamps, maps as dicts."""
    rows: list[dict[str, Any]] = _naive_utc(table).to_pylist()
    maps = [f.name for f in table.schema if pa.types.is_map(f.type)]
    for row in rows:
        for name in maps:
            if row[name] is not None:
                row[name] = dict(row[name])
    return rows
