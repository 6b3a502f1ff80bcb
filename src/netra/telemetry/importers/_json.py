"""Streaming reads of JSON exports: JSON Lines, or one document holding a list of items.

Exports come either as one JSON value per line, or as one document: a top-level array
(`[{…}, {…}]`) or an object whose list fields hold the items (`{"data": [...]}`,
`{"resourceSpans": [...]}`). Both are read item by item with the C decoder
(`raw_decode` on a sliding buffer), so a file of any size is never whole in memory, and
each item comes with the line it starts on.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from netra.telemetry.importers._base import Unreadable

CHUNK_CHARS = 1 << 20
MAX_ITEM_CHARS = 64 << 20  # one item larger than this is refused, not buffered on
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"

# (1-based line where the item starts, the decoded value or an Unreadable reason)
Item = tuple[int, Any]


def items(file: BinaryIO, list_keys: frozenset[str] = frozenset()) -> Iterator[Item]:
    """Every item of the file: each line of JSON Lines, or each element of the document's
    top-level array or of its object's `list_keys` lists (other keys are skipped)."""
    first = _first_line(file)
    file.seek(0)
    if _is_one_line_value(first):
        yield from _lines(file)
    else:
        yield from _Document(file).items(list_keys)


def _first_line(file: BinaryIO) -> bytes:
    while line := file.readline(MAX_ITEM_CHARS):
        if line.strip():
            return line.removeprefix(codecs.BOM_UTF8) if line.startswith(codecs.BOM_UTF8) else line
    return b""


def _is_one_line_value(line: bytes) -> bool:
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, dict)


def _lines(file: BinaryIO) -> Iterator[Item]:
    # Lines decoded one by one: a bad byte rejects its line, not the file.
    for number, raw in enumerate(file, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if not raw.strip():
            continue  # a blank line is not a data row
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, Unreadable("not valid UTF-8")
            continue
        try:
            yield number, json.loads(text)
        except ValueError as error:
            yield number, Unreadable(f"invalid JSON: {error}")


class _Document:
    """A cursor over one JSON document, decoded incrementally."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self.buffer = ""
        self.pos = 0
        self.line = 1
        self.eof = False

    def items(self, list_keys: frozenset[str]) -> Iterator[Item]:
        try:
            opening = self._peek()
            if opening == "[":
                yield from self._array()
            elif opening == "{":
                yield from self._object(list_keys)
            elif opening:
                yield (
                    self.line,
                    Unreadable("invalid JSON: expected an array or an object of records"),
                )
        except _Broken as broken:
            yield (
                broken.line,
                Unreadable(
                    f"invalid JSON: {broken.message}; the rest of the document cannot be read"
                ),
            )

    # -- structure --------------------------------------------------------------------

    def _array(self) -> Iterator[Item]:
        self._expect("[")
        if self._peek() == "]":
            self._advance(1)
            return
        while True:
            line, raw = self._value()
            yield line, _decoded(raw)
            if self._peek() == ",":
                self._advance(1)
                continue
            self._expect("]")
            return

    def _object(self, list_keys: frozenset[str]) -> Iterator[Item]:
        self._expect("{")
        if self._peek() == "}":
            self._advance(1)
            return
        while True:
            _, key = self._value()
            self._expect(":")
            if json.loads(key) in list_keys and self._peek() == "[":
                yield from self._array()
            else:
                self._value()  # metadata beside the list (e.g. `meta`): not a record
            if self._peek() == ",":
                self._advance(1)
                continue
            self._expect("}")
            return

    # -- tokens -----------------------------------------------------------------------

    def _value(self) -> tuple[int, str]:
        """The raw text of the next JSON value and its line; reads on until it is whole."""
        self._peek()
        line = self.line
        while True:
            try:
                _, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if self.eof or len(self.buffer) - self.pos > MAX_ITEM_CHARS:
                    raise _Broken(line + self.buffer.count("\n", self.pos, error.pos),
                                  error.msg) from None  # fmt: skip
                self._fill(max(CHUNK_CHARS, len(self.buffer) - self.pos))
                continue
            if end == len(self.buffer) and not self.eof:  # a number may go on in the next chunk
                self._fill(CHUNK_CHARS)
                continue
            raw = self.buffer[self.pos : end]
            self._advance(end - self.pos)
            return line, raw

    def _peek(self) -> str:
        """The next significant character ('' at the end), whitespace consumed."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self._advance(1)
            if self.pos < len(self.buffer) or self.eof:
                return self.buffer[self.pos : self.pos + 1]
            self._fill(CHUNK_CHARS)

    def _expect(self, char: str) -> None:
        found = self._peek()
        if found != char:
            raise _Broken(self.line, f"expected {char!r}, found {found or 'the end of the file'!r}")
        self._advance(1)

    def _advance(self, count: int) -> None:
        self.line += self.buffer.count("\n", self.pos, self.pos + count)
        self.pos += count

    def _fill(self, at_least: int) -> None:
        self.buffer = self.buffer[self.pos :]
        self.pos = 0
        wanted = len(self.buffer) + at_least
        while len(self.buffer) < wanted and not self.eof:
            chunk = self.file.read(CHUNK_CHARS)
            self.buffer += self.decoder.decode(chunk, final=not chunk)
            self.eof = not chunk


class _Broken(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _decoded(raw: str) -> Any:
    if "\ufffd" in raw:
        return Unreadable("not valid UTF-8")
    return json.loads(raw)
