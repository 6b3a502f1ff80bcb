"""The built-in offline analyst: deterministic keyword classification, draft as answer."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator, Mapping

from netra.agents.llm import WritingBrief

_WORD = re.compile(r"[a-z0-9]+")
# Longest first, so "ations" wins over "s".
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")
_MIN_STEM = 3

# A word list reads better as prose than as 130 quoted strings.
_STOP_TEXT = """a about above after again all am an and any are as at be been before being below
between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most
my no nor not now of off on once only or other our ours out over own same she should so some
such than that the their theirs them then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you your
yours e g eg etc words word signal signals"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def stem(word: str) -> str:
    """A crude stem, enough that "caching", "cached" and "cache" meet."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    if len(word) > _MIN_STEM and word[-1] in "ey":
        word = word[:-1]
    return word


# Cached: every run classifies against the same label descriptions, and stemming them
# anew took 0.4 ms of the event loop per run.
@functools.lru_cache(maxsize=1024)
def keywords(text: str) -> frozenset[str]:
    """The stems of the words in `text` that carry meaning."""
    return frozenset(stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS)


def classify_by_keywords(question: str, labels: Mapping[str, str]) -> str:
    """The label whose description shares the most keywords with the question.

    Ties (including no overlap at all) go to the earliest label, so callers list a
    sensible default first.
    """
    if not labels:
        raise ValueError("classify needs at least one label")
    asked = keywords(question)
    best_label, best_score = "", -1
    for label, description in labels.items():
        score = len(asked & keywords(description))
        if score > best_score:
            best_label, best_score = label, score
    return best_label


def split_into_chunks(text: str) -> Iterator[str]:
    """Natural streaming chunks: paragraphs, each with the blank line that ends it; they
    join to `text`. The reporting agent sends whole sections, so finer pieces (a line, a
    few words) changed no event and cost a pass of its loop each."""
    start = 0
    while (end := text.find("\n\n", start)) != -1:
        yield text[start:end + 2]
        start = end + 2
    if start < len(text):
        yield text[start:]


class OfflineAnalyst:
    """The default model: no network, same answer for the same input."""

    name = "offline"

    async def classify(self, question: str, labels: Mapping[str, str]) -> str:
        return classify_by_keywords(question, labels)

    async def write(self, brief: WritingBrief) -> AsyncIterator[str]:
        for chunk in split_into_chunks(brief.draft):
            yield chunk

    async def close(self) -> None:
        return None
