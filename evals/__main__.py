"""`python -m evals [--mode scripted|offline|endpoint] [--rows N] [--only PATTERN] [--json FILE]`

Asks a real `netra serve` the questions of `evals.questions` about a demo dataset and grades
every answer against facts computed independently from an identical copy of that dataset:

- scripted: a scripted model (`evals.scripted`) on a local fake OpenAI server drives the
  real agent: the plumbing (tools, events, numbers guard, follow-ups) end to end;
- offline: no model, the built-in keyword analyst answers;
- endpoint: any OpenAI-compatible endpoint, from NETRA_EVAL_LLM_BASE_URL,
  NETRA_EVAL_LLM_API_KEY and NETRA_EVAL_LLM_MODEL.

It exits 0 when it could measure (the targets are reported, not asserted), 1 when it could
not (the server, the endpoint or the dataset failed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from evals.questions import select
from evals.report import as_json, print_report
from evals.runner import CannotMeasure, Result, run_questions


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("scripted", "offline", "endpoint"), default="scripted")
    parser.add_argument("--rows", type=int, default=20000, help="demo dataset size")
    parser.add_argument("--seed", type=int, default=42, help="demo dataset seed")
    parser.add_argument("--only", help="question ids (fnmatch or substring, comma-separated)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    console = Console(width=max(Console().width, 180))
    questions = select(args.only)
    if not questions:
        console.print(f"no question matches {args.only!r}")
        return 2
    console.print(f"netra evals: {len(questions)} question(s), {args.mode} mode, demo dataset "
                  f"of {args.rows:,} rows (seed {args.seed})")

    def progress(result: Result) -> None:
        g = result.grade
        console.print(escape(f"  {result.question.id}: understood={'yes' if g.understood else 'no'}"
                             f" numbers={'ok' if g.numbers_ok else 'UNTRACED'} "
                             f"({result.run.seconds:.1f} s)"), highlight=False)

    try:
        results, _ = asyncio.run(run_questions(args.mode, questions, rows=args.rows,
                                               seed=args.seed, progress=progress))
    except CannotMeasure as failed:
        console.print(f"[red]could not measure:[/] {escape(str(failed))}")
        return 1
    print_report(console, args.mode, results)
    if args.json:
        args.json.write_text(json.dumps(as_json(args.mode, args.rows, args.seed, results),
                                        indent=2, default=str))
        console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
