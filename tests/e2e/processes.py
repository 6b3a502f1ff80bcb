"""Real processes a fault test kills and restarts: a private Redis, and netra processes
(serve or worker) started without a context manager so a test can SIGKILL them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.e2e.server import READY_TIMEOUT_S, Server, free_port, server_env, wait_ready

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class PrivateRedis:
    """A real Redis on its own port, so a test can stop it without touching the
    machine's shared one."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        while True:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    client.close()
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)  # polling readiness, bounded by the deadline

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    if not Path(REDIS_SERVER).exists():
        import pytest

        pytest.skip("redis-server is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    server = PrivateRedis(free_port(), directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class Netra:
    """One `netra serve` or `netra worker` process."""

    role: str
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> Server:
        assert self.process is not None
        return Server(f"http://127.0.0.1:{self.port}", f"ws://127.0.0.1:{self.port}/ws",
                      self.process, self.log_path)

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.role}-{self.port}.log"

    def start(self) -> Netra:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "netra.cli", self.role, "--port", str(self.port)]
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(argv, env=server_env(self.data_dir, **self.env),
                                            stdout=log_file, stderr=subprocess.STDOUT,
                                            cwd=self.data_dir)
        wait_ready(f"http://127.0.0.1:{self.port}", self.process, self.log_path)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def netra_processes() -> Iterator[list[Netra]]:
    """Collects the processes a test starts and stops whatever is left at the end."""
    started: list[Netra] = []
    try:
        yield started
    finally:
        for process in started:
            process.stop()


__all__ = ["READY_TIMEOUT_S", "Netra", "PrivateRedis", "netra_processes", "private_redis"]
