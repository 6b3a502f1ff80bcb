"""Group commit for run events: rows from every run share transactions.

A run emits a few dozen events and each must be stored before it is published. One
transaction per event made a hundred concurrent runs queue thousands of commits, and a
new message waited behind them; the events of all runs instead share transactions
(`netra.db.group_commit`), and one bad row fails alone.

An event is stored only while its run is active: once any process has stored a run's
terminal event (a cancellation, a run given up), a late event from an attempt that did
not know yet is refused with `RunNotActive`, so "exactly one terminal event, and it is
the last" holds whoever ends the run. The check is part of the insert (one statement,
no extra round trip per event).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.chat.models import ACTIVE_RUN_STATUSES, Run
from netra.db import Database
from netra.db.base import UTCDateTime
from netra.db.group_commit import GroupCommit
from netra.realtime.models import RunEvent

# Work done in the event's transaction (a run's final status, the assistant message).
AlsoInTransaction = Callable[[AsyncSession], Awaitable[None]] | None
_Write = tuple[RunEvent, AlsoInTransaction]
_EVENTS = cast(Table, RunEvent.__table__)
_COLUMNS = ("run_id", "seq", "type", "agent", "payload", "ts", "key")

# INSERT … SELECT <the row> WHERE the run is active. On PostgreSQL the run's row is
# share-locked: whoever ends the run updates that row first, so it waits for this event
# to commit and then finds it in the log.
_GUARDED_INSERT = insert(_EVENTS).from_select(
    list(_COLUMNS),
    select(
        bindparam("run_id"), bindparam("seq"), bindparam("type"), bindparam("agent"),
        bindparam("payload", type_=JSON), bindparam("ts", type_=UTCDateTime()),
        bindparam("key"),
    ).where(exists(
        select(Run.id).where(Run.id == bindparam("run_id"),
                             Run.status.in_(ACTIVE_RUN_STATUSES))
        .with_for_update(read=True)
    )),
)


class RunNotActive(Exception):
    """The run has ended: its terminal event is stored, nothing may follow it."""


def _values(row: RunEvent) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _COLUMNS}


async def _write(session: AsyncSession, writes: list[_Write]) -> list[None | Exception]:
    outcomes: list[None | Exception] = []
    for row, also in writes:
        stored = await session.execute(_GUARDED_INSERT, _values(row))
        if cast(Any, stored).rowcount != 1:
            outcomes.append(RunNotActive(f"run {row.run_id} has ended"))
            continue
        if also is not None:
            await also(session)  # may raise RunNotActive: the batch is then written again
        outcomes.append(None)
    return outcomes


class EventWriter:
    def __init__(self, db: Database) -> None:
        self._commits: GroupCommit[_Write, None] = GroupCommit(db, _write, name="event writer")

    async def store(self, row: RunEvent, also: AlsoInTransaction = None) -> None:
        """Return once `row` (and `also`'s work) is committed; raise if it could not be."""
        await self._commits.submit((row, also))
