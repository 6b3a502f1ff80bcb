"""Hostile or unlucky clients: bad tickets, reused refresh tokens, malformed frames."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.e2e.client import signup
from tests.e2e.server import Server, running_server


async def _refused(url: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    return refused.value.response.status_code


async def test_missing_unknown_and_used_tickets_are_refused(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    assert await _refused(server.ws_url) == 403
    assert await _refused(f"{server.ws_url}?ticket=not-a-ticket") == 403
    ticket = await user.ticket()
    async with connect(f"{server.ws_url}?ticket={ticket}") as ws:
        assert json.loads(await ws.recv())["type"] == "connected"
    assert await _refused(f"{server.ws_url}?ticket={ticket}") == 403  # single use


async def test_expired_ticket_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("ttl"), NETRA_WS_TICKET_TTL_S="1") as short:
        async with httpx.AsyncClient(base_url=short.base_url, timeout=30) as client:
            user = await signup(client, short.ws_url)
            ticket = await user.ticket()
            await asyncio.sleep(1.5)  # past the configured 1 s lifetime, not a race
            assert await _refused(f"{short.ws_url}?ticket={ticket}") == 403


async def test_refresh_rotates_and_reuse_revokes_the_login(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    first = await http.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    newer = first.json()["refresh_token"]
    assert newer != user.refresh_token
    reuse = await http.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "unauthorized"
    # The reuse looked like theft: the newer token of that login is revoked too.
    after = await http.post("/api/auth/refresh", json={"refresh_token": newer})
    assert after.status_code == 401


async def test_unauthenticated_and_bad_requests_use_the_error_envelope(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.get("/api/threads")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    short = await http.post(
        "/api/auth/signup", json={"email": "x@example.com", "password": "short"}
    )
    assert short.status_code == 422 and short.json()["error"]["code"] == "validation_error"
    user = await signup(http, server.ws_url)
    missing = await user.get("/api/threads/does-not-exist")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = await http.post(
        "/api/threads",
        content=b"{not json",
        headers={**user.auth, "content-type": "application/json"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    login = await http.post("/api/auth/login", json={"email": user.email, "password": "wrong-pass"})
    assert login.status_code == 401


async def test_hostile_frames_get_errors_and_the_socket_stays_usable(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    thread_id = await user.thread()
    socket = await user.socket()
    cases = [
        ("this is not json", "bad_request"),
        (json.dumps([1, 2, 3]), "bad_request"),
        (json.dumps({"type": "launch_missiles"}), "bad_request"),
        (json.dumps({"type": "user_message", "thread_id": 5, "content": "x"}), "bad_request"),
        (json.dumps({"type": "resume", "run_id": "nope", "after_seq": 0}), "not_found"),
        (
            json.dumps(
                {"type": "user_message", "thread_id": thread_id, "content": "x" * (16 * 1024 + 1)}
            ),
            "too_large",
        ),
        ("{" + " " * (80 * 1024) + "}", "too_large"),
    ]
    for frame, code in cases:
        await socket.send(frame)
        error = await socket.until(lambda f: f["type"] == "error")
        assert error["code"] == code, (frame[:60], error)
        assert error["message"]
    await socket.ws.send(b"\x00\x01binary")
    assert (await socket.until(lambda f: f["type"] == "error"))["code"] == "bad_request"
    await socket.send({"type": "ping"})
    assert (await socket.until(lambda f: f["type"] in ("pong", "error")))["type"] == "pong"
    accepted = await socket.ask(thread_id, "still works?")
    assert accepted["type"] == "message_accepted"
    await socket.run_events(accepted["run_id"])
    await socket.close()
