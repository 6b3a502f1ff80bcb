"""Redis pub/sub event bus: every instance publishes to and listens on one channel prefix.

Each instance pattern-subscribes to all user channels and delivers to the sockets it
holds. Pub/sub is fire-and-forget; that is acceptable because events are stored in the
database before they are published and every connection refills gaps from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import redis.asyncio as redis

from netra.realtime.bus import Receiver

log = logging.getLogger(__name__)
PREFIX = "netra:user:"


class RedisEventBus:
    name = "redis"

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
        # The listening link blocks on reads by design: no read timeout, but health checks.
        self._listen_client = redis.Redis.from_url(
            url, socket_connect_timeout=5, health_check_interval=30
        )
        self._pubsub = self._listen_client.pubsub(ignore_subscribe_messages=True)
        self._listener: asyncio.Task[None] | None = None

    async def start(self, receiver: Receiver) -> None:
        await self._pubsub.psubscribe(PREFIX + "*")
        self._listener = asyncio.create_task(self._listen(receiver), name="redis-event-bus")

    async def _listen(self, receiver: Receiver) -> None:
        while True:
            try:
                async for item in self._pubsub.listen():
                    if item.get("type") != "pmessage":
                        continue
                    user_id = item["channel"].decode()[len(PREFIX):]
                    receiver(user_id, json.loads(item["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # keep listening: a dropped Redis link must not end delivery
                log.exception("redis event bus: listener failed; reconnecting in 1 s")
                await asyncio.sleep(1)

    async def publish(self, user_id: str, message: dict[str, Any]) -> None:
        await self._client.publish(PREFIX + user_id, json.dumps(message, separators=(",", ":")))

    async def ping(self) -> float:
        start = time.perf_counter()
        await self._client.ping()
        return (time.perf_counter() - start) * 1000

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._pubsub.aclose()
        await self._listen_client.aclose()
        await self._client.aclose()
