"""Group commit for run events: rows from every run share transactions.

A run emits a few dozen events and each must be stored before it is published. One
transaction per event made a hundred concurrent runs queue thousands of commits, and a
new message waited behind them; the events of all runs instead share transactions
(`netra.db.group_commit`), and one bad row fails alone.

An event is stored only while its run is active: once any process has stored a run's
terminal event (a cancellation, a run given up), a late event from an attempt that did
not know yet is refused with `RunNotActive`, so "exactly one terminal event, and it is
the last" holds whoever ends the run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.chat.models import ACTIVE_RUN_STATUSES, Run
from netra.db import Database
from netra.db.group_commit import GroupCommit
from netra.realtime.models import RunEvent

# Work done in the event's transaction (a run's final status, the assistant message).
AlsoInTransaction = Callable[[AsyncSession], Awaitable[None]] | None
_Write = tuple[RunEvent, AlsoInTransaction]


class RunNotActive(Exception):
    """The run has ended: its terminal event is stored, nothing may follow it."""


async def _write(session: AsyncSession, writes: list[_Write]) -> list[None | Exception]:
    # Shared locks on the runs' rows: whoever ends a run updates its row first, so it
    # waits for these events to commit, then finds them in the log (PostgreSQL; SQLite
    # has one writer at a time anyway).
    active = set((await session.scalars(
        select(Run.id).where(Run.id.in_({row.run_id for row, _ in writes}),
                             Run.status.in_(ACTIVE_RUN_STATUSES))
        .with_for_update(read=True)
    )).all())
    outcomes: list[None | Exception] = []
    for row, also in writes:
        if row.run_id not in active:
            outcomes.append(RunNotActive(f"run {row.run_id} has ended"))
            continue
        session.add(row)
        if also is not None:
            await also(session)  # may raise RunNotActive: this batch is then written again
        outcomes.append(None)
    return outcomes


class EventWriter:
    def __init__(self, db: Database) -> None:
        self._commits: GroupCommit[_Write, None] = GroupCommit(db, _write, name="event writer")

    async def store(self, row: RunEvent, also: AlsoInTransaction = None) -> None:
        """Return once `row` (and `also`'s work) is committed; raise if it could not be."""
        await self._commits.submit((row, also))
