"""The web benchmark must not rot: its quick run measures every figure and exits 0.

No wall-clock assertion here: `make bench` is where the budgets count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.bench_web import FIGURE_NAMES

from tests.browser.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


def test_quick_web_bench_measures_every_figure() -> None:
    assert CHROMIUM.exists()
    env = {**os.environ, "COLUMNS": "250"}  # wide enough that no figure name is wrapped
    done = subprocess.run([sys.executable, "-m", "bench", "web", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("summary")[-1]
    for name in FIGURE_NAMES:
        assert name in summary, f"{name!r} missing from:\n{done.stdout}"
    assert f"{len(FIGURE_NAMES)} figures" in summary
