"""The connection hub's delivery rules: no duplicates, no gaps, exact resume, bounded queues."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from netra.realtime.hub import (
    ENDED_RUNS_REMEMBERED,
    LOGIN_REVOKED_CLOSE,
    Connection,
    ConnectionHub,
)


class RecordingSocket:
    """Stands in for the WebSocket: records what the writer sends."""

    def __init__(self, block: asyncio.Event | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self.close_reason: str | None = None
        self._block = block

    async def send_text(self, data: str) -> None:
        if self._block is not None:
            await self._block.wait()
        self.sent.append(json.loads(data))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with, self.close_reason = code, reason


def event(seq: int, run: str = "r1") -> dict[str, Any]:
    return {"type": "agent_thinking", "run_id": run, "thread_id": "t", "seq": seq,
            "ts": "2026-11-25T10:00:00.000Z", "agent": "data", "payload": {"text": str(seq)}}


LOG = {"r1": [event(i) for i in range(1, 11)]}


async def load(run_id: str, after: int, before: int | None) -> list[dict[str, Any]]:
    return [e for e in LOG[run_id] if e["seq"] > after and (before is None or e["seq"] < before)]


async def drain(connection: Connection) -> None:
    connection.stop()
    await connection.write_forever()


async def run_writer(connection: Connection, socket: RecordingSocket) -> None:
    writer = asyncio.create_task(connection.write_forever())
    connection.stop()
    await writer


def seqs(socket: RecordingSocket) -> list[int]:
    return [f["seq"] for f in socket.sent if "seq" in f]


async def test_duplicates_are_dropped_and_gaps_refilled_from_the_log() -> None:
    socket = RecordingSocket()
    connection = Connection(socket, "u", 100, load)
    for seq in (1, 2, 2, 5, 3, 6):
        connection.offer(event(seq))
    await run_writer(connection, socket)
    assert seqs(socket) == [1, 2, 3, 4, 5, 6]


async def test_resume_sends_exactly_what_the_client_lacks() -> None:
    socket = RecordingSocket()
    connection = Connection(socket, "u", 100, load)
    # Live events 7 and 8 reached the new socket before the client's resume(after_seq=4).
    connection.offer(event(7))
    connection.offer(event(8))
    connection.resume("r1", 4)
    connection.offer(event(9))
    connection.offer(event(10))
    await run_writer(connection, socket)
    assert sorted(seqs(socket)) == [5, 6, 7, 8, 9, 10]
    assert len(seqs(socket)) == len(set(seqs(socket)))


async def test_hub_delivers_only_to_the_events_user() -> None:
    hub = ConnectionHub()
    mine, theirs = RecordingSocket(), RecordingSocket()
    a = Connection(mine, "alice", 100, load)
    b = Connection(theirs, "bob", 100, load)
    hub.add(a)
    hub.add(b)
    hub.deliver("alice", event(1))
    await run_writer(a, mine)
    await run_writer(b, theirs)
    assert seqs(mine) == [1] and theirs.sent == []
    hub.remove(a)
    hub.remove(b)
    assert hub.count() == 0


async def test_a_client_too_slow_to_read_is_closed_with_1013() -> None:
    blocked = asyncio.Event()
    socket = RecordingSocket(block=blocked)
    connection = Connection(socket, "u", 16, load)
    writer = asyncio.create_task(connection.write_forever())
    for seq in range(1, 40):
        connection.offer(event(seq))
    await asyncio.sleep(0)  # let the close task the overflow scheduled run
    assert socket.closed_with == 1013
    assert connection.closed.is_set()
    blocked.set()
    connection.stop()
    await writer


async def test_a_socket_remembers_only_the_newest_ended_runs() -> None:
    """A long-lived socket does not grow with every run it saw; recent ones still drop
    late duplicates."""
    socket = RecordingSocket()
    connection = Connection(socket, "u", 1000, load)
    runs = [f"run{i}" for i in range(ENDED_RUNS_REMEMBERED + 10)]
    for run in runs:
        connection.offer(event(1, run))
        connection.offer({**event(2, run), "type": "agent_completed", "agent": "supervisor"})
    connection.offer(event(2, runs[-1]))  # a late duplicate of a remembered run
    await run_writer(connection, socket)
    assert len(seqs(socket)) == 2 * len(runs)
    assert set(connection._sent) == set(runs[-ENDED_RUNS_REMEMBERED:])


async def test_resuming_an_ended_run_counts_it_as_ended() -> None:
    socket = RecordingSocket()
    connection = Connection(socket, "u", 1000, load)
    ended = {**LOG["r1"][-1], "type": "run_cancelled", "agent": "supervisor"}
    LOG["ended"] = [*(dict(e, run_id="ended") for e in LOG["r1"][:-1]), dict(ended, run_id="ended")]
    try:
        connection.resume("ended", 0)
        for i in range(ENDED_RUNS_REMEMBERED):
            connection.offer({**event(1, f"other{i}"), "type": "run_cancelled",
                              "agent": "supervisor"})
        await run_writer(connection, socket)
    finally:
        del LOG["ended"]
    assert seqs(socket)[:10] == list(range(1, 11))
    assert "ended" not in connection._sent


async def test_refill_open_runs_catches_up_on_runs_a_socket_follows_and_only_those() -> None:
    """After the bus lost messages: each socket resumes the runs it has not seen end, from
    the last event it sent, with nothing twice."""
    loaded: list[str] = []

    async def recording_load(run_id: str, after: int, before: int | None) -> list[dict[str, Any]]:
        loaded.append(run_id)
        return await load(run_id, after, before)

    hub = ConnectionHub()
    following, idle = RecordingSocket(), RecordingSocket()
    a = Connection(following, "alice", 100, recording_load)
    b = Connection(idle, "alice", 100, recording_load)
    hub.add(a)
    hub.add(b)
    for seq in (1, 2, 3):  # then the bus lost 4..10 (they are in the stored log)
        a.offer(event(seq))
    a.offer({**event(1, "ended"), "type": "run_cancelled", "agent": "supervisor"})
    hub.refill_open_runs()
    a.offer(event(4))  # a late live copy of what the refill also brings
    hub.refill_open_runs()  # refilling twice sends nothing twice
    await run_writer(a, following)
    await run_writer(b, idle)
    assert [f["seq"] for f in following.sent if f["run_id"] == "r1"] == list(range(1, 11))
    assert idle.sent == []
    assert set(loaded) == {"r1"}
    hub.remove(a)
    hub.remove(b)


async def test_a_user_at_the_socket_quota_is_refused_until_one_closes() -> None:
    hub = ConnectionHub()
    held = [Connection(RecordingSocket(), "alice", 16, load) for _ in range(2)]
    extra = Connection(RecordingSocket(), "alice", 16, load)
    bob = Connection(RecordingSocket(), "bob", 16, load)

    assert all(hub.add(c, max_per_user=2) for c in held)
    assert not hub.add(extra, max_per_user=2)
    assert hub.add(bob, max_per_user=2)  # one user's quota is not another's
    assert hub.count() == 3
    hub.remove(held[0])
    assert hub.add(extra, max_per_user=2)
    for connection in (held[1], extra, bob):
        hub.remove(connection)
    assert hub.count() == 0


async def test_revoking_a_login_closes_its_sockets_and_no_others() -> None:
    hub = ConnectionHub()
    phone, laptop, other_login, bob = (RecordingSocket() for _ in range(4))
    connections = [
        Connection(phone, "alice", 16, load, login_id="L1"),
        Connection(laptop, "alice", 16, load, login_id="L1"),
        Connection(other_login, "alice", 16, load, login_id="L2"),
        Connection(bob, "bob", 16, load, login_id="L1"),  # only alice's L1 is named
    ]
    for connection in connections:
        hub.add(connection)
    assert hub.logins() == {("alice", "L1"), ("alice", "L2"), ("bob", "L1")}

    assert hub.close_login("alice", "L1") == 2
    await asyncio.sleep(0)  # the closes were scheduled: let them run

    assert phone.closed_with == laptop.closed_with == LOGIN_REVOKED_CLOSE
    assert phone.close_reason and "revoked" in phone.close_reason
    assert other_login.closed_with is None and bob.closed_with is None
    assert [c.closed.is_set() for c in connections] == [True, True, False, False]
    for connection in connections:
        hub.remove(connection)
