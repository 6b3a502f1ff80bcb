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
