"""Start-up fails fast and clearly: bad settings, a dead or hanging dependency."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from netra.settings import SettingsError, load_settings
from tests.e2e.server import free_port, server_env

NETRA = [sys.executable, "-m", "netra.cli"]


def run_netra(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        NETRA + args, env=server_env(data_dir, **env), capture_output=True, text=True, timeout=60
    )


def test_production_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    result = run_netra(["serve", "--port", str(free_port())], tmp_path, NETRA_ENV="production")
    assert result.returncode == 2
    assert "NETRA_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_problem_is_listed_in_one_report(tmp_path: Path) -> None:
    result = run_netra(
        ["check-config"],
        tmp_path,
        NETRA_ENV="production",
        NETRA_SECRET_KEY="short",
        NETRA_PORT="not-a-port",
        NETRA_RUN_TIMEOUT_S="-1",
    )
    assert result.returncode == 2
    for name in ("NETRA_SECRET_KEY", "NETRA_PORT", "NETRA_RUN_TIMEOUT_S"):
        assert name in result.stderr
    assert "3 problem" in result.stderr


def test_check_config_passes_with_good_settings(tmp_path: Path) -> None:
    result = run_netra(
        ["check-config"], tmp_path, NETRA_ENV="production", NETRA_SECRET_KEY="x" * 40
    )
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_load_settings_rejects_a_default_secret_in_production() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(env="production")
    assert any("NETRA_SECRET_KEY" in p for p in error.value.problems)
    assert load_settings(env="production", secret_key="y" * 32).env == "production"


def test_python_core_is_auto_off_or_a_core_number_and_a_bad_one_is_named() -> None:
    assert load_settings(python_core="2").python_core == 2
    assert load_settings(python_core="off").python_core == "off"
    for bad in ("banana", "-1", "true"):
        with pytest.raises(SettingsError) as error:
            load_settings(python_core=bad)
        assert str(error.value).count("NETRA_PYTHON_CORE") == 1
        assert "expected auto, off or a core number" in str(error.value)


def test_production_refuses_to_run_without_rate_limits() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(env="production", secret_key="y" * 32, rate_limits=False)
    assert any("NETRA_RATE_LIMITS" in p for p in error.value.problems)
    assert load_settings(env="test", rate_limits=False).rate_limits is False


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung dependency)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_hanging_dependency_fails_its_phase_with_one_clear_line(
    tmp_path: Path, silent_port: int
) -> None:
    result = run_netra(
        ["serve", "--port", str(free_port())],
        tmp_path,
        NETRA_REDIS_URL=f"redis://127.0.0.1:{silent_port}/0",
        NETRA_STARTUP_PHASE_TIMEOUT_S="3",
    )
    assert result.returncode == 1
    line = [text for text in result.stderr.splitlines() if "start-up failed" in text]
    assert len(line) == 1, result.stderr
    assert "event bus" in line[0] and str(silent_port) in line[0]
    assert "Traceback" not in result.stderr


def test_a_dead_database_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = run_netra(
        ["serve", "--port", str(free_port())],
        tmp_path,
        NETRA_DATABASE_URL=f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/x",
    )
    assert result.returncode == 1
    assert "start-up failed in phase 'database + migrations'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_analytics_url_fails_its_phase_with_one_clear_line(tmp_path: Path) -> None:
    result = run_netra(
        ["serve", "--port", str(free_port())],
        tmp_path,
        NETRA_ANALYTICS_URL="mysql://secret-password@db.example:3306/x",
    )
    assert result.returncode == 1
    line = [text for text in result.stderr.splitlines() if "start-up failed" in text]
    assert len(line) == 1, result.stderr
    assert "phase 'analytics store'" in line[0] and "mysql" in line[0]
    assert "secret-password" not in result.stderr and "Traceback" not in result.stderr
