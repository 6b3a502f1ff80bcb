"""The eval's report: a Rich table per question, a summary, and the same as JSON."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evals.runner import Result

ANSWER_CHARS = 240  # of each answer, shown under its question
TOP_UNTRACED = 5
TARGETS = {"scripted": 90.0, "endpoint": 90.0, "offline": 60.0}  # understood %, reported only


@dataclass(frozen=True)
class Summary:
    mode: str
    questions: int
    understood: int
    numbers_ok: int  # answers whose every number is right or listed as unverified
    mentions: int
    wrong_mentions: int
    unverified_mentions: int
    protocol_ok: int
    errors: int
    mean_model_calls: float
    mean_tokens: float
    total_cost_usd: float | None

    @staticmethod
    def pct(part: int, whole: int) -> float:
        return 100.0 * part / whole if whole else 100.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__,
                "understood_pct": round(self.pct(self.understood, self.questions), 1),
                "numbers_ok_pct": round(self.pct(self.numbers_ok, self.questions), 1),
                "mentions_ok_pct": round(self.pct(
                    self.mentions - self.wrong_mentions + self.unverified_mentions,
                    self.mentions + self.unverified_mentions), 1)}


def summarize(mode: str, results: list[Result]) -> Summary:
    grades = [r.grade for r in results]
    costs = [g.cost_usd for g in grades if g.cost_usd is not None]
    return Summary(
        mode=mode, questions=len(results),
        understood=sum(g.understood for g in grades),
        numbers_ok=sum(g.numbers_ok for g in grades),
        mentions=sum(g.mentions for g in grades),
        wrong_mentions=sum(len(g.wrong) for g in grades),
        unverified_mentions=sum(len(g.unverified) for g in grades),
        protocol_ok=sum(not r.run.protocol for r in results),
        errors=sum(bool(r.run.error) for r in results),
        mean_model_calls=statistics.fmean([g.model_calls for g in grades]) if grades else 0.0,
        mean_tokens=statistics.fmean([g.tokens for g in grades]) if grades else 0.0,
        total_cost_usd=round(sum(costs), 6) if costs else None,
    )


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def question_table(mode: str, results: list[Result]) -> Table:
    table = Table(title=f"netra evals: {mode} mode", title_justify="left", show_lines=True)
    table.add_column("question", min_width=64, ratio=4)
    table.add_column("kind")
    table.add_column("understood", ratio=2)
    table.add_column("numbers", ratio=2)
    for name in ("calls", "tokens", "s"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("tools", ratio=2)
    for r in results:
        g, run = r.grade, r.run
        understood = _mark(g.understood)
        if g.missing:
            understood += "\n" + escape("missing: " + "; ".join(g.missing))
        if run.error:
            understood += f"\n[red]{escape(run.error)}[/]"
        numbers = _mark(g.numbers_ok) + f" {g.correct}/{g.mentions}"
        if g.wrong:
            numbers += "\n" + escape("untraced: " + ", ".join(g.wrong))
        if g.unverified:
            numbers += "\n" + escape("unverified: " + ", ".join(g.unverified))
        if run.protocol:
            numbers += f"\n[red]protocol: {escape(run.protocol)}[/]"
        label = r.question.id + (f" [dim]({r.question.thread})[/]" if r.question.thread else "")
        answer = " ".join(run.content.split())
        answer = answer[:ANSWER_CHARS] + ("…" if len(answer) > ANSWER_CHARS else "")
        table.add_row(label + "\n" + escape(r.question.text) + "\n[dim]→ " + escape(answer) + "[/]",
                      r.question.kind,
                      understood, numbers, str(g.model_calls), f"{g.tokens:,}",
                      f"{run.seconds:.1f}", escape(", ".join(run.tools)))
    return table


def kind_table(results: list[Result]) -> Table:
    by_kind: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_kind[r.question.kind].append(r)
    table = Table(title="by kind", title_justify="left")
    for name in ("kind", "questions", "understood", "numbers ok"):
        table.add_column(name, justify="left" if name == "kind" else "right")
    for kind, group in by_kind.items():
        table.add_row(kind, str(len(group)), str(sum(r.grade.understood for r in group)),
                      str(sum(r.grade.numbers_ok for r in group)))
    return table


def summary_lines(s: Summary) -> list[str]:
    target = TARGETS.get(s.mode, 90.0)
    cost = "n/a" if s.total_cost_usd is None else f"${s.total_cost_usd:.4f}"
    return [
        f"summary ({s.mode} mode, {s.questions} questions)",
        f"understood: {s.understood}/{s.questions} "
        f"({s.pct(s.understood, s.questions):.1f}%; target ≥ {target:.0f}%)",
        f"numbers correct or unverified: {s.numbers_ok}/{s.questions} answers "
        f"({s.pct(s.numbers_ok, s.questions):.1f}%; target 100%)",
        f"number mentions: {s.mentions - s.wrong_mentions}/{s.mentions} traceable or expected, "
        f"{s.wrong_mentions} untraced, {s.unverified_mentions} taken out by the guard",
        f"model calls per answer: {s.mean_model_calls:.2f} mean; tokens per answer: "
        f"{s.mean_tokens:,.0f} mean; model cost of all answers: {cost}",
        f"runs: {s.protocol_ok}/{s.questions} keep the protocol's run invariants, "
        f"{s.errors} failed",
    ]


def untraced_line(results: list[Result]) -> str | None:
    """The numbers most often untraced, and in how many answers: one boilerplate line
    repeated in many answers reads differently from many wrong figures."""
    answers = Counter(text for r in results for text in set(r.grade.wrong))
    if not answers:
        return None
    return "most often untraced: " + ", ".join(
        f"{text!r} in {n} answer(s)" for text, n in answers.most_common(TOP_UNTRACED))


def print_report(console: Console, mode: str, results: list[Result]) -> Summary:
    console.print(question_table(mode, results))
    console.print(kind_table(results))
    s = summarize(mode, results)
    lines = summary_lines(s)
    if (untraced := untraced_line(results)) is not None:
        lines.insert(4, untraced)
    for line in lines:
        console.print(escape(line), highlight=False)
    return s


def as_json(mode: str, rows: int, seed: int, results: list[Result]) -> dict[str, Any]:
    return {
        "mode": mode, "rows": rows, "seed": seed,
        "summary": summarize(mode, results).as_dict(),
        "questions": [{
            "id": r.question.id, "text": r.question.text, "kind": r.question.kind,
            "thread": r.question.thread,
            "expected": [{"label": e.label, "unit": e.unit, "values": list(e.values),
                          "phrases": list(e.phrases)} for e in r.expected],
            "answer": r.run.content, "understood": r.grade.understood,
            "missing": r.grade.missing, "numbers_ok": r.grade.numbers_ok,
            "mentions": r.grade.mentions, "untraced": r.grade.wrong,
            "unverified": r.grade.unverified, "model_calls": r.grade.model_calls,
            "tokens": r.grade.tokens, "cost_usd": r.grade.cost_usd, "tools": r.run.tools,
            "seconds": round(r.run.seconds, 3), "error": r.run.error,
            "protocol": r.run.protocol, "fallback": r.run.report.get("fallback"),
        } for r in results],
    }
