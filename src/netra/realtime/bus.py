"""The event bus: how a run's events reach every server instance holding its user's sockets.

One Protocol, two implementations chosen from settings at start-up: in-process (one
machine, here) and Redis pub/sub (many, `redis_bus`). The database is the durable log;
the bus only carries live traffic, so a message it loses is refilled from the log by the
connection's gap check. The bus is never a dependency of a run: `publish` neither fails
nor waits on the network, and a message published here reaches this process's own
receiver at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

# Called with (user_id, message) for every message published by any instance.
Receiver = Callable[[str, dict[str, Any]], None]
# Called when messages may have been lost (the bus lost its link and has it again, or
# another instance dropped messages): open connections should refill from the log.
OnReconnect = Callable[[], None]


class EventBus(Protocol):
    name: str

    async def start(self, receiver: Receiver, *, on_reconnect: OnReconnect | None = None) -> None:
        ...

    async def publish(self, user_id: str, message: dict[str, Any]) -> None:
        """Deliver to this process's receiver now, and to the other instances' soon.
        Returns without waiting on the network and never raises."""
        ...

    async def ping(self) -> float: ...

    @property
    def degraded(self) -> bool:
        """Whether the last attempt to publish or listen failed (cheap: no I/O)."""
        ...

    async def close(self) -> None: ...


class InProcessEventBus:
    name = "in-process"

    def __init__(self) -> None:
        self._receiver: Receiver | None = None

    async def start(self, receiver: Receiver, *, on_reconnect: OnReconnect | None = None) -> None:
        self._receiver = receiver  # nothing is ever lost in-process: no refill to ask for

    async def publish(self, user_id: str, message: dict[str, Any]) -> None:
        if self._receiver is not None:
            self._receiver(user_id, message)

    async def ping(self) -> float:
        return 0.0

    @property
    def degraded(self) -> bool:
        return False

    async def close(self) -> None:
        self._receiver = None
