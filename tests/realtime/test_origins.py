"""Which pages may open the WebSocket: its own origin (the Host it was reached at),
NETRA_PUBLIC_URL's and NETRA_ALLOWED_ORIGINS; no Origin at all is not a page."""

from __future__ import annotations

import pytest

from netra.realtime.origins import origin_allowed
from netra.settings import Settings, load_settings


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    (None, "127.0.0.1:8000", True),
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("https://app.example", "app.example", True),  # behind TLS, default port
    ("HTTPS://App.Example:443", "app.example", True),
    ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
    ("https://evil.example", "127.0.0.1:8000", False),
    ("https://app.example.evil.example", "app.example", False),
    ("null", "127.0.0.1:8000", False),
    ("not a url", "127.0.0.1:8000", False),
])
def test_own_origin(origin: str | None, host: str, allowed: bool) -> None:
    assert origin_allowed(origin, host, Settings()) is allowed


def test_configured_origins() -> None:
    settings = load_settings(public_url="https://netra.example.com/app",
                             allowed_origins="https://partner.example, http://b.example:8080")
    assert settings.allowed_origins == ["https://partner.example", "http://b.example:8080"]
    for origin in ("https://netra.example.com", "https://partner.example",
                   "http://b.example:8080"):
        assert origin_allowed(origin, "10.0.0.5:8000", settings), origin
    assert not origin_allowed("http://b.example", "10.0.0.5:8000", settings)
