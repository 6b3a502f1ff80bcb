"""The one rate limiter: in memory, in Redis shared by instances, and through a Redis outage."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from netra.errors import RateLimited
from netra.ratelimit import RateLimiter
from netra.settings import Settings
from tests.e2e.processes import private_redis

SETTINGS = Settings(env="test", login_attempts_per_minute=3, messages_per_minute=5)


def limiter(redis_url: str | None = None, prefix: str = "", **settings: object) -> RateLimiter:
    chosen = SETTINGS.model_copy(update={"redis_url": redis_url, **settings})
    # A private prefix per test: runs sharing one Redis never see each other's counters.
    return RateLimiter(chosen, key_prefix=prefix or f"netra-test:{secrets.token_hex(6)}")


@pytest.fixture(params=["memory", "redis"])
async def limits(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    chosen = limiter(url)
    assert chosen.storage == request.param
    try:
        yield chosen
    finally:
        await chosen.close()


async def test_the_hit_over_the_limit_is_refused_with_retry_after(limits: RateLimiter) -> None:
    for _ in range(3):
        await limits.hit(limits.login_per_account, "ada")

    with pytest.raises(RateLimited) as refused:
        await limits.hit(limits.login_per_account, "ada")

    assert refused.value.status == 429 and refused.value.code == "rate_limited"
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
    assert refused.value.body()["error"]["retry_after"] == refused.value.retry_after
    assert "this account" in refused.value.message


async def test_keys_and_limits_are_counted_apart(limits: RateLimiter) -> None:
    for _ in range(3):
        await limits.hit(limits.login_per_account, "ada")

    await limits.hit(limits.login_per_account, "bob")  # another key
    await limits.hit(limits.login_per_address, "ada")  # another limit, same key
    with pytest.raises(RateLimited):
        await limits.hit(limits.login_per_account, "ada")


async def test_off_means_no_limit() -> None:
    unlimited = limiter(rate_limits=False)
    try:
        for _ in range(50):
            await unlimited.hit(unlimited.login_per_account, "ada")
    finally:
        await unlimited.close()


async def test_instances_sharing_redis_count_together(redis_url: str) -> None:
    prefix = f"netra-test:{secrets.token_hex(6)}"
    a, b = limiter(redis_url, prefix), limiter(redis_url, prefix)
    try:
        await a.hit(a.login_per_account, "ada")
        await b.hit(b.login_per_account, "ada")
        await a.hit(a.login_per_account, "ada")
        with pytest.raises(RateLimited):
            await b.hit(b.login_per_account, "ada")
    finally:
        await a.close()
        await b.close()


async def test_unreachable_redis_falls_back_to_counting_here() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cut_off = limiter(f"redis://127.0.0.1:{port}/0")
    try:
        for _ in range(3):  # neither an error nor a free pass
            await cut_off.hit(cut_off.login_per_account, "ada")
        with pytest.raises(RateLimited):
            await cut_off.hit(cut_off.login_per_account, "ada")
    finally:
        await cut_off.close()


async def test_redis_stopping_mid_way_keeps_the_limit_and_never_errors(tmp_path: Path) -> None:
    with private_redis(tmp_path / "redis") as server:
        limits = limiter(server.url)
        try:
            await limits.hit(limits.login_per_account, "ada")  # counted in Redis
            server.kill()
            for _ in range(3):  # counted in this process from here on
                await limits.hit(limits.login_per_account, "ada")
            with pytest.raises(RateLimited):
                await limits.hit(limits.login_per_account, "ada")
        finally:
            await limits.close()
