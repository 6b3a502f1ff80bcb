"""What every format module provides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from netra.telemetry.schema import Defaults, Row

# (1-based line number, the validated row or the reason it was rejected)
Parsed = tuple[int, Row | str]


@dataclass(frozen=True)
class Importer:
    name: str
    sniff: Callable[[str], bool]  # does this head of a file (decoded text) look like ours?
    read: Callable[[Path, Defaults], Iterator[Parsed]]
