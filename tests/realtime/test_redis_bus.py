"""The Redis event bus carries messages between instances (two buses, one Redis)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from netra.realtime.redis_bus import RedisEventBus


async def test_a_message_published_on_one_instance_reaches_another(redis_url: str) -> None:
    received: list[tuple[str, dict[str, Any]]] = []
    arrived = asyncio.Event()

    def receiver(user_id: str, message: dict[str, Any]) -> None:
        received.append((user_id, message))
        arrived.set()

    listening, publishing = RedisEventBus(redis_url), RedisEventBus(redis_url)
    await listening.start(receiver)
    await publishing.start(lambda *_: None)
    user = "u-" + secrets.token_hex(4)
    try:
        await publishing.publish(user, {"type": "agent_started", "seq": 1})
        await asyncio.wait_for(arrived.wait(), 10)
        assert received == [(user, {"type": "agent_started", "seq": 1})]
        assert await listening.ping() >= 0
    finally:
        await listening.close()
        await publishing.close()
