"""The headers every HTTP response carries, so a browser holds the page to what it is.

The page runs only its own files: no inline script, no plugin, no other site
framing it, no Referer leaving it. API answers get the strictest policy (they are never
documents to render). The API docs page (Swagger UI, from its CDN, with an inline
bootstrap script) gets a policy of its own; it shows no user data. HSTS is sent when
NETRA_PUBLIC_URL is https (the server itself may sit behind a TLS-terminating proxy).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netra.settings import Settings

_COMMON = ("object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")
# 'self' covers the same origin's ws:/wss: in CSP Level 3 browsers; data: is the favicon,
# blob: the downloads built in the page. No inline style of any kind (the charts are drawn
# with classes and CSSOM widths): with images, fonts and connections held to 'self',
# injected markup could not send anything anywhere either.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
               "style-src-attr 'none'; img-src 'self' data: blob:; font-src 'self'; "
               "connect-src 'self'; worker-src 'none'; manifest-src 'self'; " + _COMMON)
API_POLICY = "default-src 'none'; " + _COMMON
_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (f"default-src 'self'; script-src 'self' 'unsafe-inline' {_CDN}; "
               f"style-src 'self' 'unsafe-inline' {_CDN}; img-src 'self' data: "
               "https://fastapi.tiangolo.com; connect-src 'self'; " + _COMMON)
HSTS = "max-age=31536000"


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hsts = settings.hsts

    def policy(self, path: str) -> str:
        if path == "/api/docs" or path.startswith("/api/docs/"):
            return DOCS_POLICY
        if path.startswith(("/api/", "/health/", "/metrics", "/ws")):
            return API_POLICY
        return PAGE_POLICY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policy(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if self.hsts:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, with_headers)
