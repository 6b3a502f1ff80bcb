"""The benchmark code must not rot: its quick run measures every figure and exits 0.

It does not check the numbers (no wall-clock assertions): `make bench` is where they count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from bench import (
    bench_answers,
    bench_dashboard,
    bench_durable_runs,
    bench_eval,
    bench_golden_path,
    bench_scale_out,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module", [bench_golden_path, bench_durable_runs, bench_scale_out,
                                    bench_answers, bench_eval, bench_dashboard],
                         ids=lambda m: m.__name__.removeprefix("bench.bench_"))
def test_quick_bench_measures_every_figure(module: ModuleType) -> None:
    name = module.__name__.removeprefix("bench.bench_")
    figures = module.FIGURE_NAMES
    if name == "scale_out" and not os.environ.get("NETRA_TEST_DATABASE_URL"):
        from tests.conftest import _skip_or_fail

        _skip_or_fail("the scale-out benchmark needs PostgreSQL: NETRA_TEST_DATABASE_URL")
    before = getattr(module, "BEFORE", None)
    if before and subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{before}^{{commit}}"], capture_output=True,
    ).returncode != 0:
        pytest.skip(f"the baseline commit {before} is not in this checkout")
    env = {**os.environ, "COLUMNS": "250"}  # wide enough that no figure name is wrapped
    done = subprocess.run(
        [sys.executable, "-m", "bench", name, "--quick"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("─ summary ─")[-1]  # the summary's rule, not a figure's text
    for figure in figures:
        assert figure in summary, f"{figure!r} missing from:\n{done.stdout}"
    assert f"{len(figures)} figures" in summary
