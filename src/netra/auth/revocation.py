"""Revoking a login everywhere: its access tokens and its open sockets.

The record is the database (every refresh token of a revoked login carries `revoked_at`),
read on every authenticated request in the user lookup's own query (no cache, so no
window). Open sockets do not make requests, so the revocation also goes out on the event
bus as a `login_revoked` control message: every instance closes its sockets of that
login. The bus may lose a message (Redis away); when it says so (`on_reconnect`), each
instance checks the logins of its open sockets against the database.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from netra.auth import service as auth_service
from netra.auth.models import User
from netra.auth.tokens import InvalidToken
from netra.db import Database
from netra.realtime.bus import EventBus
from netra.realtime.hub import ConnectionHub, login_revoked
from netra.settings import Settings

log = logging.getLogger(__name__)
_checks: set[asyncio.Task[None]] = set()  # sweeps in flight (held against the GC)


class RevocationParts(Protocol):
    """The parts of the running application a revocation uses. `Components`, which
    start-up builds from every domain's parts, has them: the need is said here, below
    it, and it is met there."""

    settings: Settings
    db: Database
    bus: EventBus


async def announce(bus: EventBus, revoked: auth_service.RevokedLogin) -> None:
    """Close the login's sockets on every instance (this one at once)."""
    await bus.publish(revoked.user_id, login_revoked(revoked.login_id))


# Logout and refresh commit their own transaction before they announce: a socket closed
# before the revocation is committed could reconnect, with a fresh ticket, in between.


async def logout(components: RevocationParts, refresh_token: str) -> None:
    """Revoke the login of this refresh token; an unknown token is a no-op."""
    async with components.db.transaction() as session:
        revoked = await auth_service.logout(session, refresh_token)
    if revoked is not None:
        await announce(components.bus, revoked)


async def refresh(
    components: RevocationParts, refresh_token: str
) -> tuple[User, auth_service.TokenPair]:
    """Rotate the refresh token; a reused one revokes its login (committed, announced)."""
    async with components.db.transaction() as session:
        try:
            return await auth_service.refresh(session, components.settings, refresh_token)
        except auth_service.RefreshTokenReused as error:
            reused = error  # leaving the block normally commits the revocation
    await announce(components.bus, reused.revoked)
    raise reused


async def change_password(
    components: RevocationParts, user_id: str, current: str, new: str
) -> tuple[User, auth_service.TokenPair]:
    """Set a new password; every earlier login is revoked (committed, then announced)."""
    async with components.db.transaction() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise InvalidToken()
        revoked, pair = await auth_service.change_password(
            session, components.settings, user, current=current, new=new)
    for login in revoked:
        await announce(components.bus, login)
    return user, pair


async def close_revoked_sockets(hub: ConnectionHub, db: Database) -> int:
    """Close the open sockets whose login was revoked; how many logins that was."""
    logins = hub.logins()
    if not logins:
        return 0
    async with db.transaction() as session:
        standing = await auth_service.standing_logins(session, logins)
    revoked = [(user_id, login_id) for user_id, login_id in logins if login_id not in standing]
    for user_id, login_id in revoked:
        hub.close_login(user_id, login_id)
    return len(revoked)


def recheck_soon(hub: ConnectionHub, db: Database) -> None:
    """For when the bus may have lost messages: run `close_revoked_sockets` in the
    background (called from synchronous bus callbacks)."""
    async def check() -> None:
        try:
            closed = await close_revoked_sockets(hub, db)
        except Exception as error:  # the database away too: the next reconnect retries
            log.warning("could not re-check the logins of open sockets: %s", error)
            return
        if closed:
            log.info("closed the sockets of %d login(s) revoked while the bus was away", closed)

    task = asyncio.get_running_loop().create_task(check())
    _checks.add(task)
    task.add_done_callback(_checks.discard)
