"""Group commit for run events: rows from every run share transactions.

A run emits a few dozen events and each must be stored before it is published. One
transaction per event made a hundred concurrent runs queue thousands of commits, and a
new message's first event waited behind them. The writer instead collects the rows that
arrive while a transaction is in flight and stores them all in the next one, so the
number of commits follows the database's pace, not the number of events.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from netra.db import Database
from netra.realtime.models import RunEvent

log = logging.getLogger(__name__)

MAX_BATCH = 500
# Work done in the event's transaction (a run's final status, the assistant message).
AlsoInTransaction = Callable[[AsyncSession], Awaitable[None]] | None


@dataclass
class _Pending:
    row: RunEvent
    also: AlsoInTransaction
    stored: asyncio.Future[None]


class EventWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: list[_Pending] = []
        self._flushing: asyncio.Task[None] | None = None

    async def store(self, row: RunEvent, also: AlsoInTransaction = None) -> None:
        """Return once `row` (and `also`'s work) is committed; raise if it could not be."""
        pending = _Pending(row, also, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if self._flushing is None or self._flushing.done():
            # A fresh context: the flush must not inherit a caller's database turn.
            self._flushing = asyncio.create_task(self._flush(), context=contextvars.Context())
        await pending.stored

    async def _flush(self) -> None:
        try:
            await self._drain()
        except BaseException as error:  # cancelled at shutdown: no writer may wait forever
            for pending in self._queue:
                if not pending.stored.done():
                    pending.stored.set_exception(error)
            self._queue = []
            raise

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._write(batch)
            except BaseException as error:
                if not isinstance(error, Exception):  # cancelled: fail this batch too
                    for pending in batch:
                        if not pending.stored.done():
                            pending.stored.set_exception(error)
                    raise
                # One bad row must not fail the runs it shared a transaction with.
                log.warning("a batch of %d events failed; storing them one by one", len(batch))
                for pending in batch:
                    await self._write_alone(pending)
            else:
                for pending in batch:
                    _settle(pending.stored)

    async def _write(self, batch: list[_Pending]) -> None:
        async with self._db.transaction() as session:
            for pending in batch:
                session.add(pending.row)
                if pending.also is not None:
                    await pending.also(session)

    async def _write_alone(self, pending: _Pending) -> None:
        try:
            await self._write([pending])
        except Exception as error:
            if not pending.stored.done():
                pending.stored.set_exception(error)
        else:
            _settle(pending.stored)


def _settle(stored: asyncio.Future[None]) -> None:
    if not stored.done():
        stored.set_result(None)
