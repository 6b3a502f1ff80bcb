"""The SQL that runs: a checked tree scoped to one dataset's rows, its outputs named."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify

from netra.analysis.query._allowlist import QUERY_COLUMN_NAMES, QUERY_COLUMNS, TABLE
from netra.analysis.query._errors import QueryRefused
from netra.telemetry.schema import sql_literal


def scoped_sql(tree: exp.Query, dataset_id: str, limit: int) -> str:
    """DuckDB SQL for a checked tree: every `requests` is this dataset's rows and allowed
    columns; outputs get stable, distinct names; at most `limit` rows come back."""
    tree = tree.copy()
    own_rows = sqlglot.parse_one(
        f"SELECT {', '.join(QUERY_COLUMN_NAMES)} FROM {TABLE} "
        f"WHERE dataset_id = {sql_literal(dataset_id)}",
        read="duckdb",
    )
    for table in list(tree.find_all(exp.Table)):
        if table.name.lower() != TABLE:
            continue
        alias = table.args.get("alias")
        alias = alias.copy() if alias is not None else exp.TableAlias(this=exp.to_identifier(TABLE))
        table.replace(exp.Subquery(this=own_rows.copy(), alias=alias))
    _name_outputs(tree)
    capped = exp.select("*").from_(exp.Subquery(this=tree, alias=exp.TableAlias(
        this=exp.to_identifier("result")))).limit(limit)  # fmt: skip
    try:
        return capped.sql(dialect="duckdb", comments=False)
    except RecursionError:
        raise QueryRefused("the query is nested too deeply; write it more simply") from None


def _outputs(tree: exp.Expr) -> exp.Select | None:
    """The SELECT whose list names the result (of a UNION: its first)."""
    while isinstance(tree, exp.Subquery | exp.SetOperation):
        tree = tree.this
    return tree if isinstance(tree, exp.Select) else None


def _name_outputs(tree: exp.Query) -> None:
    """Name every computed output after its text and make names distinct, so both stores
    answer with the same column names (ClickHouse would say `_col_1`) and none is lost."""
    select = _outputs(tree)
    if select is None:
        return
    seen: set[str] = set()
    named = []
    for expression in select.expressions:
        if isinstance(expression, exp.Star) or expression.output_name == "*":
            named.append(expression)
            continue
        # only an alias or a plain column names itself alike on both stores
        name = expression.output_name if isinstance(expression, exp.Alias | exp.Column) else ""
        if not name:
            name = expression.sql(dialect="duckdb", comments=False, normalize_functions="lower")
            # `CURRENT_DATE AS "current_date"` would read as a reference to its own alias
            name = f"{name}()" if isinstance(expression, exp.Func) and name.isidentifier() else name
            name = name[:60]
        unique, n = name, 0
        while unique.lower() in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique.lower())
        keep = unique == expression.output_name
        named.append(expression if keep else exp.alias_(expression.unalias(), unique, quoted=True))
    select.set("expressions", named)


def declared_columns(sql: str) -> list[str]:
    """The result's column names without running it (for an answer of no rows)."""
    try:
        tree = qualify(
            sqlglot.parse_one(sql, read="duckdb"),
            dialect="duckdb",
            schema={TABLE: {"dataset_id": "VARCHAR", **dict(QUERY_COLUMNS)}},
            validate_qualify_columns=False,
        )
    except (SqlglotError, RecursionError):
        return []
    return list(tree.named_selects) if isinstance(tree, exp.Query) else []
