import asyncio
import secrets
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from netra.auth.tickets import (
    MemoryTicketStore,
    RedisTicketStore,
    TicketHolder,
    TicketStore,
    create_ticket_store,
)
from netra.errors import Unavailable

from .helpers import SETTINGS


def holder(user_id: str) -> TicketHolder:
    return TicketHolder(user_id, f"login-of-{user_id}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _redis_store(redis_url: str, ttl_s: int = 30) -> RedisTicketStore:
    # A private prefix per test: runs sharing the Redis never see each other's tickets.
    return RedisTicketStore(redis_url, ttl_s=ttl_s, prefix=f"netra-test:{secrets.token_hex(6)}:")


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisTicketStore]:
    store = _redis_store(redis_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[TicketStore]:
    if request.param == holder("memory"):
        yield MemoryTicketStore(ttl_s=30)
        return
    redis_url = request.getfixturevalue("redis_url")
    on_redis = _redis_store(redis_url)
    try:
        yield on_redis
    finally:
        await on_redis.close()


async def test_a_ticket_is_redeemed_once_for_its_user(store: TicketStore) -> None:
    ticket = await store.issue(holder("user-1"))

    assert await store.redeem(ticket) == holder("user-1")
    assert await store.redeem(ticket) is None


async def test_unknown_tickets_redeem_to_nothing(store: TicketStore) -> None:
    await store.issue(holder("user-1"))

    assert await store.redeem("no-such-ticket") is None
    assert await store.redeem("") is None
    assert await store.redeem("x" * 10_000) is None


async def test_tickets_are_distinct_and_bound_to_their_user(store: TicketStore) -> None:
    ada = await store.issue(holder("ada"))
    bob = await store.issue(holder("bob"))

    assert ada != bob
    assert await store.redeem(bob) == holder("bob")
    assert await store.redeem(ada) == holder("ada")


async def test_concurrent_redeems_of_one_ticket_have_one_winner(store: TicketStore) -> None:
    ticket = await store.issue(holder("user-1"))

    results = await asyncio.gather(*(store.redeem(ticket) for _ in range(10)))

    assert results.count(holder("user-1")) == 1
    assert results.count(None) == 9


async def test_ping_answers(store: TicketStore) -> None:
    assert await store.ping() >= 0


async def test_memory_ticket_expires_after_its_ttl() -> None:
    clock = Clock()
    store = MemoryTicketStore(ttl_s=30, clock=clock)
    early, late = await store.issue(holder("user-1")), await store.issue(holder("user-1"))

    clock.now += 29.9
    assert await store.redeem(early) == holder("user-1")
    clock.now += 0.1
    assert await store.redeem(late) is None


async def test_memory_store_forgets_expired_tickets() -> None:
    clock = Clock()
    store = MemoryTicketStore(ttl_s=30, clock=clock)
    for _ in range(100):
        await store.issue(holder("user-1"))

    clock.now += 31
    fresh = await store.issue(holder("user-2"))

    assert len(store._tickets) == 1
    assert await store.redeem(fresh) == holder("user-2")


async def test_redis_ticket_carries_the_ttl(redis_store: RedisTicketStore, redis_url: str) -> None:
    ticket = await redis_store.issue(holder("user-1"))

    client = redis.Redis.from_url(redis_url)
    try:
        ttl_ms = await client.pttl(redis_store.prefix + ticket)
    finally:
        await client.aclose()
    assert 0 < ttl_ms <= 30_000


async def test_redis_ticket_expires(redis_url: str) -> None:
    store = _redis_store(redis_url, ttl_s=1)
    client = redis.Redis.from_url(redis_url)
    try:
        ticket = await store.issue(holder("user-1"))
        key = store.prefix + ticket
        # Let Redis expire it now instead of sleeping through the ttl.
        assert await client.pexpire(key, 1)
        for _ in range(500):
            if not await client.exists(key):
                break
            await asyncio.sleep(0.002)
        else:
            pytest.fail("Redis never expired the ticket")

        assert await store.redeem(ticket) is None
    finally:
        await client.aclose()
        await store.close()


async def test_the_store_follows_the_settings(redis_url: str) -> None:
    memory = create_ticket_store(SETTINGS)
    on_redis = create_ticket_store(SETTINGS.model_copy(update={"redis_url": redis_url}))
    try:
        assert isinstance(memory, MemoryTicketStore)
        assert isinstance(on_redis, RedisTicketStore)
        assert on_redis.ttl_s == memory.ttl_s == SETTINGS.ws_ticket_ttl_s
        ticket = await on_redis.issue(holder("user-1"))
        assert await on_redis.redeem(ticket) == holder("user-1")
    finally:
        await memory.close()
        await on_redis.close()


async def test_a_redis_value_that_names_no_login_redeems_to_nothing(
    redis_store: RedisTicketStore, redis_url: str
) -> None:
    """A ticket from before tickets named their login (or anything not ours) opens nothing."""
    client = redis.Redis.from_url(redis_url)
    try:
        for value in ("user-1", "[1, 2]", "5", '["user-1"]'):
            await client.set(redis_store.prefix + "old", value, ex=30)
            assert await redis_store.redeem("old") is None
    finally:
        await client.aclose()


async def test_an_unreachable_redis_is_unavailable_not_an_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = RedisTicketStore(f"redis://127.0.0.1:{port}/0", ttl_s=30)
    try:
        with pytest.raises(Unavailable) as issuing:
            await store.issue(holder("user-1"))
        with pytest.raises(Unavailable):
            await store.redeem("a-ticket")
    finally:
        await store.close()
    assert issuing.value.status == 503 and issuing.value.code == "unavailable"
