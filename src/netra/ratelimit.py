"""Rate limits: one `RateLimiter` over the `limits` library, for every limit we keep.

Counters live in this process on one machine and in Redis when NETRA_REDIS_URL is set,
so every instance counts together. Each limit is a moving window (`limits`' moving-window
strategy: the times of the last `amount` hits per key), so a client cannot double its
allowance at a window boundary and Retry-After is exact: when the oldest hit leaves the
window. Refused hits are not counted.

When Redis cannot be reached a limit neither fails open nor fails the request: for
`REDIS_RETRY_S` this process counts on its own (N instances then allow up to N times
the limit, for the length of the outage), then tries Redis again. Logins, sign-ups and
messages keep working through a Redis outage and are still bounded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis.asyncio as redis
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.aio.strategies import RateLimiter as Strategy
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from netra.errors import RateLimited
from netra.settings import Settings

log = logging.getLogger(__name__)
KEY_PREFIX = "netra:limits"
# A limit check waits no longer than this on Redis; after a failure this process counts
# on its own for REDIS_RETRY_S, so an outage costs one slow check, not one per request.
REDIS_TIMEOUT_S = 0.5
REDIS_RETRY_S = 5.0
_PER = {"minute": RateLimitItemPerMinute, "hour": RateLimitItemPerHour}


@dataclass(frozen=True)
class Limit:
    """How many uses per window one key may make, and what a refusal says."""

    name: str  # the counters' namespace, e.g. "login:address"
    item: RateLimitItem
    refusal: str

    @classmethod
    def per(cls, name: str, amount: int, window: Literal["minute", "hour"],
            refusal: str) -> Limit:
        return cls(name, _PER[window](amount), refusal)


class RateLimiter:
    """Every limit of the service, counted in memory or in Redis (chosen from settings)."""

    def __init__(self, settings: Settings, *, key_prefix: str = KEY_PREFIX) -> None:
        self.enabled = settings.rate_limits
        attempts = settings.login_attempts_per_minute
        self.login_per_account = Limit.per(
            "login:account", attempts, "minute", "too many sign-in attempts for this account")
        self.login_per_address = Limit.per(
            "login:address", attempts, "minute", "too many sign-in attempts from this address")
        self.signup_per_address = Limit.per(
            "signup:address", settings.signups_per_hour, "hour",
            "too many sign-ups from this address")
        self.tickets_per_user = Limit.per(
            "ws-ticket:user", settings.ws_tickets_per_minute, "minute",
            "too many WebSocket tickets")
        self.messages_per_user = Limit.per(
            "message:user", settings.messages_per_minute, "minute", "too many messages")
        self.ingest_per_user = Limit.per(
            "ingest:user", settings.ingest_requests_per_minute, "minute",
            "too many ingestion requests")
        self._memory_storage = MemoryStorage()
        self._memory = MovingWindowRateLimiter(self._memory_storage)
        self._pool: redis.ConnectionPool | None = None
        self._redis: Strategy | None = None
        if settings.redis_url and self.enabled:
            self._pool = redis.ConnectionPool.from_url(
                settings.redis_url, socket_connect_timeout=REDIS_TIMEOUT_S,
                socket_timeout=REDIS_TIMEOUT_S, retry=Retry(NoBackoff(), 0))
            # Our own pool (the `limits` storage has no close); redis-py's asyncio client.
            options = cast(Any, {"connection_pool": self._pool})
            storage = RedisStorage(f"async+{settings.redis_url}", implementation="redispy",
                                   wrap_exceptions=True, key_prefix=key_prefix, **options)
            self._redis = MovingWindowRateLimiter(storage)
        self._redis_back_at = 0.0  # monotonic time from which Redis is tried again
        self._redis_failing = False

    @property
    def storage(self) -> str:
        return "redis" if self._redis is not None else "memory"

    async def hit(self, limit: Limit, key: str) -> None:
        """Count one use by `key`; RateLimited (with Retry-After) once it is over `limit`."""
        if not self.enabled:
            return
        wait: int | None
        if self._redis is not None and time.monotonic() >= self._redis_back_at:
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_S):
                    wait = await _count(self._redis, limit, key)
            except (StorageError, TimeoutError) as error:
                self._redis_failed(error)
                wait = await _count(self._memory, limit, key)
            else:
                if self._redis_failing:
                    self._redis_failing = False
                    log.info("rate limits: counting in Redis again")
        else:
            wait = await _count(self._memory, limit, key)
        if wait is not None:
            raise RateLimited(f"{limit.refusal}; retry in {wait} s", retry_after=wait)

    def _redis_failed(self, error: BaseException) -> None:
        self._redis_back_at = time.monotonic() + REDIS_RETRY_S
        if not self._redis_failing:
            self._redis_failing = True
            cause = getattr(error, "storage_error", None) or error
            log.warning("rate limits: Redis unreachable (%s: %s); each instance counts on "
                        "its own until it answers", type(cause).__name__, cause)

    async def close(self) -> None:
        await self._memory_storage.reset()  # also stops its expiry task
        if self._pool is not None:
            await self._pool.aclose()


async def _count(strategy: Strategy, limit: Limit, key: str) -> int | None:
    """Count a hit: None when allowed, else the whole seconds until one would be."""
    if await strategy.hit(limit.item, limit.name, key):
        return None
    stats = await strategy.get_window_stats(limit.item, limit.name, key)
    return max(1, math.ceil(stats.reset_time - time.time()))
