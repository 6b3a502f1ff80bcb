"""The rewrites that keep ClickHouse's answers DuckDB's, to the last bit where it shows.

Exact quantiles weighed as DuckDB weighs them, rounding half away from zero, microsecond
timestamps, epoch seconds, intervals, NULL from lag/lead past the partition, booleans,
histograms, hashes, named tuples, ordered lists, list slices and strftime codes. Each
rewrite takes one node of a parsed DuckDB statement and answers it, or what stands for it
in ClickHouse; `apply_rewrites` runs them all over a statement.
"""

from __future__ import annotations

import functools
import re

import sqlglot
from sqlglot import exp

from netra.telemetry.store.interpolation import interpolated


@functools.lru_cache(maxsize=64)
def _template(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="clickhouse")


def _clickhouse(template: str, **parts: exp.Expr) -> exp.Expr:
    """A ClickHouse expression from SQL text whose columns `_name_` stand for `parts`."""

    def fill(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name.startswith("_"):
            return parts[node.name.strip("_")].copy()
        return node

    return _template(template).copy().transform(fill)


def _with_filter(
    node: exp.Expr, kinds: tuple[type[exp.Expr], ...]
) -> tuple[exp.Expr, exp.Expr | None] | None:
    """An aggregate of one of `kinds`, bare or under its FILTER: (the aggregate, the
    FILTER's condition or None). None for anything else, and for a bare one under a
    FILTER: that is rewritten with its FILTER, when the walk reaches the FILTER."""
    if isinstance(node, exp.Filter) and isinstance(node.this, kinds):
        return node.this, node.expression.this  # the Where's condition
    if not isinstance(node, kinds) or isinstance(node.parent, exp.Filter):
        return None
    return node, None


def _sorted_values(parts: dict[str, exp.Expr], condition: exp.Expr | None) -> str:
    """`arraySort` of the values `_x_` (those meeting the condition, added to `parts` as
    `_c_`)."""
    if condition is None:
        return "arraySort(groupArray(_x_))"
    parts["c"] = condition
    return "arraySort(groupArrayIf(_x_, _c_))"


def _exact_quantile(node: exp.Expr) -> exp.Expr:
    """DuckDB's quantile_cont and median interpolate between exact values (type R-7):
    between the sorted values lo and hi at positions floor and ceil of q·(n − 1), as
    fma(lo, 1 − f, hi·f). ClickHouse's `quantile` samples, and its exact R-7 one,
    quantileExactInclusive, weighs lo + (hi − lo)·f: a different last bit, enough to
    round a p95 the other way. So one fraction is weighed here from the sorted values
    (with its FILTER) by `interpolated`: both stores must give the same numbers, though
    sorting costs more than quantileExactInclusive's selection. A list of fractions
    still goes to quantilesExactInclusive, whose answer is a list as in DuckDB."""
    found = _with_filter(node, (exp.PercentileCont, exp.Median))
    if found is None:
        return node
    aggregate, condition = found
    value = aggregate.this
    fraction = (aggregate.expression if isinstance(aggregate, exp.PercentileCont)
                else exp.Literal.number("0.5"))
    if isinstance(fraction, exp.Array):
        return _exact_quantiles(value, fraction, condition)
    parts = {"x": value, "q": fraction}
    values = _sorted_values(parts, condition)
    # lambdas give local names (ClickHouse has no others): `ordered` for the sorted
    # values, then the two neighbours and the weight
    rn = "(_q_ * (length(ordered) - 1))"
    weighed = (f"arrayMap((lo_value, hi_value, weight) -> "
               f"{interpolated('lo_value', 'hi_value', 'weight')}, "
               f"[ordered[toUInt64(floor({rn})) + 1]], [ordered[toUInt64(ceil({rn})) + 1]], "
               f"[{rn} - floor({rn})])[1]")
    return _clickhouse(
        f"arrayMap(ordered -> if(length(ordered) = 0, NULL, {weighed}), [{values}])[1]",
        **parts,
    )


def _exact_quantiles(value: exp.Expr, fractions: exp.Array, condition: exp.Expr | None) -> exp.Expr:
    """quantilesExactInclusive, with NULLs where DuckDB answers NULL. Of no values, DuckDB's
    list is NULL, and ClickHouse's a list of nan, which compares and computes otherwise
    (`nan * 2` is nan, not NULL). A ClickHouse array cannot be NULL, so its elements are:
    `list[1]`, which is how a list of quantiles is read, is NULL on both stores."""
    exact: exp.Expr = exp.ParameterizedAgg(this=exp.var("quantilesExactInclusive"),
                                           expressions=list(fractions.expressions),
                                           params=[value])
    count: exp.Expr = exp.Count(this=value.copy())
    if condition is not None:
        exact = exp.Filter(this=exact, expression=exp.Where(this=condition))
        count = exp.Filter(this=count, expression=exp.Where(this=condition.copy()))
    return _clickhouse(
        "arrayMap((values, n) -> arrayMap(v -> if(n = 0, NULL, v), values), [_l_], [_n_])[1]",
        l=exact, n=count,
    )


def _discrete_quantile(node: exp.Expr) -> exp.Expr:
    """DuckDB's quantile_disc is the SQL standard's: the value at 1-based position
    max(1, n - floor(n - q·n)) of the sorted values. No ClickHouse quantile picks the
    same element for every n, so sort the values and take that one (with its FILTER)."""
    found = _with_filter(node, (exp.PercentileDisc,))
    if found is None:
        return node
    aggregate, condition = found
    parts = {"x": aggregate.this, "q": aggregate.expression}
    values = _sorted_values(parts, condition)
    count = "count(_x_)" if condition is None else "countIf(_x_, _c_)"
    return _clickhouse(
        f"if({count} = 0, NULL, arrayElement({values}, "
        f"toUInt64(greatest(1, {count} - floor({count} - _q_ * {count})))))",
        **parts,
    )


def _microseconds(node: exp.Expr) -> exp.Expr:
    """DuckDB's TIMESTAMP keeps microseconds; ClickHouse's DateTime keeps seconds."""
    if isinstance(node, exp.DataType) and node.this in (
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.DATETIME,
    ):
        # Built bare (not parsed as ClickHouse) so it is Nullable like every other type.
        return exp.DataType(
            this=exp.DataType.Type.DATETIME64,
            expressions=[exp.DataTypeParam(this=exp.Literal.number(6))],
        )
    return node


def _epoch_seconds(node: exp.Expr) -> exp.Expr:
    """DuckDB's epoch(): seconds of an interval (a timestamp difference) or since 1970, with
    microseconds. ClickHouse has neither a TIMESTAMP - TIMESTAMP interval nor epoch()."""
    if not isinstance(node, exp.TimeToUnix):
        return node
    if isinstance(node.this, exp.Sub):
        return _clickhouse(
            "(dateDiff('microsecond', _b_, _a_) / 1e6)", a=node.this.this, b=node.this.expression
        )
    return _clickhouse("(toUnixTimestamp64Micro(toDateTime64(_t_, 6)) / 1e6)", t=node.this)


# DuckDB's interval constructors to_days(n), to_hours(n), …: ClickHouse's toIntervalDay(n)…
_INTERVALS = {
    "to_weeks": "toIntervalWeek",
    "to_days": "toIntervalDay",
    "to_hours": "toIntervalHour",
    "to_minutes": "toIntervalMinute",
    "to_seconds": "toIntervalSecond",
    "to_milliseconds": "toIntervalMillisecond",
    "to_microseconds": "toIntervalMicrosecond",
}


def _intervals(node: exp.Expr) -> exp.Expr:
    """to_days(n) is an INTERVAL of n days (sqlglot would make it a day number)."""
    if isinstance(node, exp.ToDays):
        return exp.Anonymous(this="toIntervalDay", expressions=[node.this])
    if isinstance(node, exp.Anonymous) and node.name.lower() in _INTERVALS:
        return exp.Anonymous(this=_INTERVALS[node.name.lower()], expressions=node.expressions)
    return node


def _interval_arithmetic(node: exp.Expr) -> exp.Expr:
    """DATE ± INTERVAL is a TIMESTAMP in DuckDB, a Date in ClickHouse."""
    if isinstance(node, exp.Add | exp.Sub) and any(
        isinstance(side, exp.Interval)
        or (isinstance(side, exp.Anonymous) and side.name.startswith("toInterval"))
        for side in (node.this, node.expression)
    ):
        return exp.Anonymous(this="toDateTime64", expressions=[node, exp.Literal.number(6)])
    return node


def _null_past_partition(node: exp.Expr) -> exp.Expr:
    """lag/lead past the partition's edge give NULL in DuckDB, the type's default (0, '',
    1970-01-01) in ClickHouse, unless the value is Nullable."""
    if isinstance(node, exp.Lag | exp.Lead) and node.args.get("default") is None:
        node.set("this", exp.func("toNullable", node.this))
    return node


_EXACT_DIGITS = 40


def _half_away_from_zero(node: exp.Expr) -> exp.Expr:
    """DuckDB rounds a double's exact binary value half away from zero: 590.05 is stored
    as 590.0499999…, so round(590.05, 1) is 590.0, and 21513.65 (21513.6500…01) gives
    21513.7. ClickHouse's round() is banker's on x·10ⁿ, which gives 590.0 and 21513.6.
    The exact value is spelled out by toDecimalString (40 digits tell any double under
    1e30 from the nearest tie) and rounded as a Decimal, which goes half away from zero.
    Larger, infinite and NaN values are whole already: they stay as they are. (Checked
    against DuckDB on 55,000 values; only answers of more than 15 significant digits
    differ, where DuckDB itself is not exact.)"""
    if not isinstance(node, exp.Round):
        return node
    decimals = node.args.get("decimals") or exp.Literal.number(0)
    return _clickhouse(
        "if(isFinite(_x_) AND abs(_x_) < 1e30, toFloat64(toString(round("
        f"toDecimal256(toDecimalString(_x_, {_EXACT_DIGITS}), {_EXACT_DIGITS}), _n_))), _x_)",
        x=node.this,
        n=decimals,
    )


def _boolean_aggregates(node: exp.Expr) -> exp.Expr:
    """bool_or / bool_and: max / min, as a Bool (a comparison is a UInt8 in ClickHouse)."""
    if isinstance(node, exp.LogicalOr):
        return _clickhouse("toBool(max(_x_))", x=node.this)
    if isinstance(node, exp.LogicalAnd):
        return _clickhouse("toBool(min(_x_))", x=node.this)
    return node


_PREDICATES = (exp.Predicate, exp.Connector, exp.Not)


def _boolean_outputs(tree: exp.Expr) -> exp.Expr:
    """A comparison is a UInt8 (1/0) in ClickHouse and a BOOLEAN in DuckDB: the final
    SELECT's true/false outputs become Bool, so callers get True/False."""
    if isinstance(tree, exp.Select):
        for projection in tree.expressions:
            value = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(value, _PREDICATES):
                value.replace(exp.Anonymous(this="toBool", expressions=[value.copy()]))
    return tree


def _histogram(node: exp.Expr) -> exp.Expr:
    """DuckDB's histogram(x) is a MAP of value -> count (rows_of turns maps into dicts)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "histogram":
        [value] = node.expressions
        # A map key may be neither Nullable nor LowCardinality; NULLs are not counted.
        return _clickhouse(
            "sumMapIf(map(assumeNotNull(_x_), toUInt64(1)), _x_ IS NOT NULL)",
            x=value,
        )
    return node


def _hash(node: exp.Expr) -> exp.Expr:
    """DuckDB's hash(a, …) as a 64-bit hash that tells NULL from '' (cityHash64 of the
    bare values is NULL when any is). The values differ from DuckDB's: only equality of
    hashes (grouping, joining) carries over."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        return exp.Anonymous(
            this="cityHash64",
            expressions=[exp.Anonymous(this="tuple", expressions=node.expressions)],
        )
    return node


def _named_tuple(node: exp.Expr) -> exp.Expr:
    """struct_pack(a := x, b := y) is a named tuple. `tuple(x AS a)` would name it, but an
    alias in ClickHouse is visible to the whole query, so cast to the named type instead."""
    if not (
        isinstance(node, exp.Struct)
        and node.expressions
        and all(isinstance(e, exp.PropertyEQ) for e in node.expressions)
    ):
        return node
    pieces: list[exp.Expr] = []
    for index, member in enumerate(node.expressions):
        name = member.this.name.replace("\\", "\\\\").replace("`", "\\`")
        pieces += [
            exp.Literal.string(("Tuple(" if index == 0 else ", ") + f"`{name}` "),
            exp.Anonymous(this="toTypeName", expressions=[member.expression.copy()]),
        ]
    pieces.append(exp.Literal.string(")"))
    values = exp.Anonymous(this="tuple", expressions=[f.expression for f in node.expressions])
    named_type = exp.Anonymous(this="concat", expressions=pieces)
    return exp.Anonymous(this="CAST", expressions=[values, named_type])


def _ordered_list(node: exp.Expr) -> exp.Expr:
    """list(x ORDER BY k1 [DESC], …) [FILTER (WHERE c)]: groupArray has no ORDER BY, so
    collect (x, k1, …) and sort the array. All keys descending: sort in reverse; mixed
    directions: a descending key is negated (numbers only; text fails visibly)."""
    condition = None
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        condition = node.expression.this
        node = node.this
    if not (isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)) or (
        condition is None and isinstance(node.parent, exp.Filter)
    ):
        return node  # under a FILTER: rewritten with it, when the walk reaches the FILTER
    order = node.this
    keys = order.expressions
    parts = {"x": order.this, **{f"k{i}": key.this for i, key in enumerate(keys)}}
    descending = [bool(key.args.get("desc")) for key in keys]
    reverse = all(descending)
    sort_keys = ", ".join(
        f"{'-' if desc and not reverse else ''}tupleElement(p, {i + 2})"
        for i, desc in enumerate(descending)
    )
    collected = "tuple(_x_, " + ", ".join(f"_k{i}_" for i in range(len(keys))) + ")"
    if condition is None:
        gathered = f"groupArray({collected})"
    else:
        gathered = f"groupArrayIf({collected}, _c_)"
        parts["c"] = condition
    sort = "arrayReverseSort" if reverse else "arraySort"
    return _clickhouse(
        f"arrayMap(p -> tupleElement(p, 1), {sort}(p -> tuple({sort_keys}), {gathered}))",
        **parts,
    )


def _list_slice(node: exp.Expr) -> exp.Expr:
    """DuckDB's list[a:b] (1-based, both ends included) is arraySlice(list, a, b - a + 1)."""
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return node
    bounds = node.expressions[0]
    if not isinstance(bounds, exp.Slice):
        return node
    start = bounds.this or exp.Literal.number(1)
    if bounds.expression is None:
        return _clickhouse("arraySlice(_l_, _a_)", l=node.this, a=start)
    return _clickhouse(
        "arraySlice(_l_, _a_, _b_ - _a_ + 1)", l=node.this, a=start, b=bounds.expression
    )


# strftime codes that formatDateTime spells differently (the rest mean the same).
_STRFTIME = {"M": "%i", "B": "%M", "A": "%W"}


def _strftime_codes(node: exp.Expr) -> exp.Expr:
    """DuckDB's strftime %M is the minute; ClickHouse's formatDateTime %M is the month."""
    if isinstance(node, exp.TimeToStr) and isinstance(node.args.get("format"), exp.Literal):
        spelled = re.sub(
            r"%(.)", lambda m: _STRFTIME.get(m.group(1), m.group(0)), node.args["format"].this
        )
        node.set("format", exp.Literal.string(spelled))
    return node


_REWRITES = (
    _exact_quantile,
    _discrete_quantile,
    _microseconds,
    _epoch_seconds,
    _intervals,
    _interval_arithmetic,
    _null_past_partition,
    _half_away_from_zero,
    _boolean_aggregates,
    _histogram,
    _hash,
    _named_tuple,
    _ordered_list,
    _list_slice,
    _strftime_codes,
)


def apply_rewrites(tree: exp.Expr) -> exp.Expr:
    """Apply every rewrite to every node, children before their parents, so a rewrite
    sees (and copies) its arguments already rewritten."""
    for node in list(tree.dfs())[::-1]:
        # Where it hangs, taken first: a rewrite may wrap the node in a new parent.
        parent, key, index = node.parent, node.arg_key, node.index
        new = node
        for rewrite in _REWRITES:
            new = rewrite(new)
        if new is node:
            continue
        if parent is not None and key is not None:
            parent.set(key, new, index)
        else:
            tree = new
    return _boolean_outputs(tree)
