"""Start the real server (`netra serve`) in a subprocess on a free port, and talk to it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base_url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETRA_")}
    env.update({"NETRA_ENV": "test", "NETRA_DATA_DIR": str(data_dir), "NETRA_LOG_LEVEL": "WARNING"})
    env.update(extra)
    # Test and benchmark servers sign up hundreds of users from one address and send
    # bursts: rate limits off, unless a test of them turns them on (production refuses off).
    if env["NETRA_ENV"] != "production":
        env.setdefault("NETRA_RATE_LIMITS", "off")
    return env


def wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)  # polling a readiness endpoint, bounded by the deadline
    raise RuntimeError(f"server not ready in {READY_TIMEOUT_S} s:\n{log_path.read_text()}")


@contextlib.contextmanager
def running_server(
    data_dir: Path, command: list[str] | None = None, **env: str
) -> Iterator[Server]:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / "server.log"
    argv = (command or [sys.executable, "-m", "netra.cli"]) + ["serve", "--port", str(port)]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            argv,
            env=server_env(data_dir, **env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, process, log_path)
            yield Server(base, f"ws://127.0.0.1:{port}/ws", process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
