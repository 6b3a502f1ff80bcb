"""The benchmark code must not rot: its quick run measures every figure and exits 0.

It does not check the numbers (no wall-clock assertions): `make bench` is where they count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.bench_golden_path import FIGURE_NAMES

ROOT = Path(__file__).resolve().parent.parent


def test_quick_golden_path_bench_measures_every_figure() -> None:
    env = {**os.environ, "COLUMNS": "250"}  # wide enough that no figure name is wrapped
    done = subprocess.run(
        [sys.executable, "-m", "bench", "golden_path", "--quick"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("summary")[-1]
    for name in FIGURE_NAMES:
        assert name in summary, f"{name!r} missing from:\n{done.stdout}"
    assert f"{len(FIGURE_NAMES)} figures" in summary
