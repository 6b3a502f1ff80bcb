"""The app in this process, spoken to over HTTP without a socket (httpx's ASGI
transport), for route tests that need no real server: its lifespan runs, so it is the
whole app, on the embedded default under a test's own directory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from netra.app import create_app
from netra.settings import Settings

PASSWORD = "pw-123456789"


@contextlib.asynccontextmanager
async def app_client(data_dir: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a started app; `settings` override the test defaults."""
    app = create_app(Settings(env="test", data_dir=data_dir, secret_key=SecretStr("s" * 40),
                              **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def signed_up(client: httpx.AsyncClient, email: str = "ada@example.com") -> dict[str, str]:
    """A new account's Authorization header."""
    answer = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
