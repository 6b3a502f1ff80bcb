"""Argon2id password hashing, kept off the event loop (one hash costs tens of ms of CPU)."""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from netra.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 8

# argon2-cffi's defaults are RFC 9106's low-memory argon2id profile.
_hasher = PasswordHasher()


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters",
            details=[{"field": "password", "reason": "too_short"}],
        )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


async def verify_against_dummy(password: str) -> None:
    """Spend the same work as a real check, so a login for an unknown email is not faster."""
    await asyncio.to_thread(lambda: _verify(_dummy_hash(), password))


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash predates the current cost parameters."""
    return _hasher.check_needs_rehash(password_hash)
