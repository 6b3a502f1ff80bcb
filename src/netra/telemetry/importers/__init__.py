"""Input formats of TELEMETRY.md: one module per format, each an `Importer`.

A format module maps its rows to record dicts validated by `schema.parse_record` (or,
for plain CSV tables, stages them with DuckDB's reader and the same rules in SQL);
adding a format is one module plus one line in `IMPORTERS`. Importers stream: no file
is ever whole in memory.
"""

from __future__ import annotations

from pathlib import Path

from netra.errors import ValidationFailed
from netra.telemetry.import_report import Note
from netra.telemetry.importers._base import Importer, Parsed, Staged
from netra.telemetry.importers.helicone import IMPORTER as HELICONE
from netra.telemetry.importers.langfuse_observations import IMPORTER as LANGFUSE
from netra.telemetry.importers.litellm_spendlogs import IMPORTER as LITELLM
from netra.telemetry.importers.otel_genai import IMPORTER as OTEL
from netra.telemetry.importers.records_csv import IMPORTER as RECORDS_CSV
from netra.telemetry.importers.records_jsonl import IMPORTER as RECORDS_JSONL
from netra.telemetry.importers.token_trace import IMPORTER as TOKEN_TRACE

# Order matters for detection: the most specific sniff first.
IMPORTERS: dict[str, Importer] = {
    i.name: i for i in (OTEL, LANGFUSE, LITELLM, HELICONE, RECORDS_JSONL, RECORDS_CSV, TOKEN_TRACE)
}
FORMATS = ("auto", *IMPORTERS)
HEAD_BYTES = 64 * 1024  # what a sniffer sees of a file

__all__ = [
    "FORMATS", "HEAD_BYTES", "IMPORTERS", "Importer", "Note", "Parsed", "Staged",
    "choose_importer", "detect_format", "format_of", "head_text",
]  # fmt: skip


def detect_format(path: Path) -> str:
    """The format of a file from its first bytes; ValidationFailed when none fits."""
    with path.open("rb") as file:
        return format_of(head_text(file.read(HEAD_BYTES)))


def head_text(head: bytes) -> str:
    """A file's first bytes as the sniffers read them."""
    return head.decode("utf-8-sig", errors="replace")


def format_of(head: str) -> str:
    """The format of a file from its head's text; ValidationFailed when none fits."""
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
