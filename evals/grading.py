"""Grading one answer: did it understand the question (every expected fact is there), and
is every number in it right (an expected fact, or traceable to that run's tool results,
or taken out by the product's guard and listed in `report.unverified`)?"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from evals.facts import Expected, matches, present
from evals.questions import Question
from netra.agents.numbers import check_numbers, number_mentions

_BULLET = re.compile(r"^(?:[-*+•]|\d{1,2}[.)])\s+\S", re.M)


@dataclass
class Run:
    """What one question's run produced, read from its events."""

    content: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    evidence: list[Any] = field(default_factory=list)  # tool_completed results
    tools: list[str] = field(default_factory=list)  # "name" or "name!" when it failed
    terminal: str = ""  # agent_completed | agent_error | run_cancelled | timeout
    error: str = ""  # the run's agent_error, or why it could not be read (a timeout)
    protocol: str = ""  # the PROTOCOL.md run invariant it broke, if any
    seconds: float = 0.0

    @classmethod
    def from_events(cls, events: list[dict[str, Any]], seconds: float) -> Run:
        run = cls(seconds=seconds)
        for event in events:
            payload = event.get("payload") or {}
            if event["type"] == "tool_completed":
                run.tools.append(payload["tool"] + ("" if payload.get("ok") else "!"))
                if payload.get("ok") and "result" in payload:
                    run.evidence.append(payload["result"])
        last = events[-1] if events else {}
        run.terminal = str(last.get("type", ""))
        payload = last.get("payload") or {}
        if run.terminal == "agent_completed":
            run.content = str(payload.get("content") or "")
            run.report = dict(payload.get("report") or {})
        elif run.terminal == "agent_error":
            run.error = f"agent_error {payload.get('code')}: {payload.get('message')}"
        return run


@dataclass
class Grade:
    understood: bool
    missing: list[str]  # the expected facts the answer lacks
    mentions: int  # numbers the answer states
    wrong: list[str]  # stated numbers neither expected nor traceable to the run's tools
    unverified: list[str]  # numbers the product's guard took out (report.unverified)
    bullets: int | None  # top-level list items, when the question asks for a number of them
    model_calls: int
    tokens: int
    cost_usd: float | None

    @property
    def numbers_ok(self) -> bool:
        return not self.wrong

    @property
    def correct(self) -> int:
        return self.mentions - len(self.wrong)


def bullet_count(text: str) -> int:
    return len(_BULLET.findall(text))


def grade(question: Question, expected: list[Expected], run: Run) -> Grade:
    text = run.content
    mentions = number_mentions(text)
    missing = [f"{fact.label} ({fact.shown()})" for fact in expected
               if not present(fact, text, mentions)]
    bullets = None
    if question.bullets is not None:
        bullets = bullet_count(text)
        if bullets != question.bullets:
            missing.append(f"{question.bullets} bullet points (got {bullets})")
    untraced = Counter(check_numbers(text, run.evidence, question.text).unverified)
    wrong = []
    for mention in mentions:
        if untraced[mention.text] <= 0:
            continue  # the guard traces it to a tool result or the question
        untraced[mention.text] -= 1
        if not any(matches(fact, mention) for fact in expected):
            wrong.append(mention.text)
    usage = run.report.get("usage") or {}
    return Grade(
        understood=not missing and not run.error,
        missing=missing,
        mentions=len(mentions),
        wrong=wrong,
        unverified=[str(u) for u in run.report.get("unverified") or []],
        bullets=bullets,
        model_calls=int(usage.get("model_calls") or 0),
        tokens=int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0),
        cost_usd=usage.get("cost_usd"),
    )
