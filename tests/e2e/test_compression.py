"""permessage-deflate on the WebSocket: declined by default, offered with
NETRA_WS_COMPRESSION=true. The client offers it either way (websockets does by default)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.client import signup
from tests.e2e.server import Server, running_server


async def _negotiated(server: Server) -> tuple[str | None, dict[str, object]]:
    """The extensions the server accepted, and its answer to a ping over them."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        user = await signup(http, server.ws_url)
        async with connect(f"{server.ws_url}?ticket={await user.ticket()}") as ws:
            return ws.response.headers.get("Sec-WebSocket-Extensions"), await _ping(ws)


async def _ping(ws: ClientConnection) -> dict[str, object]:
    assert json.loads(await ws.recv())["type"] == "connected"
    await ws.send(json.dumps({"type": "ping"}))
    reply: dict[str, object] = json.loads(await ws.recv())
    return reply


async def test_compression_is_declined_by_default(server: Server) -> None:
    extensions, pong = await _negotiated(server)
    assert extensions is None
    assert pong == {"type": "pong"}


async def test_compression_is_negotiated_when_turned_on(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", NETRA_WS_COMPRESSION="true") as server:
        extensions, pong = await _negotiated(server)
    assert extensions is not None and extensions.startswith("permessage-deflate")
    assert pong == {"type": "pong"}
