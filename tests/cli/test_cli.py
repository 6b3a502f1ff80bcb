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
    assert events[-1]["agent"] == "supervisor"
    assert "## Executive summary" in events[-1]["payload"]["content"]


def test_ask_prints_the_answer_as_text(tmp_path: Path) -> None:
    result = netra(["ask", "Where does our money go?"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "triage" in result.stdout and "dataset_overview" in result.stdout


def test_migrate(tmp_path: Path) -> None:
    result = netra(["migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "netra.db").exists()


TRACE = (
    "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
    "2023-11-16 18:15:46.6805900,374,44\r\n"
    "2023-11-16 18:15:50.9951690,396,109\r\n"
    "2023-11-16 18:15:51.0000000,-5,109\r\n"
)


def test_ingest_imports_a_file_and_can_add_to_it(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text(TRACE, newline="")
    first = netra(["ingest", str(trace), "--default-provider", "openai",
                   "--default-model", "gpt-4o", "--json"], tmp_path / "data")  # fmt: skip
    assert first.returncode == 0, first.stderr
    body = json.loads(first.stdout)
    assert (body["format"], body["rows"], body["rejected_rows"]) == ("token-trace", 2, 1)
    assert body["rejects"] == [
        {"line": 4, "reason": "input_tokens: must be a whole number ≥ 0 (got '-5')"}
    ]
    expected = ((374 + 396) * 2.5 + (44 + 109) * 10) / 1e6  # gpt-4o: $2.50 / $10 per MTok
    assert abs(body["total_cost_usd"] - expected) < 1e-12
    again = netra(["ingest", str(trace), "--format", "token-trace", "--dataset",
                   body["dataset_id"], "--default-provider", "openai",
                   "--default-model", "gpt-4o"], tmp_path / "data")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "2 rows imported, 1 rejected; 4 rows" in " ".join(again.stdout.split())
    assert "importing trace.csv" in again.stderr and "100%" not in again.stdout  # the bar


def test_ingest_refuses_a_file_without_usable_rows(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text(TRACE, newline="")
    result = netra(["ingest", str(trace)], tmp_path / "data")
    assert result.returncode == 1
    assert "no valid rows in 'trace.csv' (3 rejected)" in result.stderr
    assert "no default_provider" in result.stderr
    missing = netra(["ingest", str(tmp_path / "nope.csv")], tmp_path / "data")
    assert missing.returncode == 2


def test_clean_demo(tmp_path: Path) -> None:
    result = netra(["demo", "--rows", "500", "--seed", "3", "--clean"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Clean demo workload" in result.stdout and "500 requests" in result.stdout
