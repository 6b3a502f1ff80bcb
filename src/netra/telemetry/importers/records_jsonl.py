"""`records-jsonl`: the record of TELEMETRY.md, one JSON object per line.

A JSON array of records is read too (some tools export that); either way streamed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from netra.telemetry.importers._base import Importer, Parsed, rows_of
from netra.telemetry.importers._json import items
from netra.telemetry.schema import Defaults


def sniff(head: str) -> bool:
    first = next((line for line in head.splitlines() if line.strip()), "")
    try:
        value = json.loads(first)
    except ValueError:
        return False
    return isinstance(value, dict) and {"ts", "input_tokens"} <= {k.lower() for k in value}


def read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    return rows_of(items(file), dict, defaults)


IMPORTER = Importer(name="records-jsonl", sniff=sniff, read=read)
