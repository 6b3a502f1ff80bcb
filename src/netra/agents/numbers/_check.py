"""The guard itself: read the answer's numbers, trace them, take out what does not trace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netra.agents.numbers._evidence import add_texts, build_index, traced
from netra.agents.numbers._markdown import parse, remove
from netra.agents.numbers._mentions import scan


@dataclass(frozen=True, slots=True)
class Checked:
    """The answer with every untraceable number taken out, and what was taken out."""

    text: str
    unverified: list[str] = field(default_factory=list)


def check_numbers(text: str, evidence: list[Any], question: str = "") -> Checked:
    """`text` without the sentences, items and rows whose numbers trace to no tool result
    nor the question, and the numbers taken out."""
    doc = parse(text)
    mentions = list(scan(text, doc.mask, doc.listed))
    if not mentions:
        return Checked(text, [])
    index, texts = build_index(evidence, question)
    bad = [mention for mention in mentions if not traced(index, mention)]
    if bad and texts:  # the strings are read only for what the numbers alone do not trace
        add_texts(index, texts)
        bad = [mention for mention in bad if not traced(index.freeze(), mention)]
    if not bad:
        return Checked(text, [])
    return Checked(remove(doc, bad), [mention.text for mention in bad])
