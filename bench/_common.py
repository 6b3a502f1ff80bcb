"""What every benchmark module shares: the Figure it reports, percentiles, the server
process and its memory, and a WebSocket client that time-stamps frames as they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

from tests.e2e.client import User
from tests.e2e.server import Server, running_server
from websockets.asyncio.client import ClientConnection, connect

TIMEOUT_S = 120.0


@dataclass
class Figure:
    """One measured number, what it should be, and the same-run number it is compared to.

    `target` is an upper bound (lower is better for every figure we have). `compare`
    says how the figure relates to its baseline: "ratio" (value / baseline) or
    "difference" (value - baseline, for growths where the baseline may be ~0).
    """

    name: str
    value: float
    unit: str
    target: float | None = None
    baseline: float | None = None
    baseline_name: str = ""
    compare: Literal["ratio", "difference"] = "ratio"
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.value <= self.target

    def verdict(self) -> str:
        return {None: "-", True: "PASS", False: "MISS"}[self.passed]

    def versus(self) -> str:
        if self.baseline is None:
            return "-"
        if self.compare == "difference":
            return f"{self.value - self.baseline:+.2f} {self.unit}"
        if self.baseline <= 0:
            return "n/a"
        return f"{self.value / self.baseline:.1f}×"


def fmt(value: float, unit: str) -> str:
    return f"{value:,.2f} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least pct % of samples ≤ it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_figures(
    name: str, samples_ms: Sequence[float], baseline_ms: Sequence[float], baseline_name: str,
    *, p95_target: float | None = None, detail: str = "",
) -> list[Figure]:
    """p50 and p95 of `samples_ms`, each against the same percentile of the baseline."""
    return [
        Figure(f"{name} p{pct}", percentile(samples_ms, pct), "ms",
               target=p95_target if pct == 95 else None,
               baseline=percentile(baseline_ms, pct), baseline_name=f"{baseline_name} p{pct}",
               detail=detail)
        for pct in (50, 95)
    ]


# -- the server under test -------------------------------------------------------------


async def timed_ms(samples: int, fn: Callable[[], Awaitable[Any]]) -> list[float]:
    """`samples` timings of `fn` in ms, after one warm-up call (first-use costs such as
    catalogue lookups and query plans are not latency)."""
    await fn()
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


@contextlib.contextmanager
def bench_server(label: str) -> Iterator[Server]:
    """A fresh `netra serve` subprocess on the embedded default (SQLite + DuckDB) with
    every limit at its real default, in a throw-away data directory."""
    with (tempfile.TemporaryDirectory(prefix=f"netra-bench-{label}-") as tmp,
          running_server(Path(tmp) / "data") as server):
        yield server


def rss_mb(pid: int) -> float:
    """The resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def gather_limited(limit: int, *coros: Any) -> list[Any]:
    """asyncio.gather with at most `limit` running at once (set-up calls, not measurements)."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))


# -- a time-stamping WebSocket client ----------------------------------------------------


# Servers from before the shared rate limiter kept a token bucket per socket (10 frames
# a second, bursts of 30); the "before" servers some benchmarks compare against still do.
# Today's servers run with NETRA_RATE_LIMITS=off (tests/e2e/server.py: server_env).
MESSAGES_PER_SECOND = 10.0
BURST = 30.0
# The client refills slower than the server: frames reach the server with jitter (a busy
# loop on either side), and a bucket mirrored exactly would run dry there first.
_PACED_RATE = 0.8 * MESSAGES_PER_SECOND


class _Pacer:
    """The old servers' per-socket token bucket, mirrored with a margin: a benchmark must
    never be refused with rate_limited, so it waits for a token a little longer than the
    server would."""

    def __init__(self) -> None:
        self.tokens = BURST
        self.at = time.monotonic()

    async def take(self) -> None:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * _PACED_RATE)
        self.at = now
        if self.tokens < 1:
            wait = (1 - self.tokens) / _PACED_RATE
            await asyncio.sleep(wait)
            self.tokens += wait * _PACED_RATE
            self.at = time.monotonic()
        self.tokens -= 1


class ServerError(RuntimeError):
    """The server answered a benchmark frame with an `error`."""


class LiveSocket:
    """One WebSocket whose reader task records when the frames a benchmark waits for
    arrive (pong, message_accepted, the supervisor's agent_started, the terminal event),
    so a measurement never includes the time the benchmark took to look at a frame."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._pacer = _Pacer()
        self._arrived: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._waiting: dict[tuple[str, str], asyncio.Future[tuple[float, dict[str, Any]]]] = {}
        self._failure: ServerError | None = None
        self.run_ids: set[str] = set()  # of every run event this socket received
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, user: User) -> LiveSocket:
        ws = await connect(f"{user.ws_url}?ticket={await user.ticket()}", max_size=2**24)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if hello.get("type") != "connected":
            raise ServerError(f"expected connected, got {hello}")
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                if "seq" in frame:
                    self.run_ids.add(str(frame.get("run_id")))
                if frame.get("type") == "error" and "client_msg_id" not in frame:
                    raise ServerError(f"{frame.get('code')}: {frame.get('message')}")
                key = _key(frame)
                if key is not None:
                    self._arrive(key, now, frame)
        except Exception as error:  # the socket died: fail everyone still waiting
            self._failure = ServerError(f"socket reader stopped: {error!r}")
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(self._failure)

    def _arrive(self, key: tuple[str, str], now: float, frame: dict[str, Any]) -> None:
        future = self._waiting.pop(key, None)
        if future is None:
            self._arrived[key] = (now, frame)
        elif frame.get("type") == "error":
            future.set_exception(ServerError(f"{frame.get('code')}: {frame.get('message')}"))
        else:
            future.set_result((now, frame))

    async def wait(self, key: tuple[str, str]) -> tuple[float, dict[str, Any]]:
        """(arrival time, frame) of the frame with this key, however early it came."""
        if key in self._arrived:
            now, frame = self._arrived.pop(key)
            if frame.get("type") == "error":
                raise ServerError(f"{frame.get('code')}: {frame.get('message')}")
            return now, frame
        if self._failure is not None:
            raise self._failure
        future = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return await asyncio.wait_for(future, TIMEOUT_S)

    async def ping_ms(self) -> float:
        """One ping → pong round trip, in ms (one ping in flight per socket)."""
        await self._pacer.take()
        sent = time.perf_counter()
        await self.ws.send('{"type":"ping"}')
        arrived, _ = await self.wait(("pong", ""))
        return (arrived - sent) * 1000

    async def ask(self, thread_id: str, content: str, dataset_id: str) -> tuple[float, str]:
        """Send a user_message; returns (the moment it was sent, its run id)."""
        await self._pacer.take()
        client_msg_id = secrets.token_hex(8)
        frame = {"type": "user_message", "thread_id": thread_id, "content": content,
                 "dataset_id": dataset_id, "client_msg_id": client_msg_id}
        sent = time.perf_counter()
        await self.ws.send(json.dumps(frame))
        _, accepted = await self.wait(("accepted", client_msg_id))
        return sent, str(accepted["run_id"])

    async def started_at(self, run_id: str) -> float:
        arrived, _ = await self.wait(("started", run_id))
        return arrived

    async def finished(self, run_id: str) -> tuple[float, dict[str, Any]]:
        """(arrival, event) of the run's terminal event; a run that did not complete
        with an answer fails the benchmark rather than being timed."""
        arrived, event = await self.wait(("done", run_id))
        if event["type"] != "agent_completed":
            raise ServerError(f"run {run_id} ended with {event['type']}: {event['payload']}")
        return arrived, event

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _key(frame: dict[str, Any]) -> tuple[str, str] | None:
    kind = frame.get("type")
    if kind == "pong":
        return ("pong", "")
    if kind in ("message_accepted", "error"):
        return ("accepted", str(frame.get("client_msg_id")))
    if "seq" not in frame or frame.get("agent") != "supervisor" and kind != "run_cancelled":
        return None
    if kind == "agent_started":
        return ("started", str(frame["run_id"]))
    if kind in ("agent_completed", "agent_error", "run_cancelled"):
        return ("done", str(frame["run_id"]))
    return None


ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def source_at(commit: str) -> Iterator[Path]:
    """The package as it was at `commit`, from git, in a temporary directory: the
    baseline a benchmark measures in the same run."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "src"],
                             check=True, capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="netra-before-") as tmp:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / "src"
