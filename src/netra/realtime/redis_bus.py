"""Redis pub/sub event bus: every instance publishes to and listens on one channel prefix.

Redis is a fan-out, not a dependency of a run. Events are stored in the database before
they are published and every connection refills gaps from it, so:
- `publish` hands the message to this process's own receiver at once, then puts it on a
  bounded outbox and returns: it never waits on the network and never raises. One task
  drains the outbox in order, pipelining whatever is queued, each send under a short
  timeout. What it cannot send (Redis down or slow, outbox full) is dropped and counted.
- Each payload carries this instance's id, so the copy Redis echoes back is ignored.
- When messages may have been lost (the listener lost its link and has it again, or an
  instance dropped messages and says so once it can publish again), `on_reconnect` runs
  so that open connections refill from the stored log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter, deque
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from netra import jsonwire, metrics
from netra.realtime.bus import OnReconnect, Receiver

log = logging.getLogger(__name__)
PREFIX = "netra:user:"
# An instance that dropped messages says so here (a user id no user has), so that the
# others refill their open connections.
REFILL_CHANNEL = PREFIX
OUTBOX_SIZE = 10_000
MAX_BATCH = 1_000  # messages per pipeline (one round trip)
SEND_TIMEOUT_S = 2.0
MIN_BACKOFF_S = 0.05
MAX_BACKOFF_S = 5.0
WARN_EVERY_S = 10.0
# With no traffic for this long the listener pings; a second silence means a dead link.
IDLE_PING_S = 15.0


class RedisEventBus:
    name = "redis"

    def __init__(
        self, url: str, *, outbox_size: int = OUTBOX_SIZE, send_timeout: float = SEND_TIMEOUT_S,
        max_backoff: float = MAX_BACKOFF_S,
    ) -> None:
        self.instance_id = secrets.token_hex(8)
        # No retries inside redis-py: a failure surfaces at once and the loops below
        # decide (drop and back off) instead of stalling on the library's backoff.
        no_retry = Retry(NoBackoff(), 0)
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=send_timeout, socket_timeout=send_timeout, retry=no_retry
        )
        # The listening link blocks on reads by design; the listener pings when idle.
        self._listen_client = redis.Redis.from_url(
            url, socket_connect_timeout=send_timeout, retry=no_retry
        )
        self._outbox: deque[tuple[str, str]] = deque()
        self._outbox_size = outbox_size
        self._send_timeout = send_timeout
        self._max_backoff = max_backoff
        self._has_mail = asyncio.Event()
        self._receiver: Receiver | None = None
        self._on_reconnect: OnReconnect | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._first_listen = asyncio.Event()  # the first subscription succeeded or failed
        self._closing = False
        self._publish_failed = False
        self._listen_failed = False
        self._link_lost = False
        self._drops = 0  # messages dropped so far; the others are told up to _told
        self._told = 0
        self._unreported: Counter[str] = Counter()
        self._last_warning = float("-inf")
        self._refill_notice = jsonwire.dumps({"o": self.instance_id, "refill": True})

    async def start(self, receiver: Receiver, *, on_reconnect: OnReconnect | None = None) -> None:
        """Start delivering; waits (briefly) for the first subscription, never raises."""
        self._receiver, self._on_reconnect = receiver, on_reconnect
        self._ensure_publisher()
        self._listener = asyncio.create_task(self._listen_forever(), name="redis-bus-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2 * self._send_timeout):
                await self._first_listen.wait()

    @property
    def degraded(self) -> bool:
        return self._publish_failed or self._listen_failed

    async def publish(self, user_id: str, message: dict[str, Any]) -> None:
        if self._receiver is not None:
            self._deliver(user_id, message)
        if self._closing:
            return
        if len(self._outbox) >= self._outbox_size:
            self._drop("outbox_full", 1)
            return
        try:
            payload = jsonwire.dumps({"o": self.instance_id, "m": message})
        except (TypeError, ValueError) as error:
            self._drop("unserializable", 1, error)
            return
        self._outbox.append((PREFIX + user_id, payload))
        metrics.BUS_OUTBOX.set(len(self._outbox))
        self._has_mail.set()
        self._ensure_publisher()

    async def ping(self) -> float:
        start = time.perf_counter()
        await self._client.ping()
        return (time.perf_counter() - start) * 1000

    async def close(self) -> None:
        self._closing = True
        self._has_mail.set()
        if self._publisher is not None:  # let it send what is queued, briefly
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._publisher), self._send_timeout)
        for task in (self._publisher, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._listen_client.aclose()
        await self._client.aclose()

    # Publishing

    def _ensure_publisher(self) -> None:
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(
                self._publish_forever(), name="redis-bus-publisher"
            )

    async def _publish_forever(self) -> None:
        backoff = MIN_BACKOFF_S
        while True:
            if not self._outbox and not self._publish_failed:
                if self._closing:
                    return
                self._has_mail.clear()
                await self._has_mail.wait()
                continue
            if self._closing and self._publish_failed:
                return  # shutting down with Redis away: nothing to wait for
            batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), MAX_BATCH))]
            metrics.BUS_OUTBOX.set(len(self._outbox))
            try:
                await self._send(batch)
            except Exception as error:  # Redis down or slow: drop, back off, keep going
                self._publish_failed = True
                self._drop("redis_error", len(batch), error)
                with contextlib.suppress(Exception):
                    await self._client.connection_pool.disconnect()
                await asyncio.sleep(backoff)
                backoff = min(2 * backoff, self._max_backoff)
            else:
                if self._publish_failed:
                    log.info("redis event bus: publishing again")
                self._publish_failed = False
                backoff = MIN_BACKOFF_S

    async def _send(self, batch: list[tuple[str, str]]) -> None:
        """One round trip: the batch, then (if this instance dropped messages since it
        last said so) a refill notice; with neither, a ping that probes the link."""
        pipe = self._client.pipeline(transaction=False)
        for channel, payload in batch:
            pipe.publish(channel, payload)
        drops = self._drops
        if drops > self._told:
            pipe.publish(REFILL_CHANNEL, self._refill_notice)
        elif not batch:
            pipe.ping()
        async with asyncio.timeout(self._send_timeout):
            await pipe.execute()
        self._told = max(self._told, drops)

    def _drop(self, reason: str, count: int, error: BaseException | None = None) -> None:
        self._drops += count
        if count:
            metrics.BUS_DROPPED.labels(reason).inc(count)
            self._unreported[reason] += count
        now = time.monotonic()
        if now - self._last_warning < WARN_EVERY_S:
            return
        self._last_warning = now
        log.warning(
            "redis event bus: %s; dropped since the last report: %s (other instances' "
            "sockets refill from the stored log)",
            f"{type(error).__name__}: {error}" if error is not None else f"{reason}",
            dict(self._unreported) or "nothing",
        )
        self._unreported.clear()

    # Listening

    async def _listen_forever(self) -> None:
        backoff = MIN_BACKOFF_S
        while True:
            pubsub = self._listen_client.pubsub()
            try:
                await pubsub.psubscribe(PREFIX + "*")
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a dropped Redis link must not end delivery
                if not self._listen_failed:  # the link was good until now: start over
                    log.warning("redis event bus: listening failed (%s: %s); reconnecting",
                                type(error).__name__, error)
                    backoff = MIN_BACKOFF_S
                self._listen_failed = self._link_lost = True
                self._first_listen.set()
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(2 * backoff, self._max_backoff)

    async def _read(self, pubsub: PubSub) -> None:
        """Deliver messages until the link fails (raises; never returns normally)."""
        silences = 0
        while True:
            item = await pubsub.get_message(timeout=IDLE_PING_S)
            if item is None:
                silences += 1
                if silences > 1:
                    raise ConnectionError(f"no answer from Redis within {IDLE_PING_S:g} s")
                await pubsub.ping()
                continue
            silences = 0
            if item["type"] == "psubscribe":
                self._subscribed()
            elif item["type"] == "pmessage":
                self._on_pmessage(item["channel"], item["data"])

    def _subscribed(self) -> None:
        # Once Redis confirms, everything published from here on reaches us: what was
        # published while the link was down is what the refill loads from the log.
        self._listen_failed = False
        self._first_listen.set()
        if self._link_lost:
            self._link_lost = False
            log.info("redis event bus: listening again; refilling open connections")
            self._refill()

    def _on_pmessage(self, channel: bytes, data: bytes) -> None:
        try:
            body = jsonwire.loads(data)
            user_id = channel.decode()[len(PREFIX):]
        except ValueError:
            log.warning("redis event bus: ignored a malformed message on %r", channel)
            return
        if not isinstance(body, dict) or body.get("o") == self.instance_id:
            return  # our own message: delivered locally when it was published
        if body.get("refill"):
            self._refill()
        elif "o" in body and "m" in body:
            self._deliver(user_id, body["m"])
        else:  # an instance from before payloads carried their origin
            self._deliver(user_id, body)

    def _deliver(self, user_id: str, message: dict[str, Any]) -> None:
        assert self._receiver is not None
        try:
            self._receiver(user_id, message)
        except Exception:
            log.exception("redis event bus: the receiver failed on a message for %s", user_id)

    def _refill(self) -> None:
        if self._on_reconnect is None:
            return
        try:
            self._on_reconnect()
        except Exception:
            log.exception("redis event bus: on_reconnect failed")
