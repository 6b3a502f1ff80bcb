"""A real OpenID Connect provider for the single sign-on tests: oidc-provider-mock
(discovery, JWKS, the authorization code flow, signed ID tokens), served from a thread of
the test process on a free port of localhost.

A person at its sign-in page is played by `authorize`: it posts the page's form with the
subject to sign in as, exactly as the page would, and returns where the provider sends
the browser back.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import oidc_provider_mock
import werkzeug.serving

Environ = dict[str, Any]
WsgiApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Provider:
    issuer: str  # also where it listens: http://localhost:<port>

    def user(self, sub: str, **claims: Any) -> None:
        """What the provider says about `sub` in its ID tokens from now on."""
        response = httpx.put(f"{self.issuer}/users/{quote(sub)}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Sign in as `sub` on the provider's page; the URL it sends the browser back to."""
        return self._answer(authorization_url, {"sub": sub})

    def deny(self, authorization_url: str) -> str:
        """Press "Deny" on the provider's page; where it sends the browser back."""
        return self._answer(authorization_url, {"action": "deny"})

    def _answer(self, authorization_url: str, form: dict[str, str]) -> str:
        response = httpx.post(authorization_url, data=form, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["location"]


class _TokensFromAnotherIssuer:
    """Wraps the provider so that its token endpoint believes it is 127.0.0.1 rather than
    localhost: the ID tokens it signs (with its real key) then name another issuer than
    its discovery document does."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/oauth2/token":
            environ = {**environ, "HTTP_HOST": f"127.0.0.1:{environ['SERVER_PORT']}"}
        return self.app(environ, start_response)


@contextlib.contextmanager
def running_provider(*, tokens_from_another_issuer: bool = False) -> Iterator[Provider]:
    """A provider that requires a nonce on every authorization request."""
    app: WsgiApp = oidc_provider_mock.app(require_nonce=True)
    if tokens_from_another_issuer:
        app = _TokensFromAnotherIssuer(app)
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield Provider(f"http://localhost:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
