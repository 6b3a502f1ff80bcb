"""Answers are Markdown; the page shows them as HTML rendered here, safely.

Answers quote user data (feature names, models, user ids), and whoever sends telemetry
chooses those. So the rule is that nothing in an answer becomes a link or an image:
a Markdown link renders as its text, an image as its alt text, and raw HTML is escaped
(the renderer's HTML rules are off). Answers never need either: every figure comes from a
tool, and no answer points anywhere. Table alignment becomes a class (the page's CSP
allows no inline style). The result then goes through nh3 (the ammonia sanitiser) with an
allow-list of the tags Markdown produces, so a renderer bug cannot put markup on the page
either: a link's `<a>` is not on it (nh3 keeps its text), and an image was made its alt
text before.

The renderer is markdown-it-pyrs (markdown-it in Rust, by markdown-it-py's authors, the
same CommonMark and tables): the pure-Python one took a quarter of a fresh answer's
server CPU, ~5 ms for a 9 KB report against ~0.4 ms.
"""

from __future__ import annotations

import functools
import re

import nh3
from markdown_it_pyrs import MarkdownIt

# CommonMark without raw HTML (escaped as text) and without autolinks (`<https://…>`
# stays text), plus tables.
_RENDERER = MarkdownIt("zero").enable_many([
    "blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph",
    "reference", "backticks", "emphasis", "entity", "escape", "image", "link", "newline",
    "table"])
_ALIGN = re.compile(r' style="text-align:(left|center|right)"')
# The renderer's own <img> (attribute values escaped by it): its alt text, as text.
_IMAGE = re.compile(r'<img src="[^"]*" alt="([^"]*)"(?: title="[^"]*")? ?/?>')
_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol",
         "li", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td"}
_CELL_CLASSES = {f"align-{side}" for side in ("left", "center", "right")}


def render_markdown(text: str) -> str:
    html = _RENDERER.render(text)
    html = _IMAGE.sub(r"\1", _ALIGN.sub(r' class="align-\1"', html))
    return nh3.clean(html, tags=_TAGS, attributes={"ol": {"start"}},
                     allowed_classes={"th": _CELL_CLASSES, "td": _CELL_CLASSES},
                     link_rel=None)


# -- answers in sections ---------------------------------------------------------------
#
# An answer goes to the page in chunks and its whole HTML is stored with it and read back
# with the history: each section is rendered once and its HTML reused. A chunk ends only
# before a heading, outside a code fence: a heading closes every open block (list, table,
# quote, paragraph), so the chunks rendered one by one are, joined, exactly the whole
# rendered at once.


def next_section(text: str, size: int) -> int:
    """Where the chunk at the head of `text` ends (text arriving piece by piece is cut
    where `sections` cuts the whole): after the first blank line past `size` characters that
    a heading follows, outside a code fence (0: not in `text` yet)."""
    start = size
    while (blank := text.find("\n\n", start)) != -1:
        after = blank + 2
        if after < len(text) and text[after] == "#" and text.count("```", 0, blank) % 2 == 0:
            return after
        start = after
    return 0


def sections(text: str, size: int) -> list[str]:
    """`text` in chunks of whole sections, each at least `size` characters but the last."""
    parts: list[str] = []
    while end := next_section(text, size):
        parts.append(text[:end])
        text = text[end:]
    return [*parts, text] if text else parts


# The same sections come back: the same answer written again (the same question on the
# same version), a chunk sent and then the whole stored, the history read again.
_section_html = functools.lru_cache(maxsize=512)(render_markdown)

ANSWER_CHUNK = 1500  # characters: a few large chunks an answer, not one event a line


def render_answer(text: str) -> str:
    """The whole answer's HTML, from its sections' (each rendered once)."""
    return "".join(_section_html(part) for part in sections(text, ANSWER_CHUNK))


def render_section(text: str) -> str:
    """A chunk's HTML (a chunk `sections` made)."""
    return _section_html(text)
