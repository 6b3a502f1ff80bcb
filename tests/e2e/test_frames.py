"""Every frame a real server sends keeps the schemas docs/protocol.md documents
(`netra/realtime/frames.py`), and the frames a client sends are the documented ones."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from pydantic import TypeAdapter
from websockets.asyncio.client import connect

from netra.realtime.frames import ClientFrame, check_server_frame
from tests.e2e.client import Socket, check_run_invariants, signup
from tests.e2e.server import Server

CLIENT = TypeAdapter(ClientFrame)


async def test_every_frame_of_a_run_keeps_the_documented_schemas(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url, "frames")
    dataset_id = await user.demo_dataset(rows=1000)
    thread_id = await user.thread()
    async with connect(f"{server.ws_url}?ticket={await user.ticket()}") as ws:
        socket = Socket(ws)
        sent: list[dict[str, Any]] = [
            {"type": "ping"},
            {"type": "user_message", "thread_id": thread_id, "client_msg_id": "m1",
             "content": "How can we cut our LLM costs?", "dataset_id": dataset_id},
        ]
        for frame in sent:
            CLIENT.validate_python(frame)
            await socket.send(frame)
        accepted = await socket.until(lambda f: f["type"] == "message_accepted")
        events = await socket.run_events(accepted["run_id"])
        resume = {"type": "resume", "run_id": accepted["run_id"], "after_seq": len(events) - 2}
        CLIENT.validate_python(resume)
        await socket.send(resume)
        await socket.send({"type": "no_such_frame"})
        await socket.until(lambda f: f["type"] == "error")
    check_run_invariants(events)
    kinds = {f["type"] for f in socket.frames}
    assert {"connected", "pong", "message_accepted", "error", "agent_started", "agent_thinking",
            "tool_executing", "tool_completed", "agent_completed"} <= kinds, kinds
    for frame in socket.frames:
        check_server_frame(frame)
    stored = (await user.get(f"/api/runs/{accepted['run_id']}/events")).json()
    for event in stored:
        check_server_frame(event)
    assert json.dumps(stored) == json.dumps(events)  # what was sent is what was stored


async def test_the_first_frame_is_connected(server: Server, http: httpx.AsyncClient) -> None:
    user = await signup(http, server.ws_url, "hello")
    async with connect(f"{server.ws_url}?ticket={await user.ticket()}") as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    check_server_frame(hello)
    assert hello["type"] == "connected" and hello["user_id"] == user.id
