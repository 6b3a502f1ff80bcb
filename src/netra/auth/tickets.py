"""Single-use WebSocket tickets: browsers cannot set headers on a WebSocket handshake, so
an authenticated REST call buys a short-lived ticket that the `/ws?ticket=` URL spends.

One Protocol, two implementations: in-process for one machine, Redis when several
instances must redeem each other's tickets.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from netra.errors import Unavailable
from netra.settings import Settings

# Tickets are token_urlsafe(32) (43 characters); anything much longer is not ours and
# is refused before it reaches a store.
_MAX_TICKET_LENGTH = 128
_REDIS_TIMEOUT_S = 2.0


# Redis unreachable: a request that needs a ticket answers 503, never 500.
TICKETS_UNAVAILABLE = "WebSocket tickets are unavailable (Redis is unreachable); retry shortly"


def _new_ticket() -> str:
    return secrets.token_urlsafe(32)


class TicketHolder(NamedTuple):
    """Who bought a ticket: the user, and the login (so that revoking it closes the socket)."""

    user_id: str
    login_id: str


class TicketStore(Protocol):
    async def issue(self, holder: TicketHolder) -> str:
        """A random ticket bound to the holder, valid once within the ttl."""
        ...

    async def redeem(self, ticket: str) -> TicketHolder | None:
        """Atomically consume the ticket: its holder, or None if unknown/expired/used.
        Unavailable when the store cannot be reached."""
        ...

    async def ping(self) -> float:
        """Round-trip latency in milliseconds (readiness checks)."""
        ...

    async def close(self) -> None: ...


class MemoryTicketStore:
    """In-process tickets; the clock is injectable so tests expire tickets without sleeping."""

    def __init__(self, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        # Insertion order is expiry order (one fixed ttl), so purging only ever pops
        # from the front: O(expired), never a scan of live tickets.
        self._tickets: dict[str, tuple[TicketHolder, float]] = {}

    def _purge(self, now: float) -> None:
        while self._tickets:
            ticket, (_, expires_at) = next(iter(self._tickets.items()))
            if expires_at > now:
                return
            del self._tickets[ticket]

    async def issue(self, holder: TicketHolder) -> str:
        now = self._clock()
        self._purge(now)
        ticket = _new_ticket()
        self._tickets[ticket] = (holder, now + self.ttl_s)
        return ticket

    async def redeem(self, ticket: str) -> TicketHolder | None:
        now = self._clock()
        self._purge(now)
        # pop without an await in between: atomic on the event loop
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    async def ping(self) -> float:
        return 0.0

    async def close(self) -> None:
        self._tickets.clear()


class RedisTicketStore:
    """Tickets as Redis keys with an expiry, so any instance can redeem any ticket."""

    def __init__(self, url: str, ttl_s: int, *, prefix: str = "netra:ws-ticket:") -> None:
        self.ttl_s = ttl_s
        self.prefix = prefix
        # Bounded waits and one retry (a pooled link may predate a Redis restart): an
        # unreachable Redis is a quick 503, not a request hanging on the network.
        self._redis = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=_REDIS_TIMEOUT_S,
            socket_timeout=_REDIS_TIMEOUT_S, retry=Retry(NoBackoff(), 1))

    async def issue(self, holder: TicketHolder) -> str:
        value = json.dumps(list(holder))
        try:
            while True:  # NX: a (practically impossible) collision must not hijack a ticket
                ticket = _new_ticket()
                if await self._redis.set(self.prefix + ticket, value, ex=self.ttl_s, nx=True):
                    return ticket
        except redis.RedisError:
            raise Unavailable(TICKETS_UNAVAILABLE) from None

    async def redeem(self, ticket: str) -> TicketHolder | None:
        if not ticket or len(ticket) > _MAX_TICKET_LENGTH:
            return None
        try:
            # GETDEL reads and deletes in one command: two redeemers can never both win.
            value: str | None = await self._redis.getdel(self.prefix + ticket)
        except redis.RedisError:
            raise Unavailable(TICKETS_UNAVAILABLE) from None
        try:
            user_id, login_id = json.loads(value) if value else (None, None)
        except (ValueError, TypeError):  # not ours (or from before tickets named a login)
            return None
        if not isinstance(user_id, str) or not isinstance(login_id, str):
            return None
        return TicketHolder(user_id, login_id)

    async def ping(self) -> float:
        start = time.perf_counter()
        await self._redis.ping()
        return (time.perf_counter() - start) * 1000

    async def close(self) -> None:
        await self._redis.aclose()


def create_ticket_store(settings: Settings) -> TicketStore:
    if settings.redis_url:
        return RedisTicketStore(settings.redis_url, settings.ws_ticket_ttl_s)
    return MemoryTicketStore(settings.ws_ticket_ttl_s)
