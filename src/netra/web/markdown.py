"""Answers are Markdown; the page shows them as HTML rendered here, safely.

Raw HTML in the source is escaped (html=False) and markdown-it validates link targets
(no javascript: URLs), so the output is safe to insert into the page as it is.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str) -> str:
    html: str = _RENDERER.render(text)
    return html
