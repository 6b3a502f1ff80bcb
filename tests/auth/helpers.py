"""Test data for auth tests: small functions, real databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from netra.auth import service
from netra.auth.models import User
from netra.db import Database
from netra.errors import NetraError
from netra.settings import Settings

T = TypeVar("T")

SETTINGS = Settings(env="test", secret_key=SecretStr("t" * 40), redis_url=None)
PASSWORD = "correct horse battery"


async def in_request(database: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a transaction owned the way netra.deps.get_session owns a request's."""
    async with database.sessions() as session:
        try:
            result = await work(session)
        except NetraError as error:
            if error.keeps_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        await session.commit()
        return result


async def create_user(
    database: Database, email: str = "ada@example.com", password: str = PASSWORD
) -> tuple[User, service.TokenPair]:
    return await in_request(
        database,
        lambda s: service.signup(s, SETTINGS, email=email, password=password, name="Ada"),
    )


async def refresh(database: Database, token: str) -> tuple[User, service.TokenPair]:
    return await in_request(database, lambda s: service.refresh(s, SETTINGS, token))
