"""A small PROTOCOL.md client for end-to-end tests: HTTP with httpx, WebSocket with websockets."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

TERMINAL = {"agent_completed", "agent_error", "run_cancelled"}
RUN_TIMEOUT_S = 60.0


@dataclass
class User:
    http: httpx.AsyncClient
    ws_url: str
    email: str
    access_token: str
    refresh_token: str
    id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def post(self, path: str, json_body: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.post(path, json=json_body, headers=self.auth, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, headers=self.auth, **kw)

    async def refresh(self) -> None:
        """Trade the refresh token for a new pair, as a client does before its access
        token expires."""
        response = await self.http.post("/api/auth/refresh",
                                        json={"refresh_token": self.refresh_token})
        assert response.status_code == 200, response.text
        body = response.json()
        self.access_token, self.refresh_token = body["access_token"], body["refresh_token"]

    async def ticket(self) -> str:
        response = await self.post("/api/auth/ws-ticket")
        assert response.status_code == 200, response.text
        return str(response.json()["ticket"])

    async def socket(self) -> Socket:
        ws = await connect(f"{self.ws_url}?ticket={await self.ticket()}", max_size=2**24)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "connected" and hello["user_id"] == self.id
        return Socket(ws)

    async def thread(self, title: str = "test") -> str:
        response = await self.post("/api/threads", {"title": title})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def demo_dataset(self, rows: int = 2000, seed: int = 7) -> str:
        response = await self.post("/api/datasets/demo", {"rows": rows, "seed": seed})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


async def signup(http: httpx.AsyncClient, ws_url: str, name: str = "user") -> User:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    response = await http.post(
        "/api/auth/signup", json={"email": email, "password": "correct horse", "name": name}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return User(
        http, ws_url, email, body["access_token"], body["refresh_token"], body["user"]["id"]
    )


@dataclass
class Socket:
    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def until(self, predicate: Any, timeout: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv()
                if predicate(frame):
                    return frame

    async def ask(self, thread_id: str, content: str, **extra: Any) -> dict[str, Any]:
        client_msg_id = extra.pop("client_msg_id", secrets.token_hex(6))
        await self.send(
            {
                "type": "user_message",
                "thread_id": thread_id,
                "content": content,
                "client_msg_id": client_msg_id,
                **extra,
            }
        )
        return await self.until(
            lambda f: (
                f["type"] in ("message_accepted", "error")
                and f.get("client_msg_id") == client_msg_id
            )
        )

    async def run_events(self, run_id: str, timeout: float = RUN_TIMEOUT_S) -> list[dict[str, Any]]:
        """Every event of the run this socket receives, up to and including the terminal one."""
        def done(frame: dict[str, Any]) -> bool:
            return frame.get("run_id") == run_id and "seq" in frame and is_terminal(frame)

        if not any(done(f) for f in self.frames):
            await self.until(done, timeout)
        return [f for f in self.frames if f.get("run_id") == run_id and "seq" in f]

    async def close(self) -> None:
        await self.ws.close()


def is_terminal(event: dict[str, Any]) -> bool:
    return event.get("type") == "run_cancelled" or (
        event.get("type") in TERMINAL and event.get("agent") == "supervisor"
    )


def check_run_invariants(events: list[dict[str, Any]]) -> None:
    """Every ordering and completeness rule of PROTOCOL.md for one run's events."""
    assert events, "no events"
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1)), f"seq not 1..n by 1: {seqs}"
    assert len({e["run_id"] for e in events}) == 1
    first, last = events[0], events[-1]
    assert (first["type"], first["agent"]) == ("agent_started", "supervisor"), first
    assert "message_id" in first["payload"]
    assert is_terminal(last), last
    assert sum(is_terminal(e) for e in events) == 1, "more than one terminal event"
    for event in events:
        assert set(event) >= {"type", "run_id", "thread_id", "seq", "ts", "agent", "payload"}
        assert event["ts"].endswith("Z")
    open_tools: dict[str, dict[str, Any]] = {}
    open_agents: list[str] = []
    for event in events[1:-1]:
        kind, agent, payload = event["type"], event["agent"], event["payload"]
        if kind == "tool_executing":
            assert payload["tool_call_id"] not in open_tools
            open_tools[payload["tool_call_id"]] = payload
        elif kind == "tool_completed":
            started = open_tools.pop(payload["tool_call_id"])  # exactly one completion
            assert started["tool"] == payload["tool"]
            assert {"ok", "duration_ms", "summary"} <= set(payload)
        elif kind == "agent_started":
            assert agent not in open_agents
            open_agents.append(agent)
        elif kind in ("agent_completed", "agent_error"):
            assert agent in open_agents, f"{agent} ended without starting"
            open_agents.remove(agent)
        elif kind == "agent_thinking":
            assert payload["text"]
        elif kind == "partial_result":
            assert isinstance(payload["text"], str)
    assert not open_tools, f"tool calls never completed: {open_tools}"
    assert not open_agents, f"sub-agents never ended: {open_agents}"
    if last["type"] == "agent_completed":
        partial = "".join(e["payload"]["text"] for e in events if e["type"] == "partial_result")
        assert partial == last["payload"]["content"]
        assert {"message_id", "content", "report"} <= set(last["payload"])
