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

import asyncio
import logging
import math
import re
import sys
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.qualify import qualify
from sqlglot.tokenizer_core import TokenType

from netra.telemetry.schema import COLUMNS
from netra.telemetry.store import AnalyticsStore, sql_literal

log = logging.getLogger(__name__)

TABLE = "requests"
# What the model may read: the record's columns and our computed cost (never dataset_id).
QUERY_COLUMNS: tuple[tuple[str, str], ...] = (*COLUMNS, ("cost_usd", "DOUBLE"))
QUERY_COLUMN_NAMES = tuple(name for name, _ in QUERY_COLUMNS)
MAX_SQL_CHARS = 10_000
MAX_TEXT_CHARS = 2_000  # a longer text cell is cut: the answer goes back into a prompt
MAX_MESSAGE_CHARS = 600
_FIRST_TOKENS = {TokenType.SELECT, TokenType.WITH, TokenType.FROM, TokenType.L_PAREN}


class QueryRefused(ValueError):
    """The query was not run, or failed; the message says why, written for the model."""


# -- what the model may call ------------------------------------------------------------
# An allowlist: a function sqlglot does not know, or one added to DuckDB tomorrow, is
# refused until someone decides it is safe. Nothing here reads files, the network,
# settings, the catalog or other databases, or changes any state; functions that can
# build huge values from a small input (repeat, lpad/rpad, printf/format, range,
# generate_series, unnest) are left out, as is anything that names another function by
# string (list_aggregate). Known functions are matched by sqlglot's class (whatever the
# spelling: len/length, strftime, max_by/arg_max); the rest by DuckDB name.
_AGGREGATES = (
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Median, exp.PercentileCont,
    exp.PercentileDisc, exp.Quantile, exp.ApproxQuantile, exp.ApproxDistinct, exp.Stddev,
    exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop, exp.Corr, exp.CovarPop,
    exp.CovarSamp, exp.RegrSlope, exp.Mode, exp.ArgMax, exp.ArgMin, exp.First, exp.Last,
    exp.AnyValue, exp.LogicalAnd, exp.LogicalOr, exp.CountIf, exp.GroupConcat, exp.ArrayAgg,
    exp.Kurtosis, exp.Skewness,
)  # fmt: skip
_MATH = (
    exp.Abs, exp.Ceil, exp.Floor, exp.Round, exp.Trunc, exp.Sqrt, exp.Cbrt, exp.Pow,
    exp.Exp, exp.Ln, exp.Log, exp.Sign, exp.Greatest, exp.Least, exp.IsNan, exp.IsInf,
    exp.Pi,
)  # fmt: skip
_STRINGS = (
    exp.Lower, exp.Upper, exp.Initcap, exp.Length, exp.Substring, exp.Left, exp.Right,
    exp.Trim, exp.Replace, exp.Translate, exp.Concat, exp.ConcatWs, exp.SplitPart,
    exp.Split, exp.StartsWith, exp.EndsWith, exp.Contains, exp.StrPosition, exp.RegexpLike,
    exp.RegexpExtract, exp.RegexpExtractAll, exp.RegexpReplace, exp.RegexpFullMatch,
    exp.RegexpSplit, exp.Reverse, exp.MD5, exp.Levenshtein, exp.JarowinklerSimilarity,
)  # fmt: skip
_DATES = (
    exp.CurrentDate, exp.CurrentTime, exp.CurrentTimestamp, exp.Localtimestamp, exp.DateTrunc,
    exp.TimestampTrunc, exp.DateBin, exp.Extract, exp.DateDiff, exp.DateAdd, exp.DateSub,
    exp.TimeToStr, exp.StrToTime, exp.TimeToUnix, exp.UnixToTime, exp.DateFromParts,
    exp.TimestampFromParts, exp.Date, exp.Year, exp.Quarter, exp.Month, exp.Week,
    exp.WeekOfYear, exp.Day, exp.DayOfMonth, exp.DayOfWeek, exp.DayOfWeekIso, exp.DayOfYear,
    exp.Dayname, exp.Monthname, exp.Hour, exp.Minute, exp.Second, exp.LastDay, exp.ToDays,
)  # fmt: skip
# AND/OR/EXISTS (functions to sqlglot); CASE/IF, casts, NULL handling; the metadata column
# is JSON text; list/struct basics (for string_split results and the like); COLUMNS(...)
# (a star over the query's own columns); window functions.
_OTHERS = (
    exp.And, exp.Or, exp.Xor, exp.Exists, exp.Collate, exp.Grouping, exp.Columns,
    exp.Case, exp.If, exp.Coalesce, exp.Nullif, exp.Cast, exp.TryCast, exp.Typeof,
    exp.JSONExtract, exp.JSONExtractScalar, exp.JSONKeys, exp.JSONType,
    exp.Array, exp.Struct, exp.ArraySize, exp.ArrayContains, exp.ArrayPosition,
    exp.ArraySort, exp.ArrayDistinct, exp.ArraySlice, exp.ArrayToString, exp.ArrayMax,
    exp.ArrayMin, exp.ArrayFilter, exp.Transform, exp.ArrayContainsAll, exp.ArrayOverlaps,
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile,
    exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue,
)  # fmt: skip
_ALLOWED_CLASSES: frozenset[type[exp.Expr]] = frozenset(
    (*_AGGREGATES, *_MATH, *_STRINGS, *_DATES, *_OTHERS)
)
# DuckDB functions sqlglot parses by name only (same groups as above).
_ALLOWED_NAMES = frozenset({
    "mean", "entropy", "product", "fsum", "geomean", "arbitrary", "histogram",
    "isfinite", "round_even",
    "strlen", "prefix", "suffix", "regexp_split_to_array",
    "now", "date_part", "datepart", "date_sub", "age", "isoyear", "weekday",
    "millisecond", "microsecond", "epoch_us", "try_strptime", "to_years", "to_months",
    "to_weeks", "to_hours", "to_minutes", "to_seconds", "to_milliseconds", "to_microseconds",
    "json_valid", "json_array_length",
    "list_extract", "list_position", "list_sum", "list_avg", "list_count", "list_unique",
})  # fmt: skip

# Statements and clauses that write, configure or reach outside: refused wherever they
# appear (a data-modifying CTE, SELECT … INTO, FOR UPDATE).
_FORBIDDEN: tuple[type[exp.Expr], ...] = (
    exp.DML, exp.DDL, exp.Command, exp.Set, exp.Pragma, exp.Copy, exp.Attach, exp.Detach,
    exp.Use, exp.Transaction, exp.Commit, exp.Rollback, exp.Describe, exp.Show,
    exp.Summarize, exp.Install, exp.Into, exp.Lock,
)  # fmt: skip
_PARAMETERS = (exp.Placeholder, exp.Parameter, exp.SessionParameter)


def _only_select(found: str) -> QueryRefused:
    return QueryRefused(
        f"only SELECT statements over the table `requests` are allowed; found {found}"
    )


def _unknown_column(name: str) -> QueryRefused:
    if name.lower() in QUERY_COLUMN_NAMES:
        return QueryRefused(
            f"column `{name}` is not there where it is used: it is a column of `requests`, "
            "not of the subquery, CTE or alias it is read from"
        )
    return QueryRefused(f"unknown column `{name}` — columns: {', '.join(QUERY_COLUMN_NAMES)}")


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
        raise QueryRefused(f"syntax error: {_first_line(str(error))}") from None
    body = [token.token_type != TokenType.SEMICOLON for token in tokens]
    if not any(body):
        raise QueryRefused(
            "the query is empty; send one SELECT statement over the table `requests`"
        )
    start = body.index(True)
    first = tokens[start]
    if first.token_type not in _FIRST_TOKENS:
        raise _only_select(first.text.upper())
    end = body.index(False, start) if False in body[start:] else len(body)
    if any(body[end:]):
        raise QueryRefused("send exactly one SELECT statement (nothing after a `;`)")


def _syntax_message(error: ParseError) -> str:
    if not error.errors:
        return f"syntax error: {_first_line(str(error))}"
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
        raise _only_select(_kind(tree))
    _check(tree)
    return tree


def _kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return type(node).__name__.upper()


# -- checking -----------------------------------------------------------------------------


def _check(tree: exp.Query) -> None:
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            raise _only_select(_kind(node))
        if isinstance(node, _PARAMETERS):
            raise QueryRefused("parameters ($1, ?, $name) are not supported; write values inline")
        if isinstance(node, exp.CTE | exp.Subquery) and not isinstance(
            node.this, exp.Query | exp.Values
        ):
            raise _only_select(_kind(node.this))
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise QueryRefused("WITH RECURSIVE is not allowed; use plain CTEs and window functions")
        if isinstance(node, exp.CTE) and node.alias_or_name.lower() == TABLE:
            raise QueryRefused("a CTE cannot be named `requests`; give it another name")
        if isinstance(node, exp.Column) and node.name.lower() == "dataset_id":
            raise _unknown_column(node.name)
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
    if type(node) in _ALLOWED_CLASSES:
        return
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc) and (
        str(node.name).lower() in _ALLOWED_NAMES
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


# -- what runs ----------------------------------------------------------------------------


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


def _declared_columns(sql: str) -> list[str]:
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


# -- running --------------------------------------------------------------------------------


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
            message = _engine_message(error, sql, dataset_id)
            if message is None:
                raise
            raise QueryRefused(message) from None
    except QueryRefused as refusal:
        log.info("query refused: %s", refusal)
        raise
    truncated = len(rows) > max_rows
    rows = rows[:max_rows]
    columns = list(rows[0]) if rows else _declared_columns(statement)
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


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _engine_message(error: Exception, sql: str, dataset_id: str) -> str | None:
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
        message = f"this query cannot run on the ClickHouse store: {_first_line(text)}"
    else:
        return None
    for pattern in _UNKNOWN_COLUMN:
        if found := pattern.search(message):
            return str(_unknown_column(found.group(1).rsplit(".", 1)[-1]))
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


__all__ = [
    "QUERY_COLUMNS",
    "QUERY_COLUMN_NAMES",
    "QueryRefused",
    "json_value",
    "parse_query",
    "run_query",
    "scoped_sql",
]
