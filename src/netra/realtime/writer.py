"""Group commit for run events: rows from every run share transactions.

A run emits a few dozen events and each must be stored before it is published. One
transaction per event made a hundred concurrent runs queue thousands of commits, and a
new message waited behind them; the events of all runs instead share transactions
(`netra.db.group_commit`), and one bad row fails alone.

An event is stored only while its run is active: once any process has stored a run's
terminal event (a cancellation, a run given up), a late event from an attempt that did
not know yet is refused with `RunNotActive`, so "exactly one terminal event, and it is
the last" holds whoever ends the run. The check is one statement per batch, and the
batch's rows one multi-row insert.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from sqlalchemy import Select, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.chat.models import ACTIVE_RUN_STATUSES, Run
from netra.db import Database
from netra.db.group_commit import GroupCommit
from netra.realtime.events import EventRow
from netra.realtime.models import RunEvent

# Work done in the event's transaction (a run's final status, the assistant message).
AlsoInTransaction = Callable[[AsyncSession], Awaitable[None]] | None
_Write = tuple[EventRow, AlsoInTransaction]
_EVENTS = cast(Table, RunEvent.__table__)


def _active_runs(run_ids: set[str]) -> Select[tuple[str]]:
    """Which of a batch's runs are active. On PostgreSQL their rows are share-locked:
    whoever ends a run updates that row first, so it waits for this batch to commit and
    then finds its events in the log."""
    return (select(Run.id).where(Run.id.in_(sorted(run_ids)),
                                 Run.status.in_(ACTIVE_RUN_STATUSES))
            .with_for_update(read=True))


class RunNotActive(Exception):
    """The run has ended: its terminal event is stored, nothing may follow it."""


async def _write(session: AsyncSession, writes: list[_Write]) -> list[None | Exception]:
    """One check of the runs and one multi-row insert for the whole batch: a run's few
    dozen events cost a few statements, not one each."""
    active = set((await session.execute(
        _active_runs({row["run_id"] for row, _ in writes}))).scalars())
    outcomes: list[None | Exception] = []
    rows: list[EventRow] = []
    ends: list[Callable[[AsyncSession], Awaitable[None]]] = []
    for row, also in writes:
        if row["run_id"] not in active:
            outcomes.append(RunNotActive(f"run {row['run_id']} has ended"))
            continue
        rows.append(row)
        outcomes.append(None)
        if also is not None:  # the run's terminal event: nothing of the run may follow it
            active.discard(row["run_id"])
            ends.append(also)
    if rows:
        await session.execute(insert(_EVENTS), rows)
    for also in ends:
        await also(session)  # may raise RunNotActive: the batch is then written again
    return outcomes


class EventWriter:
    def __init__(self, db: Database) -> None:
        self._commits: GroupCommit[_Write, None] = GroupCommit(db, _write, name="event writer")

    async def store(self, row: EventRow, also: AlsoInTransaction = None) -> None:
        """Return once `row` (and `also`'s work) is committed; raise if it could not be."""
        await self._commits.submit((row, also))
