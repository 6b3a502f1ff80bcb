"""What an operator relies on: health, readiness with per-dependency latency, metrics."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.e2e.client import signup
from tests.e2e.server import Server


async def test_liveness_and_readiness_report_each_dependency(
    server: Server, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/health/live")).json() == {"status": "ok"}
    ready = await http.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "tickets", "event_bus", "analytics", "run_queue"}
    for check in body["checks"].values():
        assert check["ok"] is True and check["latency_ms"] >= 0
    assert body["degraded"] == []
    queue = body["checks"]["run_queue"]
    assert queue["executes_runs"] is True and queue["live_workers"] == 1
    assert queue["depth"] >= 0


async def test_metrics_count_requests_sockets_runs_and_delivery(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    thread_id = await user.thread()
    socket = await user.socket()
    accepted = await socket.ask(thread_id, "How can we save?")
    await socket.run_events(accepted["run_id"])
    text = (await http.get("/metrics")).text
    await socket.close()
    assert 'netra_http_requests_total{method="POST",route="/api/threads",status="201"}' in text
    assert "netra_open_websockets" in text
    assert 'netra_runs_total{status="completed"}' in text
    delivered = [line for line in text.splitlines()
                 if line.startswith("netra_event_delivery_seconds_count")]
    assert delivered and float(delivered[0].split()[-1]) > 0


async def test_the_server_runs_on_uvloop(server: Server, http: httpx.AsyncClient) -> None:
    """`netra serve` chooses uvloop where it is installed, as it is here."""
    text = (await http.get("/metrics")).text
    assert 'netra_event_loop_info{implementation="uvloop"} 1.0' in text


def _metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


async def test_sqlite_wal_is_checkpointed_in_the_background(
    server: Server, http: httpx.AsyncClient
) -> None:
    deadline = time.monotonic() + 10
    while True:  # the first checkpoint comes half a second after start-up
        checkpoints = _metric((await http.get("/metrics")).text,
                              "netra_sqlite_checkpoint_seconds_count")
        if checkpoints > 0:
            break
        assert time.monotonic() < deadline, "no background checkpoint in 10 s"
        await asyncio.sleep(0.1)
