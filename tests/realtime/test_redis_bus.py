"""The Redis event bus: a fan-out between instances, never a dependency of a run.

Two buses on one Redis stand for two instances. The tests that stop Redis run their own
redis-server on a free port (never the machine's shared one), and SIGKILL and restart it.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from netra.metrics import REGISTRY
from netra.realtime.hub import Connection, ConnectionHub
from netra.realtime.redis_bus import RedisEventBus
from tests.conftest import _skip_or_fail
from tests.realtime.test_hub import RecordingSocket, event, seqs

REDIS_SERVER = shutil.which("redis-server")


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Wait until `condition()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own, which it may kill and restart on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self.running: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        assert REDIS_SERVER is not None
        self.running = await asyncio.create_subprocess_exec(
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self._directory),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        await eventually(self._answers, f"redis-server on port {self.port}")

    async def kill(self) -> None:
        assert self.running is not None
        self.running.send_signal(signal.SIGKILL)
        await self.running.wait()
        self.running = None

    def _answers(self) -> bool:
        try:
            with redis.Redis(port=self.port, socket_timeout=0.5,
                             socket_connect_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    if REDIS_SERVER is None:
        _skip_or_fail("these tests start their own redis-server, which is not installed")
    server = PrivateRedis(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        if server.running is not None:
            await server.kill()


class Instance:
    """One bus with what an instance hangs on it: a receiver that records, and a count
    of the times it was asked to refill."""

    def __init__(self, url: str, **options: Any) -> None:
        self.bus = RedisEventBus(url, max_backoff=0.2, **options)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.refills = 0

    async def start(self, receiver: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        await self.bus.start(receiver or self._record, on_reconnect=self._refill)

    def _record(self, user_id: str, message: dict[str, Any]) -> None:
        self.received.append((user_id, message))

    def _refill(self) -> None:
        self.refills += 1

    async def hears(self, other: Instance) -> None:
        """Wait until this instance's subscription receives what `other` publishes
        (pub/sub drops what is published before a subscription exists), then forget
        the probes."""
        probe = user()
        while True:
            await other.bus.publish(probe, {"type": "probe"})
            try:
                await eventually(lambda: any(u == probe for u, _ in self.received),
                                 "a probe", timeout=0.5)
                break
            except AssertionError:
                continue
        await eventually(lambda: not other.bus._outbox, "the probes to go out")
        self.received.clear()
        other.received.clear()


def dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("netra_bus_dropped_total", {"reason": reason}) or 0.0


def user() -> str:
    return "u-" + secrets.token_hex(4)


async def test_a_message_published_on_one_instance_reaches_another(redis_url: str) -> None:
    received: list[tuple[str, dict[str, Any]]] = []
    arrived = asyncio.Event()

    def receiver(user_id: str, message: dict[str, Any]) -> None:
        received.append((user_id, message))
        arrived.set()

    listening, publishing = RedisEventBus(redis_url), RedisEventBus(redis_url)
    await listening.start(receiver)
    await publishing.start(lambda *_: None)
    alice = user()
    try:
        await publishing.publish(alice, {"type": "agent_started", "seq": 1})
        await asyncio.wait_for(arrived.wait(), 10)
        assert received == [(alice, {"type": "agent_started", "seq": 1})]
        assert await listening.ping() >= 0
        assert not listening.degraded and not publishing.degraded
    finally:
        await listening.close()
        await publishing.close()


async def test_two_instances_exchange_messages_and_each_ignores_its_own_echo(
    private_redis: PrivateRedis,
) -> None:
    a, b = Instance(private_redis.url), Instance(private_redis.url)
    await a.start()
    await b.start()
    alice = user()
    one, two, three = ({"type": "cancel_request", "run_id": f"r{i}"} for i in (1, 2, 3))
    try:
        await a.bus.publish(alice, one)
        assert a.received == [(alice, one)]  # delivered here at once, not via Redis
        await eventually(lambda: len(b.received) == 1, "b to receive a's message")
        # Redis sent `one` back to a before b's reply: once a has the reply, it has
        # seen (and ignored) its own echo.
        await b.bus.publish(alice, two)
        await eventually(lambda: len(a.received) == 2, "a to receive b's message")
        await a.bus.publish(alice, three)
        await eventually(lambda: len(b.received) == 3, "b to receive a's second message")
        assert a.received == [(alice, one), (alice, two), (alice, three)]
        assert b.received == [(alice, one), (alice, two), (alice, three)]
        assert a.refills == b.refills == 0
    finally:
        await a.bus.close()
        await b.bus.close()


async def test_with_redis_down_publish_returns_at_once_and_local_sockets_get_their_events(
    private_redis: PrivateRedis,
) -> None:
    hub, sent = ConnectionHub(), RecordingSocket()
    connection = Connection(sent, "alice", 100, lambda *_: asyncio.sleep(0, []))
    hub.add(connection)
    instance = Instance(private_redis.url)
    await instance.start(hub.deliver)
    before = dropped("redis_error")
    await private_redis.kill()
    try:
        publishing = instance.bus.publish("alice", event(1))
        with pytest.raises(StopIteration):  # finished without once waiting on anything
            publishing.send(None)
        await instance.bus.publish("alice", event(2))
        await instance.bus.publish("alice", event(3))
        await eventually(lambda: instance.bus.degraded, "the bus to report itself degraded")
        await eventually(lambda: dropped("redis_error") > before, "the lost messages counted")
        with pytest.raises(redis.RedisError):  # health checks still see Redis is away
            await instance.bus.ping()
        connection.stop()
        await connection.write_forever()
        assert seqs(sent) == [1, 2, 3]
    finally:
        await instance.bus.close()
        hub.remove(connection)


async def test_after_redis_restarts_the_listeners_reconnect_and_delivery_resumes(
    private_redis: PrivateRedis,
) -> None:
    a, b = Instance(private_redis.url), Instance(private_redis.url)
    await a.start()
    await b.start()
    alice, message = user(), {"type": "cancel_request", "run_id": "r1"}
    try:
        await private_redis.kill()
        await eventually(lambda: a.bus.degraded and b.bus.degraded, "both to notice")
        assert a.refills == b.refills == 0
        await private_redis.start()
        await eventually(lambda: a.refills >= 1 and b.refills >= 1, "both to resubscribe")
        assert not a.bus.degraded and not b.bus.degraded
        await a.bus.publish(alice, message)
        await eventually(lambda: b.received == [(alice, message)], "b to receive again")
    finally:
        await a.bus.close()
        await b.bus.close()


async def test_a_connection_catches_up_on_the_events_the_bus_lost_once_redis_is_back(
    private_redis: PrivateRedis,
) -> None:
    run = [event(seq) for seq in range(1, 5)]
    run[-1] = {**run[-1], "type": "agent_completed", "agent": "supervisor"}

    async def load(run_id: str, after: int, before: int | None) -> list[dict[str, Any]]:
        return [e for e in run if e["seq"] > after and (before is None or e["seq"] < before)]

    executing, serving = Instance(private_redis.url), Instance(private_redis.url)
    hub, sent = ConnectionHub(), RecordingSocket()
    connection = Connection(sent, "alice", 100, load)
    hub.add(connection)
    writer = asyncio.create_task(connection.write_forever())
    await executing.start()
    await serving.bus.start(hub.deliver, on_reconnect=hub.refill_open_runs)
    try:
        await executing.bus.publish("alice", run[0])
        await eventually(lambda: seqs(sent) == [1], "the first event to arrive live")
        await private_redis.kill()
        for stored_but_lost in run[1:]:  # the run goes on, and ends, while Redis is away
            await executing.bus.publish("alice", stored_but_lost)
        await private_redis.start()
        await eventually(lambda: seqs(sent) == [1, 2, 3, 4], "the socket to catch up")
    finally:
        await executing.bus.close()
        await serving.bus.close()
        connection.stop()
        await writer
        hub.remove(connection)


async def test_a_full_outbox_drops_counts_and_tells_the_others_to_refill(
    private_redis: PrivateRedis,
) -> None:
    a, b = Instance(private_redis.url, outbox_size=3), Instance(private_redis.url)
    await a.start()
    await b.start()
    await b.hears(a)
    alice, before = user(), dropped("outbox_full")
    messages = [{"type": "cancel_request", "run_id": f"r{i}"} for i in range(5)]
    try:
        for message in messages:  # publish never yields, so the outbox is not drained
            await a.bus.publish(alice, message)
        assert dropped("outbox_full") - before == 2
        assert a.received == [(alice, m) for m in messages]  # local delivery is not bounded
        await eventually(lambda: b.refills == 1, "b to be told to refill")
        assert b.received == [(alice, m) for m in messages[:3]]
        assert a.refills == 0
    finally:
        await a.bus.close()
        await b.bus.close()
