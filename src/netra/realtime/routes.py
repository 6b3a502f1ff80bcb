"""GET /ws: the WebSocket of PROTOCOL.md. Bad frames get an `error`, never a dropped socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from netra.chat import conversation
from netra.chat import service as chat_service
from netra.db.base import isoformat_z, utcnow
from netra.errors import BadRequest, NetraError, RateLimited, TooLarge
from netra.realtime.events import Event, events_after
from netra.realtime.hub import Connection

if TYPE_CHECKING:
    from netra.components import Components

log = logging.getLogger(__name__)
router = APIRouter()
MESSAGES_PER_SECOND = 10.0  # sustained rate per socket; bursts up to BURST
BURST = 30.0


class _Bucket:
    """A token bucket: generous for people and retries, a wall for a runaway script."""

    def __init__(self) -> None:
        self.tokens = BURST
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * MESSAGES_PER_SECOND)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def stored_events(components: Components, user_id: str) -> Any:
    """Loads a user's run events from the log (for a connection's gaps and resumes)."""
    async def load(run_id: str, after: int, before: int | None) -> list[Event]:
        async with components.db.transaction() as session:
            run = await chat_service.get_run(session, user_id, run_id)
            return await events_after(session, run_id=run.id, thread_id=run.thread_id,
                                       after_seq=after, before_seq=before)
    return load


@router.websocket("/ws")
async def websocket(socket: WebSocket) -> None:
    components: Components = socket.app.state.components
    ticket = socket.query_params.get("ticket")
    user_id = await components.tickets.redeem(ticket) if ticket else None
    if user_id is None:
        await socket.close(code=1008)  # before accept: the handshake answers HTTP 403
        return
    await socket.accept()
    connection = Connection(socket, user_id, components.settings.ws_send_queue,
                            stored_events(components, user_id))
    components.hub.add(connection)
    writer = asyncio.create_task(connection.write_forever(), name=f"ws-writer-{connection.id}")
    connection.send({"type": "connected", "user_id": user_id, "connection_id": connection.id,
                     "server_time": isoformat_z(utcnow())})
    try:
        await _read_forever(components, socket, connection)
    except WebSocketDisconnect:
        pass
    finally:
        components.hub.remove(connection)
        connection.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, timeout=1)
        writer.cancel()


async def _read_forever(components: Components, socket: WebSocket, connection: Connection) -> None:
    bucket = _Bucket()
    while not connection.closed.is_set():
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        frame: dict[str, Any] = {}
        try:
            frame = _parse(components, message)
            if not bucket.take():
                raise RateLimited("too many messages; slow down")
            await _handle(components, connection, frame)
        except NetraError as error:
            reply: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message}
            if isinstance(frame.get("client_msg_id"), str):
                reply["client_msg_id"] = frame["client_msg_id"]
            connection.send(reply)


def _parse(components: Components, message: Mapping[str, Any]) -> dict[str, Any]:
    text = message.get("text")
    if text is None:
        raise BadRequest("frames must be JSON text, not binary")
    if len(text.encode()) > components.settings.max_frame_bytes:
        raise TooLarge(f"frame is over {components.settings.max_frame_bytes} bytes")
    try:
        frame = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(f"frame is not valid JSON: {error.msg} at character {error.pos}") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise BadRequest('a frame must be a JSON object with a string "type"')
    return frame


def _field(frame: dict[str, Any], name: str, kind: type, required: bool = True) -> Any:
    value = frame.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise BadRequest(f'"{frame["type"]}" needs "{name}" as a {kind.__name__}')
    return value


async def _handle(components: Components, connection: Connection, frame: dict[str, Any]) -> None:
    kind = frame["type"]
    if kind == "ping":
        connection.send({"type": "pong"})
    elif kind == "user_message":
        def acknowledge(accepted: chat_service.Accepted) -> None:
            connection.send({"type": "message_accepted",
                             "client_msg_id": frame.get("client_msg_id"),
                             "thread_id": accepted.message.thread_id,
                             "message_id": accepted.message.id, "run_id": accepted.run.id})

        await conversation.send_message(
            components, connection.user_id, thread_id=_field(frame, "thread_id", str),
            content=_field(frame, "content", str),
            dataset_id=_field(frame, "dataset_id", str, required=False),
            client_msg_id=_field(frame, "client_msg_id", str, required=False),
            acknowledge=acknowledge,
        )
    elif kind == "cancel_run":
        await conversation.cancel_run(components, connection.user_id, _field(frame, "run_id", str))
    elif kind == "resume":
        run_id, after = _field(frame, "run_id", str), _field(frame, "after_seq", int)
        async with components.db.transaction() as session:
            await chat_service.get_run(session, connection.user_id, run_id)
        connection.resume(run_id, max(0, after))
    else:
        raise BadRequest(f'unknown message type "{kind}"; expected user_message, cancel_run, '
                       "resume or ping")
