"""The agent's evaluation (`make eval`), summarised: how many of the evaluation's questions
were understood and how many answers had every number right or listed as unverified, with
the scripted model (the real agent over the real Chat Completions protocol) and offline
(the built-in analyst). The baseline of "understood" is the share of questions asked.

A capable real model is measured with `python -m evals --mode endpoint` where one is
reachable; the scripted model's figures show the plumbing, not a model's understanding.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._common import Figure

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"scripted": 90.0, "offline": 60.0}  # understood %, at least

FIGURE_NAMES = (
    "eval scripted: understood",
    "eval scripted: answers with every number right or unverified",
    "eval scripted: model calls per answer",
    "eval offline: understood",
    "eval offline: answers with every number right or unverified",
)


def run(args: argparse.Namespace) -> list[Figure]:
    rows = 2000 if args.quick else 20000
    only = ["--only", "total_spend,top_feature,revenue"] if args.quick else []
    figures: list[Figure] = []
    for mode in ("scripted", "offline"):
        summary = _evaluate(mode, rows, only)
        asked = float(summary["questions"])
        understood = 100 * summary["understood"] / asked
        figures.append(Figure(f"eval {mode}: understood", understood, "%",
                              detail=f"{summary['understood']} of {summary['questions']} "
                              f"questions, {rows:,}-row demo dataset; target ≥ "
                              f"{TARGETS[mode]:g}% (a floor, not a ceiling)"))
        numbers = 100 * summary["numbers_ok"] / asked
        figures.append(Figure(f"eval {mode}: answers with every number right or unverified",
                              numbers, "%", detail=f"{summary['numbers_ok']} of "
                              f"{summary['questions']}; target 100% with a model"))
        if mode == "scripted":
            figures.append(Figure("eval scripted: model calls per answer",
                                  float(summary["mean_model_calls"]), "calls",
                                  detail=f"{summary['mean_tokens']:,.0f} tokens per answer"))
    return figures


def _evaluate(mode: str, rows: int, only: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="netra-eval-") as tmp:
        out = Path(tmp) / "eval.json"
        done = subprocess.run(
            [sys.executable, "-m", "evals", "--mode", mode, "--rows", str(rows), *only,
             "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"evals --mode {mode} failed:\n{done.stdout[-3000:]}"
                               f"{done.stderr[-3000:]}")
        summary: dict[str, Any] = json.loads(out.read_text())["summary"]
        return summary


__all__ = ["FIGURE_NAMES", "run"]
