"""`netra smoke URL` against a live server (green, every step shown), one with a broken
step (its Redis stopped: red at the WebSocket ticket) and a dead URL (red, non-zero,
saying what failed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.processes import private_redis
from tests.e2e.server import Server, free_port, running_server

STEPS = ["server ready", "signed in", "demo dataset loaded", "thread opened",
         "WebSocket ticket", "WebSocket connected", "question accepted",
         "event agent_started", "event agent_thinking", "event tool_executing",
         "event tool_completed", "event agent_completed", "answer stored",
         "dataset deleted", "thread deleted"]


def _smoke(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netra.cli", "smoke", url, *args],
                          capture_output=True, text=True, timeout=300, check=False)


def test_smoke_passes_against_a_live_server(server: Server) -> None:
    done = _smoke(server.base_url)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for step in STEPS:
        assert any(line.startswith(f"ok   {step}") for line in lines), (step, done.stdout)
    assert "smoke test passed" in lines[-1]


def test_smoke_fails_at_the_broken_step(tmp_path: Path) -> None:
    with private_redis(tmp_path / "redis") as redis_server, \
            running_server(tmp_path / "data", NETRA_REDIS_URL=redis_server.url) as server:
        redis_server.kill()  # tickets live in Redis: the WebSocket step cannot pass
        done = _smoke(server.base_url)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for step in STEPS[:4]:  # what works before the broken step is shown working
        assert any(line.startswith(f"ok   {step}") for line in lines), (step, done.stdout)
    assert "FAIL WebSocket ticket" in done.stderr and "503" in done.stderr, done.stderr
    assert "question accepted" not in done.stdout


def test_smoke_fails_clearly_against_a_dead_url() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = _smoke(dead)
    assert done.returncode == 1
    assert "FAIL server ready" in done.stderr and "smoke test FAILED" in done.stderr
    assert "Connect" in done.stderr  # what failed: the connection


def test_smoke_refuses_a_url_that_is_not_http() -> None:
    done = _smoke("ftp://example.com")
    assert done.returncode == 2 and "not an http" in done.stderr
