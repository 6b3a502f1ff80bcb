"""Readers stream: a file many times larger than what they hold is read item by item."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from netra.telemetry.importers import IMPORTERS
from netra.telemetry.importers._json import items
from netra.telemetry.schema import Defaults

ITEM = {"ts": "2026-11-01T10:00:00Z", "provider": "openai", "model": "gpt-4o",
        "input_tokens": 1000, "output_tokens": 100, "feature": "x" * 900}  # fmt: skip


def _peak_while(consume: Iterator[Any]) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in consume)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_json_array_document_is_read_item_by_item(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("w") as file:
        file.write('{"meta": {"page": 1}, "data": [\n')
        file.write(",\n".join(json.dumps(ITEM) for _ in range(30_000)))
        file.write("\n]}\n")
    assert path.stat().st_size > 25 * 2**20
    with path.open("rb") as file:
        count, peak = _peak_while(items(file, frozenset({"data"})))
    assert count == 30_000
    assert peak < 8 * 2**20  # a sliding buffer, not the 25+ MiB document


def test_json_lines_are_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(json.dumps(ITEM) for _ in range(30_000)))
    reader = IMPORTERS["records-jsonl"].read
    assert reader is not None
    with path.open("rb") as file:
        count, peak = _peak_while(reader(file, Defaults()))
    assert count == 30_000
    assert peak < 8 * 2**20


def test_an_item_split_across_buffer_refills_is_read_whole(tmp_path: Path) -> None:
    # Items far larger than the reader's chunk, and numbers cut at a chunk boundary.
    big = {**ITEM, "feature": "y" * (3 * 2**20)}
    path = tmp_path / "split.json"
    path.write_text(json.dumps([big, 12345678901234567890, big]))
    with path.open("rb") as file:
        found = [value for _, value in items(file)]
    assert found == [big, 12345678901234567890, big]
