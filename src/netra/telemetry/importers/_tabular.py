"""CSV exports read in Python (for formats whose columns need mapping), streamed.

Each data row comes as a dict of the header's names to its text, with the line it starts
on; a row that cannot be read comes as its reason instead (a str). Blank lines are no
data rows. Quoted fields may span lines; CRLF, a BOM and bad bytes are handled.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from netra.telemetry.importers._base import Unreadable

# Prompts or metadata can be long; the default 128 KiB field cap would stop the file.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def header_names(head: str) -> list[str]:
    """The (stripped) column names of a CSV's first line; [] when it is none."""
    try:
        header = next(csv.reader(io.StringIO(head.lstrip("\ufeff").lstrip())))
    except (StopIteration, csv.Error):
        return []
    return [name.strip() for name in header]


def looks_like_json(head: str) -> bool:
    return head.lstrip("\ufeff \t\r\n")[:1] in ("[", "{")


def rows(file: BinaryIO) -> Iterator[tuple[int, dict[str, str] | str]]:
    # errors="replace" keeps the stream going past a bad byte; such rows are rejected.
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from _rows(csv.reader(text))
    finally:
        text.detach()  # the caller owns (and closes) the binary file


def _rows(reader: Any) -> Iterator[tuple[int, dict[str, str] | str]]:
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
            yield line, Unreadable(f"malformed CSV: {error}")
            continue
        start = reader.line_num + 1
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # a blank line is not a data row
        if len(values) != len(names):
            yield (
                line,
                Unreadable(f"expected {len(names)} fields as in the header, got {len(values)}"),
            )
        elif any("\ufffd" in value for value in values):
            yield line, Unreadable("not valid UTF-8")
        else:
            yield line, dict(zip(names, values, strict=True))
