"""Prometheus metrics, on one registry served at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "netra_http_requests_total", "HTTP requests by method, route and status",
    ["method", "route", "status"], registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "netra_http_request_seconds", "HTTP request duration", ["method", "route"], registry=REGISTRY,
)
OPEN_WEBSOCKETS = Gauge("netra_open_websockets", "Open WebSocket connections", registry=REGISTRY)
WS_SLOW_CLOSES = Counter(
    "netra_ws_slow_closes_total", "Sockets closed with 1013 for reading too slowly",
    registry=REGISTRY,
)
RUNS = Counter("netra_runs_total", "Agent runs by final status", ["status"], registry=REGISTRY)
ACTIVE_RUNS = Gauge("netra_active_runs", "Agent runs queued or running here", registry=REGISTRY)
RUN_SECONDS = Histogram(
    "netra_run_seconds", "Agent run duration, message to terminal event", registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
EVENT_DELIVERY_SECONDS = Histogram(
    "netra_event_delivery_seconds", "Run event creation to WebSocket send", registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
EVENT_GAPS_FILLED = Counter(
    "netra_event_gaps_filled_total", "Event gaps refilled from the stored log", registry=REGISTRY,
)
SQLITE_CHECKPOINT_SECONDS = Histogram(
    "netra_sqlite_checkpoint_seconds", "Background checkpoints of the SQLite WAL",
    registry=REGISTRY, buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
EVENT_LOOP = Info(
    "netra_event_loop", "The event loop serving this process (uvloop, or asyncio's own)",
    registry=REGISTRY,
)
