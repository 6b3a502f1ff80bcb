"""Parsing the model's SQL and checking the tree against the allow-lists."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokenizer_core import TokenType

from netra.analysis.query._allowlist import (
    ALLOWED_CLASSES,
    ALLOWED_NAMES,
    FORBIDDEN,
    PARAMETERS,
    TABLE,
)
from netra.analysis.query._errors import QueryRefused, first_line, only_select, unknown_column

MAX_SQL_CHARS = 10_000
_FIRST_TOKENS = {TokenType.SELECT, TokenType.WITH, TokenType.FROM, TokenType.L_PAREN}


# -- parsing ------------------------------------------------------------------------------


def _precheck(sql: str) -> None:
    """Refuse, before parsing, an over-long or empty text, a statement that does not start
    like a SELECT (naming it as written: INSERT, PRAGMA, COPY …) and a second statement."""
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(
            f"the query is longer than {MAX_SQL_CHARS} characters; write a shorter one"
        )
    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except TokenError as error:
        raise QueryRefused(f"syntax error: {first_line(str(error))}") from None
    body = [token.token_type != TokenType.SEMICOLON for token in tokens]
    if not any(body):
        raise QueryRefused(
            "the query is empty; send one SELECT statement over the table `requests`"
        )
    start = body.index(True)
    first = tokens[start]
    if first.token_type not in _FIRST_TOKENS:
        raise only_select(first.text.upper())
    end = body.index(False, start) if False in body[start:] else len(body)
    if any(body[end:]):
        raise QueryRefused("send exactly one SELECT statement (nothing after a `;`)")


def _syntax_message(error: ParseError) -> str:
    if not error.errors:
        return f"syntax error: {first_line(str(error))}"
    first = error.errors[0]
    near = (first.get("highlight") or "").strip()
    where = f" at line {first.get('line')}, column {first.get('col')}"
    # sqlglot names its node classes in some descriptions: `<class '…expressions.core.Add'>`
    what = re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", str(first.get("description")))
    return f"syntax error{where}{f' near `{near}`' if near else ''}: {what}"


def parse_query(sql: str) -> exp.Query:
    """The model's statement as a checked tree; QueryRefused says what is not allowed."""
    _precheck(sql)
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as error:
        raise QueryRefused(_syntax_message(error)) from None
    except (SqlglotError, RecursionError):
        raise QueryRefused("the query could not be parsed; write it more simply") from None
    if len(statements) != 1:
        raise QueryRefused("send exactly one SELECT statement")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise only_select(_kind(tree))
    _check(tree)
    return tree


def _kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return type(node).__name__.upper()


# -- checking -----------------------------------------------------------------------------


def _check(tree: exp.Query) -> None:
    for node in tree.walk():
        if isinstance(node, FORBIDDEN):
            raise only_select(_kind(node))
        if isinstance(node, PARAMETERS):
            raise QueryRefused("parameters ($1, ?, $name) are not supported; write values inline")
        if isinstance(node, exp.CTE | exp.Subquery) and not isinstance(
            node.this, exp.Query | exp.Values
        ):
            raise only_select(_kind(node.this))
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise QueryRefused("WITH RECURSIVE is not allowed; use plain CTEs and window functions")
        if isinstance(node, exp.CTE) and node.alias_or_name.lower() == TABLE:
            raise QueryRefused("a CTE cannot be named `requests`; give it another name")
        if isinstance(node, exp.Column) and node.name.lower() == "dataset_id":
            raise unknown_column(node.name)
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            raise QueryRefused("call functions by their plain name, as f(x): no schema or x.f()")
        if isinstance(node, exp.Table):
            _check_table(node)
        elif isinstance(node, exp.Func):
            _check_function(node)


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        return str(node.name).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else _kind(node).lower()


def _check_function(node: exp.Func) -> None:
    if type(node) in ALLOWED_CLASSES:
        return
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc) and (
        str(node.name).lower() in ALLOWED_NAMES
    ):
        return
    raise QueryRefused(
        f"function {_function_name(node)} is not allowed; use aggregate, math, string, "
        "date/time, conditional, JSON, list and window functions over `requests`"
    )


def _check_table(table: exp.Table) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise QueryRefused(
            f"table functions are not allowed (found {_function_name(table.this)}); "
            "the only table is `requests`"
        )
    if table.args.get("db") or table.args.get("catalog"):
        raise QueryRefused(
            f"write `requests`, not `{table.sql(dialect='duckdb')}`: the only table is "
            "`requests`, unqualified"
        )
    extras = [key for key, value in table.args.items() if value and key not in ("this", "alias")]
    if extras:
        raise QueryRefused(f"`{table.sql(dialect='duckdb')}` is not supported; write FROM requests")
    name = table.name.lower()
    if name != TABLE and name not in _visible_ctes(table):
        what = "reading files is not allowed" if re.search(r"[./\\:]", name) else "unknown table"
        raise QueryRefused(
            f"{what}: `{table.name}`; the only table is `requests` (and CTEs defined with WITH)"
        )


def _visible_ctes(table: exp.Table) -> set[str]:
    """CTE names a table reference can mean: those of every enclosing WITH, but inside a
    CTE only the ones defined before it (a name it cannot see would reach the catalog)."""
    names: set[str] = set()
    child: exp.Expr = table
    for parent in _ancestors(table):
        if isinstance(parent, exp.With):
            for cte in parent.expressions:
                if cte is child:
                    break
                names.add(cte.alias_or_name.lower())
        else:
            for value in parent.args.values():
                if isinstance(value, exp.With) and value is not child:
                    names.update(cte.alias_or_name.lower() for cte in value.expressions)
        child = parent
    return names


def _ancestors(node: exp.Expr) -> list[exp.Expr]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found
