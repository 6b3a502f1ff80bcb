"""Group commit for run events: rows from every run share transactions.

A run emits a few dozen events and each must be stored before it is published. One
transaction per event made a hundred concurrent runs queue thousands of commits, and a
new message waited behind them; the events of all runs instead share transactions
(`netra.db.group_commit`), and one bad row fails alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from netra.db import Database
from netra.db.group_commit import GroupCommit
from netra.realtime.models import RunEvent

# Work done in the event's transaction (a run's final status, the assistant message).
AlsoInTransaction = Callable[[AsyncSession], Awaitable[None]] | None
_Write = tuple[RunEvent, AlsoInTransaction]


async def _write(session: AsyncSession, writes: list[_Write]) -> list[None | Exception]:
    for row, also in writes:
        session.add(row)
        if also is not None:
            await also(session)
    return [None] * len(writes)


class EventWriter:
    def __init__(self, db: Database) -> None:
        self._commits: GroupCommit[_Write, None] = GroupCommit(db, _write, name="event writer")

    async def store(self, row: RunEvent, also: AlsoInTransaction = None) -> None:
        """Return once `row` (and `also`'s work) is committed; raise if it could not be."""
        await self._commits.submit((row, also))
