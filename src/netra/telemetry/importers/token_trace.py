"""`token-trace`: a bare CSV trace of timestamp, input tokens, output tokens.

E.g. the Azure LLM inference traces (`TIMESTAMP, ContextTokens, GeneratedTokens`, CRLF,
7-digit fractional seconds). Provider and model come from the upload's defaults; the
trace's token counts are the provider's prompt and completion totals, so input_tokens is
the whole prompt as TELEMETRY.md means it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from netra.telemetry.importers._base import Importer, Judged
from netra.telemetry.importers._columns import ColumnMap, assign
from netra.telemetry.importers._csv_sql import judge_csv
from netra.telemetry.importers._tabular import header_names, looks_like_json
from netra.telemetry.schema import Defaults

ALIASES = {
    "timestamp": "ts", "time": "ts", "start_time": "ts",
    "contexttokens": "input_tokens", "context_tokens": "input_tokens",
    "prompt_tokens": "input_tokens", "input": "input_tokens",
    "generatedtokens": "output_tokens", "generated_tokens": "output_tokens",
    "completion_tokens": "output_tokens", "output": "output_tokens",
}  # fmt: skip


def sniff(head: str) -> bool:
    mapped = {ALIASES.get(name.lower(), name.lower()) for name in header_names(head)}
    return not looks_like_json(head) and {"ts", "input_tokens", "output_tokens"} <= mapped


def judge(cursor: duckdb.DuckDBPyConnection, path: Path, defaults: Defaults) -> Judged:
    return judge_csv(cursor, path, defaults, ALIASES)


def columns(head: str) -> ColumnMap:
    return assign(header_names(head), ALIASES)


IMPORTER = Importer(name="token-trace", sniff=sniff, judge=judge, columns=columns)
