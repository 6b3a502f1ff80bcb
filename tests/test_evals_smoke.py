"""The answer-quality evals must not rot: a few questions in scripted and offline mode run
end to end (real server, real WebSocket, graded answers) and print the summary.

No assertion on the percentages (`make eval` is where they count), except that the
scripted model, which writes only numbers from its tool results, is 100% correct.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = ("understood:", "numbers correct or unverified:", "model calls per answer:",
           "runs:")


def run_evals(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "evals", "--rows", "2000", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("summary (")[-1]
    for line in SUMMARY:
        assert line in summary, f"{line!r} missing from:\n{done.stdout}"
    return summary


@pytest.mark.parametrize("mode, only", [
    ("scripted", "total_spend,top_feature,features_second,unknown_feature,whatif_gpt4o_mini"),
    ("offline", "total_spend,error_rate,revenue"),
])
def test_a_few_questions_are_asked_and_graded(mode: str, only: str) -> None:
    summary = run_evals("--mode", mode, "--only", only)
    assert f"{mode} mode" in summary
    if mode == "scripted":
        ok = re.search(r"numbers correct or unverified: (\d+)/(\d+) answers \(100\.0%", summary)
        assert ok and ok.group(1) == ok.group(2), summary
