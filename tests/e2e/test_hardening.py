"""What an attacker's test session found, each checked against the real server: bodies
bounded before they are read, hostile input answered (never a 500, never a dropped
socket), a thread deleted under a running run, the browser defences, the WebSocket's
origin check, the metrics token and the API docs switch."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.client import User, signup
from tests.e2e.server import Server, running_server
from tests.fakes.openai_server import FakeOpenAI, ToolCall, running_fake_openai

MB = 1024 * 1024
DEPTH_LIMIT = 64


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _raw_status(server: Server, head: str) -> tuple[int, dict[str, Any]]:
    """Send a request's head only (no body) and read the answer: a server that waited for
    the body would never answer."""
    address = urlsplit(server.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
        await writer.drain()
        status = int((await asyncio.wait_for(reader.readline(), 30)).split()[1])
        length = 0
        while (line := await asyncio.wait_for(reader.readline(), 30)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = json.loads(await asyncio.wait_for(reader.readexactly(length), 30))
        return status, body
    finally:
        writer.close()


async def test_a_body_declared_over_its_limit_is_refused_unread(server: Server) -> None:
    host = urlsplit(server.base_url).netloc
    status, body = await _raw_status(server, (
        f"POST /api/auth/login HTTP/1.1\nHost: {host}\nContent-Type: application/json\n"
        f"Content-Length: {300 * MB}\n"))
    assert status == 413 and body["error"]["code"] == "too_large", body


async def test_streamed_bodies_past_the_limit_are_cut_off_with_memory_bounded(
    server: Server, http: httpx.AsyncClient
) -> None:
    async def fifty_megabytes() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b" " * MB  # no Content-Length: sent chunked, counted as it comes

    before = _rss_bytes(server.process.pid)
    peak = before
    sending = asyncio.gather(*(http.post("/api/auth/login", content=fifty_megabytes(),
                                         headers={"Content-Type": "application/json"})
                               for _ in range(4)))
    while not sending.done():
        peak = max(peak, _rss_bytes(server.process.pid))
        await asyncio.sleep(0.005)  # sampling the server's memory while it receives
    for response in await sending:
        assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    # Four 50 MB bodies read whole would take 200 MB and more; the limit is 256 KiB each.
    assert peak - before < 64 * MB, f"RSS grew by {(peak - before) / MB:.0f} MB"


async def _api_key(user: User) -> str:
    response = await user.post("/api/api-keys", {"name": "collector"})
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def _records(count: int, feature: str = "search") -> list[dict[str, Any]]:
    return [{"ts": f"2026-11-{1 + i % 28:02d}T10:00:00Z", "provider": "openai",
             "model": "gpt-4o", "input_tokens": 1000 + i, "output_tokens": 100,
             "feature": feature, "request_id": f"r{i}-{'x' * 150}"} for i in range(count)]


async def test_ingestion_has_its_own_limit_and_checks_the_key_before_the_body(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    created = await user.post("/api/ingest/datasets", {"name": "gateway"})
    dataset_id = created.json()["id"]
    key = await _api_key(user)
    batch = _records(1500)  # ~ 350 KB: over the JSON limit, within the ingestion limit
    assert len(json.dumps(batch)) > 256 * 1024
    accepted = await http.post(f"/api/ingest/{dataset_id}/records", json=batch,
                               headers={"Authorization": f"Bearer {key}"})
    assert accepted.status_code == 202, accepted.text
    host = urlsplit(server.base_url).netloc
    status, body = await _raw_status(server, (
        f"POST /api/ingest/{dataset_id}/records HTTP/1.1\nHost: {host}\n"
        f"Authorization: Bearer {key}-wrong\nContent-Type: application/json\n"
        f"Content-Length: {10 * MB}\n"))
    assert status == 401 and body["error"]["code"] == "unauthorized", body
    status, body = await _raw_status(server, (
        f"POST /api/ingest/{dataset_id}/records HTTP/1.1\nHost: {host}\n"
        f"Authorization: Bearer {key}\nContent-Type: application/json\n"
        f"Content-Length: {17 * MB}\n"))
    assert status == 413 and body["error"]["code"] == "too_large", body


async def test_deep_json_is_refused_naming_the_limit_on_rest_and_the_socket(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    for depth in (DEPTH_LIMIT + 1, 5000):
        nested = "[" * depth + "]" * depth
        response = await http.post("/api/threads", content=f'{{"title": {nested}}}',
                                   headers={**user.auth, "Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error" and str(DEPTH_LIMIT) in error["message"]
    socket = await user.socket()
    await socket.send("[" * 2000)
    error = await socket.until(lambda f: f["type"] == "error", timeout=10)
    assert error["code"] == "bad_request" and str(DEPTH_LIMIT) in error["message"]
    thread_id = await user.thread()
    await socket.send(json.dumps({"type": "user_message", "thread_id": thread_id,
                                  "content": "[" * 100 + "]" * 100, "client_msg_id": "deep",
                                  "dataset_id": {"a": [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}}))
    error = await socket.until(lambda f: f["type"] == "error", timeout=10)
    assert error["code"] == "bad_request"  # a string of brackets is text: no limit there
    await socket.send({"type": "ping"})
    assert (await socket.until(lambda f: f["type"] == "pong", timeout=10))["type"] == "pong"
    await socket.close()


async def test_an_empty_client_msg_id_is_no_retry_key_on_rest_and_the_socket(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    thread_id = await user.thread()
    ids = []
    for blank in ("", "", "  "):
        response = await user.post(f"/api/threads/{thread_id}/messages",
                                   {"content": "hello", "client_msg_id": blank})
        assert response.status_code == 202, response.text
        ids.append(response.json()["message"]["id"])
    assert len(set(ids)) == 3
    socket = await user.socket()
    accepted = [await socket.ask(thread_id, "hello again", client_msg_id="") for _ in range(2)]
    assert [a["type"] for a in accepted] == ["message_accepted"] * 2, accepted
    assert accepted[0]["message_id"] != accepted[1]["message_id"]
    await socket.send({"type": "ping"})
    assert (await socket.until(lambda f: f["type"] == "pong", timeout=10))["type"] == "pong"
    await socket.close()
    messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    assert sum(m["role"] == "user" for m in messages) == 5
    assert "Traceback" not in server.log()


@pytest.fixture
def slow_llm() -> Iterator[FakeOpenAI]:
    def scripted(body: dict[str, Any]) -> Any:
        if not any(m["role"] == "tool" for m in body["messages"]):
            return [ToolCall("previous_answer", {})]
        return " ".join(f"word{i}" for i in range(80))

    with running_fake_openai() as fake:
        fake.reply = scripted
        fake.chunk_interval_s = 0.1
        yield fake


async def test_deleting_a_thread_cancels_its_running_run(
    tmp_path: Path, slow_llm: FakeOpenAI
) -> None:
    env = {"NETRA_LLM_BASE_URL": slow_llm.base_url, "NETRA_LLM_API_KEY": "test-key",
           "NETRA_LLM_TIMEOUT_S": "30"}
    with running_server(tmp_path / "data", **env) as live:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
            user = await signup(http, live.ws_url)
            await user.demo_dataset(rows=1000)
            thread_id = await user.thread()
            socket = await user.socket()
            run_id = (await socket.ask(thread_id, "How can we cut our LLM costs?"))["run_id"]
            await socket.until(lambda f: f.get("run_id") == run_id
                               and f["type"] == "answer_delta")  # the model is writing
            deleted = await http.delete(f"/api/threads/{thread_id}", headers=user.auth)
            assert deleted.status_code == 204, deleted.text
            events = await socket.run_events(run_id, timeout=30)
            assert events[-1]["type"] == "run_cancelled", events[-1]
            assert (await user.get(f"/api/runs/{run_id}")).status_code == 404
            assert (await user.get(f"/api/threads/{thread_id}")).status_code == 404
            await socket.close()
    log = live.log()
    assert "Traceback" not in log and "IntegrityError" not in log, log[-3000:]


async def test_every_answer_carries_the_browser_defences(
    server: Server, http: httpx.AsyncClient
) -> None:
    page = await http.get("/")
    policy = page.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert "<script>" not in page.text  # every script is a file the policy allows
    for response in (page, await http.get("/api/me"), await http.get("/health/live"),
                     await http.get("/static/js/main.js")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # no https public URL
    api = await http.get("/api/me")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    assert (await http.get("/api/docs")).status_code == 200  # on outside production
    assert (await http.get("/metrics")).status_code == 200  # no token configured


async def test_a_page_of_another_site_cannot_open_the_socket(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    ticket = await user.ticket()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{server.ws_url}?ticket={ticket}", origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    # The refused handshake did not spend the ticket; the app's own origin may use it.
    own = server.base_url  # http://127.0.0.1:port, as the page's Origin would be
    async with connect(f"{server.ws_url}?ticket={ticket}", origin=own) as ws:  # type: ignore[arg-type]
        assert json.loads(await ws.recv())["type"] == "connected"
    async with connect(f"{server.ws_url}?ticket={await user.ticket()}") as ws:  # no Origin
        assert json.loads(await ws.recv())["type"] == "connected"


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server configured as production would be (in the test environment)."""
    with running_server(tmp_path_factory.mktemp("hardened"), NETRA_METRICS_TOKEN="s3cret-token",
                        NETRA_PUBLIC_URL="https://netra.example",
                        NETRA_ALLOWED_ORIGINS="https://partner.example, https://b.example",
                        NETRA_API_DOCS="false", NETRA_MAX_JSON_BYTES="2048") as running:
        yield running


async def test_the_operators_settings(hardened: Server) -> None:
    async with httpx.AsyncClient(base_url=hardened.base_url, timeout=30) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
        right = await http.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert right.status_code == 200 and "netra_http_requests_total" in right.text
        for path in ("/api/docs", "/api/openapi.json"):
            assert (await http.get(path)).status_code == 404, path
        page = await http.get("/")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        big = await http.post("/api/auth/login", json={"email": "x" * 3000, "password": "y"})
        assert big.status_code == 413 and "2048" in big.json()["error"]["message"]
        user = await signup(http, hardened.ws_url)
        for origin in ("https://partner.example", "https://netra.example"):
            async with connect(f"{hardened.ws_url}?ticket={await user.ticket()}",
                               origin=origin) as ws:  # type: ignore[arg-type]
                assert json.loads(await ws.recv())["type"] == "connected"
        with pytest.raises(InvalidStatus):
            async with connect(f"{hardened.ws_url}?ticket={await user.ticket()}",
                               origin="https://c.example"):  # type: ignore[arg-type]
                pass


async def test_user_data_never_becomes_a_link_or_an_image(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    dataset_id = (await user.post("/api/ingest/datasets", {"name": "gateway"})).json()["id"]
    batch = (_records(40, "[click](https://evil.example)")
             + _records(30, "![x](https://evil.example/b.png)") + _records(20, "search"))
    for i, record in enumerate(batch):
        record["request_id"] = f"q{i}"
    accepted = await user.post(f"/api/ingest/{dataset_id}/records", batch)
    assert accepted.status_code == 202, accepted.text
    thread_id = await user.thread()
    socket = await user.socket()
    accepted_msg = await socket.ask(thread_id, "What is our spend by feature?",
                                    dataset_id=dataset_id)
    events = await socket.run_events(accepted_msg["run_id"])
    await socket.close()
    final = events[-1]
    assert final["type"] == "agent_completed", final
    assert "evil.example" in final["payload"]["content"]  # the Markdown quotes the data
    messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    for html in (messages[-1]["content_html"], final["payload"].get("content_html", "")):
        assert "<a" not in html and "<img" not in html and "evil.example" not in html, html
    assert "click" in messages[-1]["content_html"]


async def test_quotas_and_stale_uploads_swept_at_start(tmp_path: Path) -> None:
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    stale, fresh = uploads / "killed-mid-upload.upload", uploads / "in-flight.upload"
    stale.write_bytes(b"ts,model\n" * 1000)
    fresh.write_bytes(b"ts,model\n")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    with running_server(tmp_path / "data", NETRA_MAX_DATASETS_PER_USER="2",
                        NETRA_MAX_ROWS_PER_USER="1500") as quoted:
        assert not stale.exists() and fresh.exists()  # an upload still written to stays
        async with httpx.AsyncClient(base_url=quoted.base_url, timeout=30) as http:
            user = await signup(http, quoted.ws_url)
            first = await user.post("/api/datasets/demo", {"rows": 1000})
            assert first.status_code == 201, first.text
            over_rows = await user.post("/api/datasets/demo", {"rows": 600})
            assert over_rows.status_code == 413, over_rows.text
            assert "1,500 rows per user" in over_rows.json()["error"]["message"]
            api = (await user.post("/api/ingest/datasets", {"name": "gateway"})).json()["id"]
            too_many = await user.post("/api/ingest/datasets", {"name": "third"})
            assert too_many.status_code == 413, too_many.text
            assert "the limit is 2 per user" in too_many.json()["error"]["message"]
            batch = _records(501)
            refused = await user.post(f"/api/ingest/{api}/records", batch)
            assert refused.status_code == 413, refused.text
            fits = await user.post(f"/api/ingest/{api}/records", batch[:500])
            assert fits.status_code == 202 and fits.json()["accepted"] == 500, fits.text
            listed = (await user.get("/api/datasets")).json()
            assert sorted(d["rows"] for d in listed) == [500, 1000]


async def test_a_password_change_revokes_every_login_and_closes_its_sockets(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    other_device = await http.post("/api/auth/login", json={"email": user.email,
                                                            "password": "correct horse"})
    stolen = other_device.json()["access_token"]
    socket = await user.socket()
    wrong = await user.post("/api/auth/password", {"current_password": "guess",
                                                   "new_password": "a new long secret"})
    assert wrong.status_code == 401 and "current password" in wrong.json()["error"]["message"]
    changed = await user.post("/api/auth/password", {"current_password": "correct horse",
                                                     "new_password": "a new long secret"})
    assert changed.status_code == 200, changed.text
    with pytest.raises(ConnectionClosed) as closed:
        await socket.recv(timeout=30)  # closed by the server, with the reason
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    for token in (user.access_token, stolen):
        assert (await http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
                ).status_code == 401
    fresh = changed.json()["access_token"]
    assert (await http.get("/api/me", headers={"Authorization": f"Bearer {fresh}"})
            ).status_code == 200
    old = await http.post("/api/auth/login", json={"email": user.email,
                                                   "password": "correct horse"})
    assert old.status_code == 401
