"""CSV record files read by DuckDB's own CSV reader: parsed in parallel, judged in SQL.

One module, past ~400 lines, on purpose: its three SQL levels (trimmed text `s_*`,
numbers `d_*`/`t_ts`, the judged `reason`) and the reject bookkeeping refer to one
another's column names and to the reader's rejects tables, so each reads only beside
the others.

Python row-by-row validation reads ~0.3 M rows/s; DuckDB reads tens of millions. So the
file is read with every column as text (`store_rejects` records each structurally bad
line: wrong field count, bad quoting, bad UTF-8), then one SQL projection types each
field and names the first rule a row breaks, in the words and order of
`schema.parse_record`. The valid rows go straight from the reader into the store. Line
numbers of semantic rejects are derived from the row's ordinal: exactly, by arithmetic
when every record is one physical line (the common case), else by one csv-module pass
over the file up to the last reported reject.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb

from netra.telemetry.import_report import MAX_REJECTS, Note, Reject
from netra.telemetry.importers._base import STAGE_TABLE, Judged, Staged
from netra.telemetry.importers._columns import ColumnMap, assign
from netra.telemetry.importers._providers import Group, Providers, unrecognised_sql
from netra.telemetry.schema import (
    COLUMN_NAMES,
    HTTP_ERROR_TYPES,
    MAX_COUNT,
    MAX_STRING,
    NO_MODEL,
    NO_PROVIDER,
    RECORD_FIELDS,
    Defaults,
    sql_literal,
)

_REJECTS, _SCAN = "netra_csv_rejects", "netra_csv_scan"
_COUNTS = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
           "reasoning_tokens", "max_tokens")  # fmt: skip
_AMOUNTS = ("latency_ms", "ttft_ms", "cost_usd")
_STRINGS = ("error_type", "feature", "end_user", "conversation_id", "request_id",
            "prompt_hash", "prefix_hash")  # fmt: skip
_TRUE = "('true', '1', 'yes', 'y', 't')"
_FALSE = "('false', '0', 'no', 'n', 'f')"
# schema's rules on status and usage, in SQL over the trimmed text (s_*) of the fields:
# an HTTP status code (three digits, so text compares as numbers do) ≥ 400 is a failure.
# Written as CASEs, which DuckDB evaluates only for the rows that reach a branch: the
# pattern match and the failure test run for the rare rows that need them, not for all.
_PLAIN = "lower(s_status) IN ('ok', 'error')"
_HTTP = "regexp_full_match(s_status, '[1-5][0-9][0-9]')"
_FAILED = (
    "(CASE WHEN s_status IS NULL THEN s_error_type IS NOT NULL "
    f"WHEN {_PLAIN} THEN lower(s_status) = 'error' ELSE {_HTTP} AND s_status >= '400' END)"
)
_NO_USAGE = "(s_input_tokens IS NULL AND s_output_tokens IS NULL)"
_FOUND = re.compile(r"Found: (\d+)")


def header(path: Path) -> list[str]:
    """The header's field names (BOM removed), read by the csv module."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as file:
        first = file.readline()
    try:
        return [name.strip() for name in next(csv.reader(io.StringIO(first)))]
    except StopIteration:
        return []


def _got(raw: str) -> str:
    return f"' (got ''' || {raw} || ''')'"


def _reasons() -> list[tuple[str, str]]:
    """(condition, reason SQL) in parse_record's order; the first true one wins."""
    rules = [
        ("s_ts IS NULL", "'ts: missing (required)'"),
        ("ts IS NULL", "'ts: not an ISO-8601 timestamp' || " + _got("s_ts")),
        ("provider IS NULL AND model IS NULL", sql_literal(NO_PROVIDER)),
        ("provider IS NULL", unrecognised_sql("model")),
        ("model IS NULL", sql_literal(NO_MODEL)),
        (f"length(provider) > {MAX_STRING} OR length(model) > {MAX_STRING}",
         f"'provider/model: longer than {MAX_STRING} characters'"),
    ]  # fmt: skip
    for name in _COUNTS:
        if name in ("input_tokens", "output_tokens"):
            other = "output_tokens" if name == "input_tokens" else "input_tokens"
            rules.append((
                f"s_{name} IS NULL AND s_{other} IS NOT NULL AND NOT failed",
                f"'{name}: missing, but {other} is given (a call whose usage was not "
                "recorded leaves out both)'",
            ))  # fmt: skip
        rules.append((
            f"s_{name} IS NOT NULL AND (d_{name} IS NULL OR NOT isfinite(d_{name}) "
            f"OR d_{name} < 0 OR d_{name} <> floor(d_{name}))",
            f"'{name}: must be a whole number ≥ 0' || " + _got(f"s_{name}"),
        ))  # fmt: skip
        rules.append((f"d_{name} > {MAX_COUNT}", f"'{name}: implausibly large (> {MAX_COUNT})'"))
        if name == "reasoning_tokens":
            # past the rules above a missing count is 0 (a failed call) or unknown (and
            # then no detail is above 0): coalesced to 0 they compare as in schema
            rules += [
                (f"{_NO_USAGE} AND NOT failed AND (coalesce(d_cached_input_tokens, 0) > 0 OR "
                 "coalesce(d_cache_write_tokens, 0) > 0 OR coalesce(d_reasoning_tokens, 0) > 0)",
                 "'cached_input_tokens, cache_write_tokens or reasoning_tokens given without "
                 "input_tokens and output_tokens'"),
                ("coalesce(d_cached_input_tokens, 0) + coalesce(d_cache_write_tokens, 0)"
                 " > coalesce(d_input_tokens, 0)",
                 "'cached_input_tokens + cache_write_tokens exceed input_tokens; "
                 "input_tokens must include them'"),
                ("coalesce(d_reasoning_tokens, 0) > coalesce(d_output_tokens, 0)",
                 "'reasoning_tokens exceed output_tokens; output_tokens must include them'"),
            ]  # fmt: skip
    for name in _AMOUNTS:
        rules.append((
            f"s_{name} IS NOT NULL AND (d_{name} IS NULL OR NOT isfinite(d_{name}) "
            f"OR d_{name} < 0)",
            f"'{name}: must be a number ≥ 0' || " + _got(f"s_{name}"),
        ))  # fmt: skip
    for name in _STRINGS:
        rules.append(
            (f"length(s_{name}) > {MAX_STRING}", f"'{name}: longer than {MAX_STRING} characters'")
        )
    rules.append(("status NOT IN ('ok', 'error')",
                  "'status: must be ''ok'', ''error'' or an HTTP status code' || "
                  + _got("s_status")))  # fmt: skip
    rules.append(("batch IS NULL", "'batch: must be true or false' || " + _got("s_batch")))
    return rules


def _typed_sql(columns: ColumnMap) -> str:
    """SELECT over read_csv's text columns: s_* trimmed text, d_* numbers, typed columns."""
    fields = columns.fields

    def s(name: str) -> str:
        if name not in fields:
            return "NULL::VARCHAR"
        raw = f"c{fields[name].index}"
        # The reader gives NULL for empty fields; trimming only fields that need it
        # (a prefix/suffix test) is three times cheaper than trimming them all.
        return (
            f"CASE WHEN prefix({raw}, ' ') OR suffix({raw}, ' ') "
            f"THEN nullif(trim({raw}), '') ELSE {raw} END"
        )

    def scale(name: str) -> str:  # seconds columns hold ms × 1/1000
        factor = fields[name].scale if name in fields else 1.0
        return f" * {factor}" if factor != 1.0 else ""

    parts = [f"{s(name)} AS s_{name}" for name in sorted(RECORD_FIELDS)]
    parts += [f"try_cast({s(name)} AS DOUBLE){scale(name)} AS d_{name}"
              for name in (*_COUNTS, *_AMOUNTS)]  # fmt: skip
    parts.append(f"{_timestamp(s('ts'))} AS t_ts")
    extras: dict[str, str] = {}
    for column in columns.extras:  # a name the header repeats: its first column
        extras.setdefault(column.name, f"c{column.index}")
    if extras:
        pairs = ", ".join(f"{sql_literal(name)}, {raw}" for name, raw in extras.items())
        parts.append(f"json_object({pairs})::VARCHAR AS metadata")
    else:
        parts.append("NULL::VARCHAR AS metadata")
    return ", ".join(parts)


def _timestamp(text: str) -> str:
    """Naive UTC from ISO-8601 text. An explicit offset needs the (slower) TIMESTAMPTZ
    cast; without one (bare, `Z`, ` UTC`) the plain cast is exact and four times faster."""
    offset = f"(contains({text}, '+') OR contains(substr({text}, 11), '-'))"
    return (
        f"CASE WHEN {offset} THEN make_timestamp(epoch_us(try_cast({text} AS TIMESTAMPTZ))) "
        f"ELSE try_cast({text} AS TIMESTAMP) END"
    )


def _http_error_type() -> str:
    cases = " ".join(f"WHEN '{code}' THEN '{kind}'" for code, kind in HTTP_ERROR_TYPES.items())
    return f"CASE s_status {cases} ELSE 'http_' || s_status END"


def _outer_sql(defaults: Defaults, providers: Providers) -> str:
    def count(name: str, default: str = "NULL") -> str:
        return f"CASE WHEN d_{name} BETWEEN 0 AND {MAX_COUNT} THEN d_{name}::BIGINT " \
               f"ELSE {default} END"  # fmt: skip

    def usage(name: str) -> str:  # missing: 0 on a failed call, else unknown (or rejected)
        return f"CASE WHEN s_{name} IS NULL THEN CASE WHEN {_FAILED} THEN 0 END " \
               f"ELSE {count(name)} END AS {name}"  # fmt: skip

    def detail(name: str) -> str:  # unknown beside unknown usage, else 0 by default
        return f"CASE WHEN NOT {_NO_USAGE} OR {_FAILED} THEN {count(name, '0')} " \
               f"END AS {name}"  # fmt: skip

    model = f"coalesce(s_model, {sql_literal(defaults.model)})"

    columns = [
        "CASE WHEN isfinite(t_ts) THEN t_ts END AS ts",
        f"{providers.sql('s_provider', model)} AS provider",
        f"{model} AS model",
        usage("input_tokens"), usage("output_tokens"),
        detail("cached_input_tokens"), detail("cache_write_tokens"), detail("reasoning_tokens"),
        "d_latency_ms AS latency_ms", "d_ttft_ms AS ttft_ms",
        "CASE WHEN s_status IS NULL THEN CASE WHEN s_error_type IS NOT NULL THEN 'error' "
        f"ELSE 'ok' END WHEN {_PLAIN} THEN lower(s_status) WHEN {_HTTP} THEN "
        "CASE WHEN s_status >= '400' THEN 'error' ELSE 'ok' END ELSE lower(s_status) END "
        "AS status",
        "s_error_type AS error_type",  # and from an HTTP status code: see _relation
        *(f"s_{name} AS {name}" for name in _STRINGS if name != "error_type"),
        f"{count('max_tokens')} AS max_tokens",
        f"CASE WHEN s_batch IS NULL OR lower(s_batch) IN {_FALSE} THEN false "
        f"WHEN lower(s_batch) IN {_TRUE} THEN true END AS batch",
        "d_cost_usd AS source_cost_usd", "metadata",
        "s_input_tokens IS NOT NULL AND s_output_tokens IS NOT NULL AS usage_recorded",
        # only where a count is missing is it asked whether the call failed
        f"CASE WHEN s_input_tokens IS NULL OR s_output_tokens IS NULL THEN {_FAILED} "
        "ELSE false END AS failed",
    ]  # fmt: skip
    return ", ".join(columns)


def _reason_sql() -> str:
    cases = " ".join(f"WHEN {cond} THEN {reason}" for cond, reason in _reasons())
    return f"CASE {cases} END"


def judge_csv(
    cursor: duckdb.DuckDBPyConnection, path: Path, defaults: Defaults, aliases: dict[str, str]
) -> Judged:
    """A CSV of records (header first) as a judged relation that reads the file.

    A quick pass first (only the price key's fields are typed, and the provider only as
    the rows give it) finds the models of rows without provider, counts the records and
    gives the price keys once those models' providers are resolved. The caller's insert
    then reads the file again and keeps the valid rows, so they are written once;
    `settle` derives how many rows were rejected from the two counts, and reads the file
    a third time only when some row broke a rule, to say which and where.
    """
    names = header(path)
    columns = assign(names, aliases)
    cursor.execute("SET TimeZone = 'UTC'")
    _drop(cursor)
    given = Defaults(None, defaults.model)  # rows' own providers: NULL where they have none
    groups, records = _groups_and_records(cursor, _relation(path, names, columns, given,
                                                            Providers()))  # fmt: skip
    _drop(cursor)
    providers = Providers.of(groups, defaults.provider)
    relation = _relation(path, names, columns, defaults, providers)
    notes = [Note(None, text) for text in columns.notes()] + providers.notes()

    def settle(inserted: int) -> Staged:
        try:
            staged = _settle(cursor, path, relation, len(names), records, inserted)
        finally:
            _drop(cursor)
        staged.notes.extend(notes)
        return staged

    return Judged(relation=relation, keys=providers.price_keys(groups), settle=settle)



def _drop(cursor: duckdb.DuckDBPyConnection) -> None:
    for table in (STAGE_TABLE, _REJECTS, _SCAN):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _relation(
    path: Path, names: list[str], columns: ColumnMap, defaults: Defaults, providers: Providers
) -> str:
    types = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    read = (
        f"read_csv({sql_literal(str(path))}, header = true, columns = {types},"
        f" auto_detect = false, delim = ',', quote = '\"', escape = '\"', store_rejects = true,"
        f" rejects_table = '{_REJECTS}', rejects_scan = '{_SCAN}')"
    )
    # A failure known by its HTTP status code alone takes its error type from the code;
    # asked here, of the few failed rows, where the status is typed already.
    error_type = (
        "CASE WHEN status <> 'error' OR error_type IS NOT NULL OR s_status IS NULL OR "
        f"lower(s_status) = 'error' THEN error_type ELSE {_http_error_type()} END AS error_type"
    )
    final = ", ".join(error_type if name == "error_type" else name for name in COLUMN_NAMES)
    # Three levels so that each field is parsed once: text, then typed, then judged.
    return (
        f"(SELECT {final}, {_reason_sql()} AS reason FROM "
        f"(SELECT * EXCLUDE (metadata), {_outer_sql(defaults, providers)} "
        f"FROM (SELECT {_typed_sql(columns)} FROM {read})))"
    )


def _groups_and_records(
    cursor: duckdb.DuckDBPyConnection, relation: str
) -> tuple[list[Group], int]:
    """The rows' (provider, model, batch, day) with their counts, and the number of
    records in the file.

    Only the key's fields are referenced, so DuckDB types only those. A record is
    either a row here or a line the reader refused (once, however many of its fields
    it refused): which of the two can depend on the fields read (bad UTF-8 in an
    unread field goes unseen), their sum cannot.
    """
    groups = cursor.execute(
        f"SELECT provider, model, batch, ts::DATE, count(*) FROM {relation} AS q GROUP BY ALL"
    ).fetchall()
    refused = cursor.execute(f"SELECT count(DISTINCT line) FROM {_REJECTS}").fetchone()
    return groups, sum(int(group[4]) for group in groups) + int(refused[0] if refused else 0)


def _settle(
    cursor: duckdb.DuckDBPyConnection, path: Path, relation: str, width: int, records: int,
    inserted: int,
) -> Staged:  # fmt: skip
    """Rejections of the read that kept `inserted` of the file's `records`, located."""
    structural = _structural(cursor, width)
    staged = Staged(rows=inserted, rejected=records - inserted)
    if not staged.rejected:
        return staged
    semantic: list[tuple[int, str]] = []
    if staged.rejected > len(structural):
        semantic = _semantic(cursor, relation)
    lines = _lines(path, [ordinal for ordinal, _ in semantic], [line for line, _ in structural],
                   records=records)  # fmt: skip
    merged = [(lines.semantic[i], reason) for i, (_, reason) in enumerate(semantic)]
    merged += [(lines.structural.get(line, line), reason) for line, reason in structural]
    for line, reason in sorted(merged)[:MAX_REJECTS]:
        staged.rejects.append(Reject(line, reason))
    return staged


def _semantic(cursor: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[int, str]]:
    """(ordinal among the rows read, reason) of the first rows that break a rule.

    Only the reasons are written, in file order (rowid = ordinal): this costs a read.
    """
    _drop(cursor)  # the structural rejects were read already; this read records them anew
    cursor.execute("SET preserve_insertion_order = true")
    cursor.execute(f"CREATE TEMP TABLE {STAGE_TABLE} AS SELECT reason FROM {relation}")
    rows = cursor.execute(
        f"SELECT rowid, reason FROM {STAGE_TABLE} WHERE reason IS NOT NULL ORDER BY rowid "
        f"LIMIT {MAX_REJECTS}"
    ).fetchall()
    return [(int(ordinal), str(reason)) for ordinal, reason in rows]


def _structural(cursor: duckdb.DuckDBPyConnection, width: int) -> list[tuple[int, str]]:
    """Every line DuckDB's reader refused, once, with a reason in our words."""
    rows = cursor.execute(
        f"SELECT line, arg_min(error_type, column_idx), arg_min(error_message, column_idx) "
        f"FROM {_REJECTS} GROUP BY line ORDER BY line"
    ).fetchall()
    return [(int(line), _structural_reason(kind, message, width)) for line, kind, message in rows]


def _structural_reason(kind: str, message: str, width: int) -> str:
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        found = _FOUND.search(message)
        got = found.group(1) if found else "a different number"
        return f"expected {width} fields as in the header, got {got}"
    if kind in ("INVALID UNICODE", "INVALID ENCODING"):
        return "not valid UTF-8"
    return f"malformed CSV: {message}"


class _Lines:
    def __init__(self) -> None:
        self.semantic: list[int] = []
        self.structural: dict[int, int] = {}  # DuckDB's record line -> physical line


def _physical_lines(path: Path) -> int:
    count, last = 0, b""
    with path.open("rb") as file:
        while chunk := file.read(1 << 22):
            count += chunk.count(b"\n")
            last = chunk
    return count + (1 if last and not last.endswith(b"\n") else 0)


def _lines(path: Path, ordinals: list[int], structural: list[int], records: int) -> _Lines:
    """Physical lines of semantic rejects (by row ordinal) and of structural ones."""
    out = _Lines()
    if _physical_lines(path) == records + 1:  # one line per record: arithmetic is exact
        rejected = sorted(structural)
        for ordinal in ordinals:
            line = ordinal + 2
            for bad in rejected:  # each refused line before this row pushes it down one
                if bad <= line:
                    line += 1
            out.semantic.append(line)
        return out
    return _scan_lines(path, ordinals, set(structural))


def _scan_lines(path: Path, ordinals: list[int], structural: set[int]) -> _Lines:
    """Blank lines or quoted line breaks: walk the records with the csv module."""
    out, wanted = _Lines(), set(ordinals)
    found: dict[int, int] = {}
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as file:
        reader = csv.reader(file)
        next(reader, None)
        record_line, valid, start = 1, -1, reader.line_num + 1
        for row in reader:
            record_line += 1
            if row and not (len(row) == 1 and not row[0].strip()):
                if record_line in structural:
                    out.structural[record_line] = start
                else:
                    valid += 1
                    if valid in wanted:
                        found[valid] = start
            start = reader.line_num + 1
            if len(found) == len(wanted) and len(out.structural) == len(structural):
                break
    out.semantic = [found.get(o, o + 2) for o in ordinals]
    return out
