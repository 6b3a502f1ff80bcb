"""Liveness, readiness (every dependency, with its latency) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from netra.components import Components
from netra.deps import AppComponents
from netra.errors import Unauthorized
from netra.metrics import REGISTRY

router = APIRouter()
CHECK_TIMEOUT_S = 2.0


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def _check(ping: Callable[[], Awaitable[float]]) -> dict[str, Any]:
    try:
        latency = await asyncio.wait_for(ping(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return {"ok": False, "latency_ms": None, "error": f"no answer within {CHECK_TIMEOUT_S:g} s"}
    except Exception as error:
        return {"ok": False, "latency_ms": None, "error": f"{type(error).__name__}: {error}"}
    return {"ok": True, "latency_ms": round(latency, 2)}


@router.get("/health/ready")
async def ready(components: AppComponents) -> JSONResponse:
    """Every dependency answers (200) or not (503), with per-dependency latency, and the
    run queue (depth, live processes executing runs); `degraded` lists what is down
    without stopping the service or losing a run."""
    names = ["database", "tickets", "event_bus", "analytics"]
    pings = [components.db.ping, components.tickets.ping, components.bus.ping,
             components.analytics.ping]
    results = await asyncio.gather(*(_check(p) for p in pings))
    checks = dict(zip(names, results, strict=True))
    checks["run_queue"] = _run_queue(components)
    # Without these the service still answers and no run is lost: Redis carries only
    # live fan-out and WebSocket tickets, and runs wait on the queue for a worker.
    degraded = [name for name in ("event_bus", "tickets", "run_queue")
                if not checks[name]["ok"]]
    ok = all(check["ok"] for name, check in checks.items() if name not in degraded)
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks,
                         "degraded": degraded}, status_code=200 if ok else 503)


def _run_queue(components: Components) -> dict[str, Any]:
    engine = components.runs
    check: dict[str, Any] = {"ok": engine.live_workers > 0, "latency_ms": 0.0,
                             "depth": engine.queue_depth, "live_workers": engine.live_workers,
                             "executor_id": engine.executor_id,
                             "executes_runs": engine.executes_runs}
    if not check["ok"]:
        check["error"] = "no live process executes runs: start `netra worker`"
    return check


@router.get("/metrics")
async def metrics(request: Request, components: AppComponents) -> Response:
    """Prometheus text format (with `Authorization: Bearer <NETRA_METRICS_TOKEN>` when set)."""
    token = components.settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 expected):
            raise Unauthorized("/metrics needs Authorization: Bearer <NETRA_METRICS_TOKEN>",
                               headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
