"""The wheel is complete: built, installed into a clean virtualenv, served, ready.

A module, migration or static file missing from the package fails here, not in production.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from tests.e2e.server import running_server

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_serves(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("netra_apex-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    installed = subprocess.run([str(pip), "install", "--quiet", str(wheel)], capture_output=True,
                               text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    netra = env_dir / "bin" / "netra"
    # Run from an unrelated directory so nothing can be imported from the source tree.
    with running_server(tmp_path / "data", command=[str(netra)]) as server:
        import httpx

        ready = httpx.get(f"{server.base_url}/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"
        page = httpx.get(f"{server.base_url}/", timeout=10)
        assert page.status_code == 200 and "Netra Apex" in page.text
        # Every asset the page loads comes from the wheel.
        for asset in ("/static/js/main.js", "/static/js/charts.js", "/static/css/app.css"):
            answer = httpx.get(f"{server.base_url}{asset}", timeout=30)
            assert answer.status_code == 200 and answer.content, asset
