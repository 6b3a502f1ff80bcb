"""The golden path on the engines that grow past one machine: PostgreSQL for state and
Redis for event fan-out and tickets, with two server instances sharing them."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.client import check_run_invariants, signup
from tests.e2e.server import running_server
from tests.e2e.test_golden_path import golden_path


async def test_golden_path_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    with running_server(tmp_path / "pg", NETRA_DATABASE_URL=postgres_url) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            await golden_path(http, server.ws_url)


async def test_two_instances_share_postgresql_and_redis(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """A socket on instance B follows a run that a message to instance A started."""
    shared = {"NETRA_DATABASE_URL": postgres_url, "NETRA_REDIS_URL": redis_url}
    with (
        running_server(tmp_path / "a", **shared) as a,
        running_server(tmp_path / "b", **shared) as b,
    ):
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=30) as http_a,
            httpx.AsyncClient(base_url=b.base_url, timeout=30) as http_b,
        ):
            user = await signup(http_a, a.ws_url)
            thread_id = await user.thread()
            user.ws_url = b.ws_url  # ticket issued by A, redeemed by B: shared in Redis
            watcher = await user.socket()
            assert (await http_b.get("/api/threads", headers=user.auth)).status_code == 200
            response = await user.post(
                f"/api/threads/{thread_id}/messages", {"content": "How can we cut costs?"}
            )
            assert response.status_code == 202, response.text
            events = await watcher.run_events(response.json()["run"]["id"])
            check_run_invariants(events)
            assert events[-1]["type"] == "agent_completed"
            await watcher.close()
