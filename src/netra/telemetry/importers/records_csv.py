"""`records-csv`: the record of TELEMETRY.md, one per CSV row, header first."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from netra.telemetry.importers._base import Importer, Parsed
from netra.telemetry.schema import Defaults, RecordError, Row, parse_record

# Prompts or metadata can be long; the default 128 KiB field cap would stop the file.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def sniff(head: str) -> bool:
    try:
        header = next(csv.reader(io.StringIO(head.lstrip())))
    except (StopIteration, csv.Error):
        return False
    names = {name.strip().lower() for name in header}
    return {"input_tokens", "output_tokens"} <= names


def read(path: Path, defaults: Defaults) -> Iterator[Parsed]:
    # errors="replace" keeps the stream going past a bad byte; such rows are rejected below.
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as file:
        reader = csv.reader(file)
        try:
            header = next(reader)
        except StopIteration:
            return
        names = [name.strip() for name in header]
        start = reader.line_num + 1
        while True:
            line = start
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                start = reader.line_num + 1
                yield line, f"malformed CSV: {error}"
                continue
            start = reader.line_num + 1
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line is not a data row
            yield line, _row(names, values, defaults)


def _row(names: list[str], values: list[str], defaults: Defaults) -> Row | str:
    if len(values) != len(names):
        return f"expected {len(names)} fields as in the header, got {len(values)}"
    if any("\ufffd" in value for value in values):
        return "not valid UTF-8"
    try:
        return parse_record(dict(zip(names, values, strict=True)), defaults)
    except RecordError as error:
        return str(error)


IMPORTER = Importer(name="records-csv", sniff=sniff, read=read)
