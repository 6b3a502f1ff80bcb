"""Input formats of TELEMETRY.md: one module per format, each an `Importer`.

A format module maps its rows to record dicts and validates them with
`schema.parse_record`; adding a format is one module plus one line in `IMPORTERS`.
Importers stream: they yield one parsed row or one rejection at a time.
"""

from __future__ import annotations

from pathlib import Path

from netra.errors import ValidationFailed
from netra.telemetry.importers._base import Importer, Parsed
from netra.telemetry.importers.records_csv import IMPORTER as RECORDS_CSV
from netra.telemetry.importers.records_jsonl import IMPORTER as RECORDS_JSONL

# Order matters for detection: the most specific sniff first.
IMPORTERS: dict[str, Importer] = {i.name: i for i in (RECORDS_JSONL, RECORDS_CSV)}
FORMATS = ("auto", *IMPORTERS)
_HEAD_BYTES = 64 * 1024

__all__ = ["FORMATS", "IMPORTERS", "Importer", "Parsed", "choose_importer", "detect_format"]


def detect_format(path: Path) -> str:
    """The format of a file from its first bytes; ValidationFailed when none fits."""
    with path.open("rb") as file:
        head = file.read(_HEAD_BYTES).decode("utf-8-sig", errors="replace")
    if not head.strip():
        raise ValidationFailed("the file is empty: no header and no data rows")
    for importer in IMPORTERS.values():
        if importer.sniff(head):
            return importer.name
    raise ValidationFailed(
        "could not recognise the file's format; pass one of: " + ", ".join(IMPORTERS),
    )


def choose_importer(path: Path, fmt: str) -> Importer:
    """The importer for `fmt` (`auto` detects it from the file)."""
    if fmt == "auto":
        fmt = detect_format(path)
    importer = IMPORTERS.get(fmt)
    if importer is None:
        raise ValidationFailed(f"unknown format {fmt!r}; supported: " + ", ".join(FORMATS))
    return importer
