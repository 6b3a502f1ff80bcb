"""What the model may read and call: one table and its columns, an allow-list of
functions, and the statement kinds refused wherever they appear.
"""

from __future__ import annotations

from sqlglot import exp

from netra.telemetry.schema import COLUMNS

TABLE = "requests"
# What the model may read: the record's columns and our computed cost (never dataset_id).
QUERY_COLUMNS: tuple[tuple[str, str], ...] = (*COLUMNS, ("cost_usd", "DOUBLE"))
QUERY_COLUMN_NAMES = tuple(name for name, _ in QUERY_COLUMNS)

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
ALLOWED_CLASSES: frozenset[type[exp.Expr]] = frozenset(
    (*_AGGREGATES, *_MATH, *_STRINGS, *_DATES, *_OTHERS)
)
# DuckDB functions sqlglot parses by name only (same groups as above).
ALLOWED_NAMES = frozenset({
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
FORBIDDEN: tuple[type[exp.Expr], ...] = (
    exp.DML, exp.DDL, exp.Command, exp.Set, exp.Pragma, exp.Copy, exp.Attach, exp.Detach,
    exp.Use, exp.Transaction, exp.Commit, exp.Rollback, exp.Describe, exp.Show,
    exp.Summarize, exp.Install, exp.Into, exp.Lock,
)  # fmt: skip
PARAMETERS = (exp.Placeholder, exp.Parameter, exp.SessionParameter)
