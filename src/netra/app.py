"""create_app(settings): routers, middleware, error mapping and the lifespan."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netra import __version__, metrics, openapi, startup
from netra.analysis.routes import router as analysis_router
from netra.auth.routes import router as auth_router
from netra.chat.agui import router as agui_router
from netra.chat.routes import router as chat_router
from netra.components import Components
from netra.errors import NetraError
from netra.health import router as health_router
from netra.orgs.routes import router as orgs_router
from netra.realtime.routes import router as realtime_router
from netra.request_limits import RequestLimits
from netra.security_headers import SecurityHeaders
from netra.settings import Settings
from netra.telemetry.routes import router as datasets_router
from netra.web.routes import router as web_router

log = logging.getLogger("netra")
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "bad_request", 409: "conflict", 413: "too_large", 422: "validation_error",
              429: "rate_limited", 503: "unavailable"}


def _envelope(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}},
                        status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NetraError)
    async def netra_error(_: Request, error: NetraError) -> JSONResponse:
        if error.status >= 500:
            log.error("%s: %s", error.code, error.message)
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e["loc"]), "message": e["msg"]} for e in error.errors()]
        first = details[0] if details else {"loc": [], "message": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _envelope(422, "validation_error", f"{where}: {first['message']}", details=details)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, "bad_request")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return JSONResponse({"error": {"code": code, "message": str(error.detail)}},
                            status_code=error.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error")  # logged once here, loudly; never sent to the client
        return _envelope(500, "internal_error", "internal error; it has been logged")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path: Starlette's 405 names only those of
    the first route that matched the path, where a path often has one route per method."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


class HttpMetrics:
    """Counts and times HTTP requests by route template (not raw path: bounded labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(scope["method"], route, str(status[0])).inc()
            metrics.HTTP_SECONDS.labels(scope["method"], route).observe(
                time.perf_counter() - started)


def create_app(settings: Settings, components: Components | None = None) -> FastAPI:
    """The ASGI app. With `components` given (netra serve) start-up already ran."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts = components or await startup.start(settings)
        app.state.components = parts
        # which loop `serve` chose: a server silently back on asyncio's would be slower
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        metrics.EVENT_LOOP.info({"implementation": loop})
        try:
            yield
        finally:
            await startup.stop(parts)

    docs = settings.api_docs_enabled
    app = FastAPI(title="Netra Apex", version=__version__, lifespan=lifespan,
                  docs_url="/api/docs" if docs else None,
                  openapi_url="/api/openapi.json" if docs else None, redoc_url=None)
    _install_error_handlers(app)
    # Outermost last: every answer (a 413 included) is counted and carries the headers.
    app.add_middleware(RequestLimits, settings=settings)
    app.add_middleware(HttpMetrics)
    app.add_middleware(SecurityHeaders, settings=settings)
    if settings.env == "production" and settings.metrics_token is None:
        log.warning("NETRA_METRICS_TOKEN is unset: /metrics answers anyone who can reach "
                    "this server")
    for router in (health_router, auth_router, orgs_router, chat_router, agui_router,
                   datasets_router, analysis_router, realtime_router, web_router):
        app.include_router(router)
    openapi.install(app)
    return app


def create_worker_app(settings: Settings, components: Components) -> FastAPI:
    """A worker's own small app: health and metrics only (its runs come from the queue)."""
    app = FastAPI(title="Netra Apex worker", version=__version__, docs_url=None,
                  openapi_url=None, redoc_url=None)
    app.state.components = components
    _install_error_handlers(app)
    app.add_middleware(SecurityHeaders, settings=settings)
    app.include_router(health_router)
    return app
