"""`records-jsonl`: the record of TELEMETRY.md, one JSON object per line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from netra.telemetry.importers._base import Importer, Parsed
from netra.telemetry.schema import RECORD_FIELDS, Defaults, RecordError, Row, parse_record


def sniff(head: str) -> bool:
    first = next((line for line in head.splitlines() if line.strip()), "")
    try:
        value = json.loads(first)
    except ValueError:
        return False
    return isinstance(value, dict) and bool(RECORD_FIELDS & {k.lower() for k in value})


def read(path: Path, defaults: Defaults) -> Iterator[Parsed]:
    # Binary lines decoded one by one: a bad byte rejects its line, not the file.
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue  # a blank line is not a data row
            yield number, _row(raw, defaults)


def _row(raw: bytes, defaults: Defaults) -> Row | str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    try:
        value = json.loads(text)
    except ValueError as error:
        return f"invalid JSON: {error}"
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    try:
        return parse_record(value, defaults)
    except RecordError as error:
        return str(error)


IMPORTER = Importer(name="records-jsonl", sniff=sniff, read=read)
