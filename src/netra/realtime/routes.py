"""GET /ws: the WebSocket of PROTOCOL.md. Bad frames get an `error`, never a dropped socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from netra.auth import service as auth_service
from netra.auth.tickets import TicketHolder
from netra.chat import conversation
from netra.chat import service as chat_service
from netra.db.base import isoformat_z, utcnow
from netra.errors import BadRequest, NetraError, RateLimited, TooLarge, Unavailable
from netra.realtime.events import Event, events_after
from netra.realtime.hub import TOO_MANY_SOCKETS_CLOSE, TRY_AGAIN_LATER, Connection
from netra.realtime.origins import origin_allowed
from netra.request_limits import MAX_JSON_DEPTH, too_deep

if TYPE_CHECKING:
    from netra.components import Components

log = logging.getLogger(__name__)
router = APIRouter()


def stored_events(components: Components, user_id: str) -> Any:
    """Loads a user's run events from the log (for a connection's gaps and resumes)."""
    async def load(run_id: str, after: int, before: int | None) -> list[Event]:
        async with components.db.transaction() as session:
            run = await chat_service.get_run(session, user_id, run_id)
            return await events_after(session, run_id=run.id, thread_id=run.thread_id,
                                       after_seq=after, before_seq=before)
    return load


async def _admit(components: Components, socket: WebSocket) -> TicketHolder | None:
    """The ticket's holder, accepted; or None, the handshake refused or the socket closed."""
    ticket = socket.query_params.get("ticket")
    try:
        holder = await components.tickets.redeem(ticket) if ticket else None
    except Unavailable as error:
        await socket.accept()
        await socket.close(TRY_AGAIN_LATER, error.message[:120])
        return None
    if holder is not None:  # a ticket bought before its login was revoked opens nothing
        async with components.db.transaction() as session:
            if not await auth_service.login_stands(session, *holder):
                holder = None
    if holder is None:
        await socket.close(code=1008)  # before accept: the handshake answers HTTP 403
        return None
    await socket.accept()
    return holder


@router.websocket("/ws")
async def websocket(socket: WebSocket) -> None:
    components: Components = socket.app.state.components
    if not origin_allowed(socket.headers.get("origin"), socket.headers.get("host"),
                          components.settings):
        await socket.close(code=1008)  # a page of another site: the handshake answers 403
        return
    holder = await _admit(components, socket)
    if holder is None:
        return
    async with components.db.transaction() as session:  # how the login was made stays put
        via_sso = await auth_service.login_via_sso(session, holder.login_id)
    user_id, quota = holder.user_id, components.settings.max_sockets_per_user
    connection = Connection(socket, user_id, components.settings.ws_send_queue,
                            stored_events(components, user_id), login_id=holder.login_id)
    if not components.hub.add(connection, max_per_user=quota):
        await socket.close(TOO_MANY_SOCKETS_CLOSE,
                           f"too many open connections for this user (limit {quota})")
        return
    writer = asyncio.create_task(connection.write_forever(), name=f"ws-writer-{connection.id}")
    connection.send({"type": "connected", "user_id": user_id, "connection_id": connection.id,
                     "server_time": isoformat_z(utcnow())})
    try:
        await _read_forever(components, socket, connection, via_sso)
    except WebSocketDisconnect:
        pass
    finally:
        components.hub.remove(connection)
        connection.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, timeout=1)
        writer.cancel()


async def _read_forever(components: Components, socket: WebSocket, connection: Connection,
                        via_sso: bool) -> None:
    limiter = components.limiter
    while not connection.closed.is_set():
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        frame: dict[str, Any] = {}
        try:
            frame = _parse(components, message)
            if frame["type"] != "ping":  # answered from memory: keep-alives cost no budget
                await limiter.hit(limiter.messages_per_user, connection.user_id)
            await _handle(components, connection, frame, via_sso)
        except NetraError as error:
            reply: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message}
            if isinstance(error, RateLimited):
                reply["retry_after"] = error.retry_after
            if isinstance(frame.get("client_msg_id"), str):
                reply["client_msg_id"] = frame["client_msg_id"]
            connection.send(reply)
        except WebSocketDisconnect:
            raise
        except Exception:  # a bug must cost one frame its answer, never the socket
            log.exception("WebSocket frame %r failed", frame.get("type"))
            reply = {"type": "error", "code": "internal_error",
                     "message": "internal error; it has been logged"}
            if isinstance(frame.get("client_msg_id"), str):
                reply["client_msg_id"] = frame["client_msg_id"]
            connection.send(reply)


def _parse(components: Components, message: Mapping[str, Any]) -> dict[str, Any]:
    text = message.get("text")
    if text is None:
        raise BadRequest("frames must be JSON text, not binary")
    if len(text.encode()) > components.settings.max_frame_bytes:
        raise TooLarge(f"frame is over {components.settings.max_frame_bytes} bytes")
    if too_deep(text):  # json.loads recurses: a deep frame would overflow Python's stack
        raise BadRequest(f"frame nests deeper than {MAX_JSON_DEPTH} levels")
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


async def _handle(components: Components, connection: Connection, frame: dict[str, Any],
                  via_sso: bool) -> None:
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
            # checked with the message, in its batch, as any request's: 404 / 403
            organization_id=_field(frame, "organization_id", str, required=False) or None,
            via_sso=via_sso,
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
