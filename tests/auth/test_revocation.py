"""Revoking a login: committed first, then announced on the bus; and the sweep that closes
the sockets of logins revoked while the bus was away."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from netra.auth import revocation, service
from netra.components import Components
from netra.db import Database
from netra.errors import Unauthorized
from netra.realtime.bus import InProcessEventBus
from netra.realtime.hub import LOGIN_REVOKED_CLOSE, Connection, ConnectionHub, login_revoked
from tests.realtime.test_hub import RecordingSocket, load

from .helpers import SETTINGS, create_user, in_request


async def _parts(database: Database) -> tuple[Components, list[tuple[str, dict[str, Any]]]]:
    """The parts revocation uses (real database and in-process bus), and what the bus got."""
    heard: list[tuple[str, dict[str, Any]]] = []
    bus = InProcessEventBus()
    await bus.start(lambda user_id, message: heard.append((user_id, message)))
    return cast(Components, SimpleNamespace(db=database, bus=bus, settings=SETTINGS)), heard


async def _login_of(database: Database, access_token: str) -> str:
    signed_in = await in_request(database, lambda s: service.signed_in(s, SETTINGS, access_token))
    return signed_in.login_id


async def test_logout_is_committed_then_announced(database: Database) -> None:
    user, pair = await create_user(database)
    login = await _login_of(database, pair.access_token)
    components, heard = await _parts(database)

    await revocation.logout(components, pair.refresh_token)

    assert heard == [(user.id, login_revoked(login))]
    async with database.transaction() as session:
        assert not await service.login_stands(session, user.id, login)


async def test_logout_with_an_unknown_token_announces_nothing(database: Database) -> None:
    components, heard = await _parts(database)

    await revocation.logout(components, "no-such-token")

    assert heard == []


async def test_refresh_reuse_commits_the_revocation_and_announces_it(database: Database) -> None:
    user, first = await create_user(database)
    login = await _login_of(database, first.access_token)
    components, heard = await _parts(database)
    _, rotated = await revocation.refresh(components, first.refresh_token)
    assert heard == []

    with pytest.raises(service.RefreshTokenReused):
        await revocation.refresh(components, first.refresh_token)

    assert heard == [(user.id, login_revoked(login))]
    with pytest.raises(Unauthorized):  # the revocation was committed despite the 401
        await revocation.refresh(components, rotated.refresh_token)


async def test_the_sweep_closes_the_sockets_of_revoked_logins_only(database: Database) -> None:
    user, first = await create_user(database)
    _, second = await in_request(
        database,
        lambda s: service.login(s, SETTINGS, email=user.email, password="correct horse battery"),
    )
    gone = await _login_of(database, first.access_token)
    kept = await _login_of(database, second.access_token)
    hub = ConnectionHub()
    revoked_socket, kept_socket = RecordingSocket(), RecordingSocket()
    connections = [Connection(revoked_socket, user.id, 16, load, login_id=gone),
                   Connection(kept_socket, user.id, 16, load, login_id=kept)]
    for connection in connections:
        hub.add(connection)
    # Revoked while this instance heard nothing (its bus message was lost).
    await in_request(database, lambda s: service.logout(s, first.refresh_token))

    assert await revocation.close_revoked_sockets(hub, database) == 1
    await asyncio.sleep(0)  # the close was scheduled: let it run

    assert revoked_socket.closed_with == LOGIN_REVOKED_CLOSE
    assert kept_socket.closed_with is None and not connections[1].closed.is_set()
    for connection in connections:
        hub.remove(connection)
