"""The answer's Markdown blocks: which digits are not claims (code, list and heading
markers), how long its lists are, and taking out the sentences, items and rows that hold
untraced numbers so that what is left is still valid Markdown.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from netra.agents.numbers._mentions import Mention, inline_mask, scan

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(?:(\d+(?:\.\d+)*[.)]?)\s+)?")
_ITEM = re.compile(r"^(\s*)(?:[-*+]|(\d{1,9})[.)])(?:\s+|$)")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_PREFIX = re.compile(r"^\s*(?:>\s?)*")
_BOUNDARY = re.compile(r"(?<=[.!?])[*_)\]\"'’”]*\s+(?:>\s*)*(?=\S)")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|approx|ca|cf|incl|est|fig)|\b[A-Za-z])\.$",
                           re.I)  # fmt: skip
_WORD = re.compile(r"[^\W_]")
_MARKER_NUMBER = re.compile(r"^(\s*)\d+")


@dataclass(slots=True)
class _Block:
    kind: str  # para | item | heading | row | header | code
    first: int  # line numbers
    last: int
    extent: int  # last line it takes with it: nested items, a table's rows
    content: int  # offset where its own text starts, after any marker
    level: int = 0  # heading level
    number: int | None = None  # an ordered list item's number
    run: int = -1  # the list an item belongs to: the block number of its first item


@dataclass(slots=True)
class _Doc:
    text: str
    lines: list[str]
    starts: list[int]
    blocks: list[_Block] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # line → block, -1 for blank lines
    mask: bytearray = field(default_factory=bytearray)
    listed: int = 0  # the longest list or table


def _blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _table_starts(lines: list[str], i: int) -> bool:
    return (
        "|" in lines[i] and i + 1 < len(lines) and "|" in lines[i + 1]
        and _TABLE_SEP.match(lines[i + 1]) is not None
    )  # fmt: skip


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    return bool(
        _blank(line) or _FENCE.match(line) or _HEADING.match(line) or _ITEM.match(line)
        or _RULE.match(line) or _table_starts(lines, i)
    )  # fmt: skip


def parse(text: str) -> _Doc:
    lines = text.splitlines(keepends=True)
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    doc = _Doc(text, lines, starts, owner=[-1] * len(lines), mask=bytearray(len(text)))
    runs: dict[int, tuple[int, int]] = {}  # indent → (list, items so far)
    i = 0
    while i < len(lines):
        i = _parse_block(doc, i, runs)
    inline_mask(text, doc.mask)
    return doc


def number_mentions(text: str) -> list[Mention]:
    """Every number `text` states as a claim, in order (see the package docstring)."""
    doc = parse(text)
    return list(scan(text, doc.mask, doc.listed))


def _add_block(doc: _Doc, block: _Block) -> None:
    for line in range(block.first, block.last + 1):
        doc.owner[line] = len(doc.blocks)
    doc.blocks.append(block)


def _mask_lines(doc: _Doc, first: int, last: int) -> None:
    lo, hi = doc.starts[first], doc.starts[last] + len(doc.lines[last])
    doc.mask[lo:hi] = b"\x01" * (hi - lo)


def _parse_block(doc: _Doc, i: int, runs: dict[int, tuple[int, int]]) -> int:
    """Adds the block starting at line `i` and returns the line after it."""
    lines, start = doc.lines, doc.starts[i]
    line = lines[i]
    if _blank(line) or _RULE.match(line):
        return i + 1
    if fence := _FENCE.match(line):
        j = i + 1
        while j < len(lines) and not lines[j].lstrip().startswith(fence.group(1)):
            j += 1
        j = min(j, len(lines) - 1)
        _mask_lines(doc, i, j)
        _add_block(doc, _Block("code", i, j, j, start))
        return j + 1
    item = _ITEM.match(line)
    if not item and not _indent(line):
        runs.clear()  # a list ends at the first block back at the margin
    if heading := _HEADING.match(line):
        doc.mask[start : start + heading.end()] = b"\x01" * heading.end()
        _add_block(doc, _Block("heading", i, i, i, start + heading.end(), len(heading.group(1))))
        return i + 1
    if _table_starts(lines, i):
        j = i + 2
        while j < len(lines) and "|" in lines[j] and not _blank(lines[j]):
            j += 1
        _add_block(doc, _Block("header", i, i + 1, j - 1, start))
        for row in range(i + 2, j):
            _add_block(doc, _Block("row", row, row, row, doc.starts[row]))
        doc.listed = max(doc.listed, j - i - 2)
        return j
    j = i
    while j + 1 < len(lines) and not _starts_block(lines, j + 1):
        j += 1
    if item:
        depth = len(item.group(1))
        for deeper in [d for d in runs if d > depth]:
            del runs[deeper]
        run, count = runs.get(depth, (len(doc.blocks), 0))
        runs[depth] = (run, count + 1)
        doc.listed = max(doc.listed, count + 1)
        doc.mask[start : start + item.end()] = b"\x01" * item.end()
        number = int(item.group(2)) if item.group(2) else None
        extent = _item_extent(lines, j, depth)
        _add_block(doc, _Block("item", i, j, extent, start + item.end(), 0, number, run))
    else:
        prefix = _PREFIX.match(line)
        _add_block(doc, _Block("para", i, j, j, start + (prefix.end() if prefix else 0)))
    return j + 1


def _item_extent(lines: list[str], last: int, depth: int) -> int:
    """The last line of a list item's nested content: what is indented deeper than its marker."""
    k = last
    while k + 1 < len(lines):
        nxt = k + 1
        while nxt < len(lines) and _blank(lines[nxt]):
            nxt += 1
        if nxt >= len(lines) or _indent(lines[nxt]) <= depth:
            break
        k = nxt
    return k


def _sentences(body: str) -> list[tuple[int, int]]:
    cuts, start = [], 0
    for boundary in _BOUNDARY.finditer(body):
        if _ABBREVIATION.search(body, max(start, boundary.start() - 8), boundary.start()):
            continue
        cuts.append((start, boundary.end()))
        start = boundary.end()
    cuts.append((start, len(body)))
    return cuts


def _balanced(text: str) -> bool:
    return text.count("**") % 2 == 0 and text.count("`") % 2 == 0 and (
        text.count("[") == text.count("]")
    )


def _without_sentences(doc: _Doc, block: _Block, offsets: list[int]) -> str | None:
    """The block's lines with the sentences at `offsets` taken out; None when nothing sound
    is left of it."""
    end = doc.starts[block.last] + len(doc.lines[block.last].rstrip("\r\n"))
    body = doc.text[block.content : end]
    kept = [
        body[lo:hi] for lo, hi in _sentences(body)
        if not any(lo <= offset - block.content < hi for offset in offsets)
    ]  # fmt: skip
    rest = "".join(kept).rstrip()
    if not _WORD.search(rest) or (_balanced(body) and not _balanced(rest)):
        return None
    return doc.text[doc.starts[block.first] : block.content] + rest


def _line_of(doc: _Doc, offset: int) -> int:
    return bisect_right(doc.starts, offset) - 1


def remove(doc: _Doc, bad: list[Mention]) -> str:
    offsets: dict[int, list[int]] = {}
    for mention in bad:
        owner = doc.owner[_line_of(doc, mention.span[0])]
        offsets.setdefault(owner, []).append(mention.span[0])
    dropped: set[int] = set()
    rewritten: dict[int, str] = {}
    for b, at in offsets.items():
        block = doc.blocks[b]
        new = _without_sentences(doc, block, at) if block.kind in ("para", "item") else None
        if new is None:
            dropped.add(b)
        else:
            rewritten[b] = new
    gone = _gone_lines(doc, dropped)
    return _assemble(doc, gone, rewritten, _renumbered(doc, gone))


def _renumbered(doc: _Doc, gone: set[int]) -> dict[int, int]:
    """New numbers for the items of an ordered list that lost some (a nested list numbered
    from 2 would read as text)."""
    lists: dict[int, list[_Block]] = {}
    for block in doc.blocks:
        if block.number is not None:
            lists.setdefault(block.run, []).append(block)
    numbers: dict[int, int] = {}
    for items in lists.values():
        kept = [item for item in items if item.first not in gone]
        if len(kept) < len(items):
            start = items[0].number or 0
            numbers.update((item.first, start + k) for k, item in enumerate(kept))
    return numbers


def _gone_lines(doc: _Doc, dropped: set[int]) -> set[int]:
    """The lines removed: dropped blocks, tables without rows, headings without a section."""
    blocks = doc.blocks
    for b, block in enumerate(blocks):  # a header's block is followed by its rows
        if block.kind == "header":
            rows = range(b + 1, b + 1 + block.extent - block.last)
            if b in dropped or all(r in dropped for r in rows):
                dropped.update(rows)
                dropped.add(b)
    gone: set[int] = set()
    for b in dropped:
        gone.update(range(blocks[b].first, blocks[b].extent + 1))
    for h in range(len(blocks) - 1, -1, -1):
        heading = blocks[h]
        if heading.kind != "heading" or heading.first in gone:
            continue
        section = []
        for block in blocks[h + 1 :]:
            if block.kind == "heading" and block.level <= heading.level:
                break
            section.append(block)
        if section and all(block.first in gone for block in section):
            gone.add(heading.first)
    return gone


def _assemble(
    doc: _Doc, gone: set[int], rewritten: dict[int, str], numbers: dict[int, int]
) -> str:
    replace = {doc.blocks[b].first: (doc.blocks[b].last, new) for b, new in rewritten.items()}
    replace.update(
        (first, (first, doc.lines[first].rstrip("\r\n")))
        for first in numbers.keys() - replace.keys()
    )
    code = {line for block in doc.blocks if block.kind == "code"
            for line in range(block.first, block.last + 1)}  # fmt: skip
    out: list[str] = []
    gap, i = False, 0
    while i < len(doc.lines):
        line = doc.lines[i]
        if i in gone:
            gap, i = True, i + 1
            continue
        if i in replace:
            last, new = replace[i]
            if i in numbers:
                new = _MARKER_NUMBER.sub(rf"\g<1>{numbers[i]}", new, count=1)
            out.append(new + doc.lines[last][len(doc.lines[last].rstrip("\r\n")) :])
            gap, i = False, last + 1
            continue
        if gap and _blank(line) and i not in code and (not out or _blank(out[-1])):
            i += 1
            continue
        out.append(line)
        gap = gap and _blank(line)
        i += 1
    result = "".join(out).strip("\n")
    return result + "\n" if result and doc.text.endswith("\n") else result
