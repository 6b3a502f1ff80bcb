"""The one connection hub: which sockets each user holds, and per-socket ordered delivery.

Every socket has one bounded send queue and one writer task. The writer tracks, per
run, the contiguous range of `seq` it has sent, so that:
- a duplicate (live copy of a replayed event, a bus redelivery) is dropped;
- a gap (an event lost by the bus, or a socket that joined late) is refilled from the
  stored log before the newer event goes out;
- `resume` replays exactly what the client lacks;
- after the bus may have lost messages (Redis was away), `refill_open_runs` resumes every
  run a socket is following from the last `seq` it sent, so that a run's tail, which no
  later event would reveal as a gap, still arrives.
A client that cannot keep up is closed with 1013 (never buffered without bound). A socket
whose login is revoked (logout, refresh-token reuse) is closed with 4401, on every
instance: the revocation goes out on the event bus as a `login_revoked` control message.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from netra import jsonwire, metrics
from netra.realtime.events import Event, is_terminal

log = logging.getLogger(__name__)

# Loads stored events of a run with after < seq < before (before=None: no upper bound).
EventLoader = Callable[[str, int, int | None], Awaitable[list[Event]]]
TRY_AGAIN_LATER = 1013
# Close codes of our own (4000-4999), after the HTTP statuses they echo.
LOGIN_REVOKED_CLOSE = 4401
TOO_MANY_SOCKETS_CLOSE = 4429
# The control message (no "seq": not a run event) that closes a login's sockets.
LOGIN_REVOKED = "login_revoked"
# Ended runs whose delivered range a socket still remembers, so that a late duplicate of
# their events (a bus redelivery, a replay racing the live copy) is still dropped. Older
# ones are forgotten: a long-lived socket must not grow with every run it ever saw.
ENDED_RUNS_REMEMBERED = 64


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass
class _Sent:
    first: int
    last: int


@dataclass(frozen=True)
class _Resume:
    run_id: str
    after_seq: int


class _Refill:
    """Resume every run the socket follows, as of everything queued before it."""


_REFILL = _Refill()


def login_revoked(login_id: str) -> dict[str, Any]:
    """The bus message that closes every socket of this login, on every instance."""
    return {"type": LOGIN_REVOKED, "login_id": login_id}


class Connection:
    def __init__(self, socket: Socket, user_id: str, queue_size: int, load: EventLoader,
                 *, login_id: str | None = None) -> None:
        self.id = secrets.token_hex(8)
        self.user_id = user_id
        self.login_id = login_id  # None: not opened with a login's ticket (AG-UI stream)
        self._socket = socket
        self._load = load
        self._queue: asyncio.Queue[Event | _Resume | _Refill | None] = asyncio.Queue(queue_size)
        self._sent: dict[str, _Sent] = {}
        self._ended: dict[str, None] = {}  # runs whose terminal event went out, oldest first
        self.closed = asyncio.Event()

    def offer(self, item: Event | _Resume | _Refill) -> None:
        """Queue an item for the writer; a full queue means the client is too slow."""
        if self.closed.is_set():
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("connection %s too slow: closing with 1013", self.id)
            metrics.WS_SLOW_CLOSES.inc()
            self.close(TRY_AGAIN_LATER, "too slow: reconnect and resume")

    def close(self, code: int, reason: str) -> None:
        """Close now, without sending what is queued; the reader then ends the socket."""
        if self.closed.is_set():
            return
        self.closed.set()
        task = asyncio.get_running_loop().create_task(self._socket.close(code, reason))
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    def send(self, frame: dict[str, Any]) -> None:
        self.offer(frame)

    def resume(self, run_id: str, after_seq: int) -> None:
        self.offer(_Resume(run_id, after_seq))

    def refill(self) -> None:
        """Resume every run this socket has sent events of but not yet its last one
        (the writer decides which, once it has sent what is queued before)."""
        self.offer(_REFILL)

    def stop(self) -> None:
        """Let the writer send what is queued, then end (at once if the queue is full)."""
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self.closed.set()

    async def write_forever(self) -> None:
        """The only coroutine that writes to this socket, so frames never interleave."""
        try:
            while True:
                item = await self._queue.get()
                if item is None or self.closed.is_set():
                    return
                if isinstance(item, _Resume):
                    await self._replay(item)
                elif isinstance(item, _Refill):
                    await self._refill()
                elif "seq" in item and "run_id" in item:
                    await self._deliver(item)
                else:
                    await self._write(item)
        except Exception as error:  # a dead peer: the reader side notices and cleans up
            log.debug("connection %s writer stopped: %s", self.id, error)
        finally:
            self.closed.set()

    async def _deliver(self, event: Event) -> None:
        run_id, seq = event["run_id"], event["seq"]
        sent = self._sent.get(run_id)
        if sent is None:
            self._sent[run_id] = _Sent(seq, seq)
        elif seq <= sent.last:
            return  # already delivered, or older than what this socket asked for
        else:
            if seq > sent.last + 1:
                for missing in await self._load(run_id, sent.last, seq):
                    await self._write(missing)
                metrics.EVENT_GAPS_FILLED.inc()
            sent.last = seq
        await self._write(event, live=True)
        if is_terminal(event):
            self._remember_ended(run_id)

    def _remember_ended(self, run_id: str) -> None:
        self._ended[run_id] = None
        if len(self._ended) > ENDED_RUNS_REMEMBERED:
            oldest = next(iter(self._ended))
            del self._ended[oldest]
            self._sent.pop(oldest, None)

    async def _refill(self) -> None:
        open_runs = [(run, sent.last) for run, sent in self._sent.items() if run not in self._ended]
        for run_id, last in open_runs:
            await self._replay(_Resume(run_id, last))

    async def _replay(self, resume: _Resume) -> None:
        sent = self._sent.get(resume.run_id)
        last, ended = resume.after_seq, False
        for event in await self._load(resume.run_id, resume.after_seq, None):
            last, ended = max(last, event["seq"]), ended or is_terminal(event)
            if sent is not None and sent.first <= event["seq"] <= sent.last:
                continue
            await self._write(event)
        first = resume.after_seq + 1
        if sent is not None:
            first, last = min(first, sent.first), max(last, sent.last)
        self._sent[resume.run_id] = _Sent(first, last)
        if ended:
            self._remember_ended(resume.run_id)

    async def _write(self, frame: dict[str, Any], *, live: bool = False) -> None:
        await self._socket.send_text(jsonwire.dumps(frame))
        if live and "ts" in frame:
            created = datetime.fromisoformat(frame["ts"].replace("Z", "+00:00"))
            metrics.EVENT_DELIVERY_SECONDS.observe(
                max(0.0, (datetime.now(UTC) - created).total_seconds())
            )


_closing: set[asyncio.Task[None]] = set()  # close calls in flight (held against the GC)


class ConnectionHub:
    """Holds every open socket of this instance, by user."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[Connection]] = {}

    def add(self, connection: Connection, *, max_per_user: int | None = None) -> bool:
        """Hold the connection; False (and not held) if its user already has
        `max_per_user` here. Checked and added without an await: no race."""
        if max_per_user is not None and len(self._by_user.get(connection.user_id, ())) \
                >= max_per_user:
            return False
        self._by_user.setdefault(connection.user_id, set()).add(connection)
        metrics.OPEN_WEBSOCKETS.inc()
        return True

    def remove(self, connection: Connection) -> None:
        connections = self._by_user.get(connection.user_id)
        if connections and connection in connections:
            connections.discard(connection)
            metrics.OPEN_WEBSOCKETS.dec()
            if not connections:
                del self._by_user[connection.user_id]

    def deliver(self, user_id: str, event: Event) -> None:
        """Fan an event out to every socket of its user (and no one else's)."""
        for connection in list(self._by_user.get(user_id, ())):
            connection.offer(event)

    def refill_open_runs(self) -> None:
        """Have every socket catch up, from the stored log, on the runs it is following:
        for when the bus may have lost messages (e.g. it reconnected to Redis)."""
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.refill()

    def close_login(self, user_id: str, login_id: str) -> int:
        """Close this instance's sockets of one login (it was revoked); how many."""
        closing = [c for c in self._by_user.get(user_id, ()) if c.login_id == login_id]
        for connection in closing:
            connection.close(LOGIN_REVOKED_CLOSE, "signed out: this login was revoked")
        return len(closing)

    def logins(self) -> set[tuple[str, str]]:
        """(user id, login id) of every open socket opened with a login's ticket."""
        return {(c.user_id, c.login_id) for connections in self._by_user.values()
                for c in connections if c.login_id is not None}

    def count(self) -> int:
        return sum(len(c) for c in self._by_user.values())

    async def close_all(self) -> None:
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.stop()
