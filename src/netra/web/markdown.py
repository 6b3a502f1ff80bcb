"""Answers are Markdown; the page shows them as HTML rendered here, safely.

Answers quote user data (feature names, models, user ids), and whoever sends telemetry
chooses those. So the rule is that nothing in an answer becomes a link or an image:
a Markdown link renders as its text, an image as its alt text, and raw HTML is escaped
(html=False). Answers never need either: every figure comes from a tool, and no answer
points anywhere. Table alignment becomes a class (the page's CSP allows no inline
style). The result then goes through nh3 (the ammonia sanitiser) with an allow-list of
the tags Markdown produces, so a renderer bug cannot put markup on the page either.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALIGN = {f"text-align:{side}": f"align-{side}" for side in ("left", "center", "right")}
_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol",
         "li", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td"}
_CELL_CLASSES = set(_ALIGN.values())


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _plain(children: list[Token]) -> str:
    """An image's alt text as plain text (what the image renderer would put in alt=)."""
    parts: list[str] = []
    for token in children:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.children:
            parts.append(_plain(token.children))
    return "".join(parts)


def _neutralise(children: list[Token]) -> list[Token]:
    """An inline run without links (their text stays) or images (their alt text)."""
    kept: list[Token] = []
    for token in children:
        if token.type in ("link_open", "link_close"):
            continue
        if token.type == "image":
            kept.append(_text(_plain(token.children or [])))
        else:
            kept.append(token)
    return kept


def _prepare(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _neutralise(token.children)
        elif token.type in ("th_open", "td_open"):
            align = _ALIGN.get(str(token.attrs.pop("style", "")))
            if align:
                token.attrs["class"] = align


def render_markdown(text: str) -> str:
    env: dict[str, object] = {}
    tokens = _RENDERER.parse(text, env)
    _prepare(tokens)
    html: str = _RENDERER.renderer.render(tokens, _RENDERER.options, env)
    return nh3.clean(html, tags=_TAGS, attributes={"ol": {"start"}},
                     allowed_classes={"th": _CELL_CLASSES, "td": _CELL_CLASSES},
                     link_rel=None)


# -- answers in sections ---------------------------------------------------------------
#
# An answer goes to the page in chunks and its whole HTML is stored with it; rendering is
# most of what a cached answer costs (markdown-it is pure Python), so each section is
# rendered once. A chunk ends only before a heading, outside a code fence: a heading
# closes every open block (list, table, quote, paragraph), so the chunks rendered one by
# one are, joined, exactly the whole rendered at once.


def _cut(text: str, size: int) -> int:
    """Where a chunk of `text` ends: after the first blank line past `size` characters that
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
    while end := _cut(text, size):
        parts.append(text[:end])
        text = text[end:]
    return [*parts, text] if text else parts


def next_section(buffer: str, size: int) -> int:
    """For text arriving piece by piece: where the chunk at the head of `buffer` ends,
    the same cut `sections` makes of the whole (0: wait for more)."""
    return _cut(buffer, size)


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
