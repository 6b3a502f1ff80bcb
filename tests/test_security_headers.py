"""The headers on every answer, and the settings that shape them (HSTS, the API docs)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from netra.security_headers import SecurityHeaders
from netra.settings import Settings, SettingsError, load_settings


def _app(settings: Settings) -> SecurityHeaders:
    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    routes = [Route(path, hello) for path in ("/", "/api/me", "/api/docs")]
    return SecurityHeaders(Starlette(routes=routes), settings)


async def _get(settings: Settings, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_hsts_only_for_an_https_public_url() -> None:
    assert "strict-transport-security" not in (await _get(Settings(), "/")).headers
    plain = Settings(public_url="http://netra.internal:8000")
    assert "strict-transport-security" not in (await _get(plain, "/")).headers
    secure = Settings(public_url="https://netra.example.com")
    for path in ("/", "/api/me"):
        assert (await _get(secure, path)).headers["strict-transport-security"] \
            == "max-age=31536000"


async def test_each_kind_of_answer_gets_its_policy() -> None:
    page, api, docs = [(await _get(Settings(), p)).headers["content-security-policy"]
                       for p in ("/", "/api/me", "/api/docs")]
    assert "script-src 'self';" in page and "style-src-attr 'none'" in page
    assert api.startswith("default-src 'none'")
    assert "cdn.jsdelivr.net" in docs and "cdn.jsdelivr.net" not in page
    for policy in (page, api, docs):
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_api_docs_default_off_in_production_only() -> None:
    assert Settings().api_docs_enabled
    assert not Settings(env="production").api_docs_enabled
    assert Settings(env="production", api_docs=True).api_docs_enabled
    assert not Settings(api_docs=False).api_docs_enabled


def test_a_public_url_must_be_http() -> None:
    with pytest.raises(SettingsError, match="NETRA_PUBLIC_URL"):
        load_settings(public_url="netra.example.com")
    with pytest.raises(SettingsError, match="NETRA_ALLOWED_ORIGINS"):
        load_settings(allowed_origins="https://ok.example,javascript:alert(1)")
