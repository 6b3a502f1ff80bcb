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
BUS_DROPPED = Counter(
    "netra_bus_dropped_total",
    "Messages the Redis event bus did not carry to other instances (they refill from the log)",
    ["reason"], registry=REGISTRY,
)
BUS_OUTBOX = Gauge(
    "netra_bus_outbox", "Messages waiting to be published to Redis", registry=REGISTRY,
)

# Durable runs (DBOS): the shared queue, and what recovery did.
RUN_QUEUE_DEPTH = Gauge(
    "netra_run_queue_depth", "Runs waiting on the shared run queue (as last seen here)",
    registry=REGISTRY,
)
RUNS_RESUMED = Counter(
    "netra_runs_resumed_total", "Runs this process resumed after an interruption",
    registry=REGISTRY,
)
RUNS_TAKEN_OVER = Counter(
    "netra_runs_taken_over_total",
    "Runs of stopped or dead processes this process put back on the queue", registry=REGISTRY,
)
RUNS_REQUEUED = Counter(
    "netra_runs_requeued_total", "Active runs found missing from the queue and enqueued",
    registry=REGISTRY,
)
STEP_SECONDS = Histogram(
    "netra_run_step_seconds", "Checkpointed steps of runs (tool calls, model calls)", ["kind"],
    registry=REGISTRY, buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DATASET_ANALYSES = Counter(
    "netra_dataset_analyses_total",
    "Dataset versions analysed here, counted once all results are kept (each version "
    "once, whoever asks first)", registry=REGISTRY,
)
