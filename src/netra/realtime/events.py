"""Run events: the envelope PROTOCOL.md fixes, and the durable log they are kept in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.db.base import isoformat_z
from netra.realtime.models import RunEvent

EventType = Literal[
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "partial_result",
    "agent_completed",
    "agent_error",
    "run_cancelled",
]
TERMINAL = frozenset({"agent_completed", "agent_error", "run_cancelled"})
Event = dict[str, Any]


def envelope(
    *, type: str, run_id: str, thread_id: str, seq: int, ts: datetime, agent: str,
    payload: dict[str, Any],
) -> Event:
    return {
        "type": type, "run_id": run_id, "thread_id": thread_id, "seq": seq,
        "ts": isoformat_z(ts), "agent": agent, "payload": payload,
    }


def is_terminal(event: Event) -> bool:
    """The supervisor's last word (or a cancellation) closes the run's event stream."""
    return event["type"] == "run_cancelled" or (
        event["type"] in TERMINAL and event["agent"] == "supervisor"
    )


# A row of the log as the writer inserts it: plain values, not an ORM object (a run
# stores dozens; building and reading back instrumented objects cost more than the insert).
EventRow = dict[str, Any]


def to_row(event: Event, ts: datetime, key: str | None = None) -> EventRow:
    return {"run_id": event["run_id"], "seq": event["seq"], "type": event["type"],
            "agent": event["agent"], "payload": event["payload"], "ts": ts, "key": key}


async def events_after(
    session: AsyncSession, *, run_id: str, thread_id: str, after_seq: int,
    before_seq: int | None = None,
) -> list[Event]:
    """The stored events of one run with after_seq < seq (< before_seq), in order."""
    query = select(RunEvent).where(RunEvent.run_id == run_id, RunEvent.seq > after_seq)
    if before_seq is not None:
        query = query.where(RunEvent.seq < before_seq)
    rows = (await session.scalars(query.order_by(RunEvent.seq))).all()
    return [
        envelope(type=r.type, run_id=r.run_id, thread_id=thread_id, seq=r.seq, ts=r.ts,
                 agent=r.agent, payload=r.payload)
        for r in rows
    ]


async def stored_keys(session: AsyncSession, run_id: str) -> tuple[int, set[str]]:
    """The run's last `seq` and the keys of its stored events."""
    rows = (await session.execute(
        select(RunEvent.seq, RunEvent.key).where(RunEvent.run_id == run_id)
    )).tuples().all()
    return max((seq for seq, _ in rows), default=0), {key for _, key in rows if key}
