"""Which web pages may open the WebSocket: the app's own, and the ones an operator lists.

A browser sends `Origin` with every WebSocket handshake and lets any page open a socket
to any server; the server is the one to refuse a page of another site (cross-site
WebSocket hijacking). The app's own origin is the Host the request came to (so it works
on any address without configuration), NETRA_PUBLIC_URL's origin (behind a proxy that
rewrites Host), and NETRA_ALLOWED_ORIGINS. A handshake without Origin comes from no
browser page (the CLI, scripts, other servers) and is allowed: the ticket still rules.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from netra.settings import Settings, origin_of

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_host(origin: str, host: str) -> bool:
    """Whether `origin` names the host (and port) of a `Host` header."""
    scheme = origin.partition("://")[0]
    wanted = urlsplit(f"//{host.strip().lower()}")
    given = urlsplit(origin)
    try:
        wanted_port = wanted.port or _DEFAULT_PORTS[scheme]
        given_port = given.port or _DEFAULT_PORTS[scheme]
    except (ValueError, KeyError):
        return False
    return bool(wanted.hostname) and wanted.hostname == given.hostname \
        and wanted_port == given_port


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    if origin is None:
        return True
    try:
        normalised = origin_of(origin)
    except ValueError:
        return False  # "null" (sandboxed frames, files) or garbage: no page of ours
    if host and _same_host(normalised, host):
        return True
    if settings.public_url and normalised == origin_of(settings.public_url):
        return True
    return normalised in settings.allowed_origins
