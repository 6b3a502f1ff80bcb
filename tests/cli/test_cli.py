"""The `netra` command on a real data directory: demo, ask, migrate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.server import server_env

NETRA = [sys.executable, "-m", "netra.cli"]


def netra(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(NETRA + args, env=server_env(data_dir), capture_output=True, text=True,
                          timeout=180)


def test_demo_is_idempotent_and_prints_the_login(tmp_path: Path) -> None:
    first = netra(["demo", "--rows", "500"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "demo@netra.local" in first.stdout and "demo-password" in first.stdout
    again = netra(["demo", "--rows", "500"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert first.stdout.splitlines()[0] == again.stdout.splitlines()[0]  # same dataset


def test_ask_runs_the_pipeline_and_streams_events(tmp_path: Path) -> None:
    assert netra(["demo", "--rows", "1000"], tmp_path).returncode == 0
    result = netra(["ask", "How can we cut our LLM costs?", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = {e["type"] for e in events}
    assert {"agent_started", "agent_thinking", "tool_executing", "tool_completed",
            "agent_completed"} <= kinds
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["agent"] == "supervisor" and "## Summary" in events[-1]["payload"]["content"]


def test_ask_prints_the_answer_as_text(tmp_path: Path) -> None:
    result = netra(["ask", "Where does our money go?"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "triage" in result.stdout and "dataset_overview" in result.stdout


def test_migrate(tmp_path: Path) -> None:
    result = netra(["migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "netra.db").exists()
