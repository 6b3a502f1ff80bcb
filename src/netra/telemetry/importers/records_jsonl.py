"""`records-jsonl`: the record of TELEMETRY.md, one JSON object per line.

A JSON array of records is read too (some tools export that); either way streamed.
Keys may go by the names people's exports give them, as CSV columns may (_columns).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from netra.telemetry.importers._base import Importer, Parsed, rows_of
from netra.telemetry.importers._columns import ColumnMap, assign, mapped_names, rename
from netra.telemetry.importers._json import items
from netra.telemetry.schema import Defaults


def _first_object(head: str) -> dict[str, Any] | None:
    first = next((line for line in head.splitlines() if line.strip()), "")
    try:
        value = json.loads(first)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def sniff(head: str) -> bool:
    value = _first_object(head)
    return value is not None and {"ts", "input_tokens"} <= mapped_names(value)


def columns(head: str) -> ColumnMap:
    """The first object's keys as `read` maps them (objects of a file share their keys)."""
    return assign(tuple(_first_object(head) or ()))


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    return rows_of(items(file), _Renamer(), defaults)


class _Renamer:
    """Reads each object's keys as record fields; objects of one file share their keys,
    so each set of keys is mapped once."""

    def __init__(self) -> None:
        self.maps: dict[tuple[str, ...], ColumnMap] = {}

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        keys = tuple(item)
        columns = self.maps.get(keys)
        if columns is None:
            if len(self.maps) > 1000:  # objects with keys of their own: keep memory flat
                self.maps.clear()
            columns = self.maps[keys] = assign(keys)
        return rename(item, columns)


IMPORTER = Importer(name="records-jsonl", sniff=sniff, read=read, columns=columns)
