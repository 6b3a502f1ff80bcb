"""Group commit: the work of many callers shares transactions.

Callers hand in an item and wait. One flusher collects the items that arrive while a
transaction is in flight and writes them all in the next one, so the number of commits
follows the database's pace, not the number of callers: a burst of a hundred messages,
or the events of a hundred runs, costs a few transactions instead of a hundred queued
ones (SQLite has a single writer; PostgreSQL pays a round trip and a flush per commit).

Each item gets its own outcome: the batch writer returns a result or an exception per
item, and only committed results are handed back. A batch whose transaction fails is
written again one item at a time, so one bad item never fails the others.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from netra.db.engine import Database

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
# Writes a batch in the given transaction: one result, or the exception to raise to that
# item's caller, per item, in order. Raising fails the whole transaction instead.
BatchWriter = Callable[[AsyncSession, list[Item]], Awaitable[list[Result | Exception]]]

MAX_BATCH = 500


@dataclass
class _Pending(Generic[Item, Result]):
    item: Item
    outcome: asyncio.Future[Result]


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self, db: Database, write: BatchWriter[Item, Result], *, name: str,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._db = db
        self._write_batch = write
        self._name = name
        self._max_batch = max_batch
        self._queue: list[_Pending[Item, Result]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """The item's result once its transaction has committed (or its exception)."""
        pending: _Pending[Item, Result] = _Pending(
            item, asyncio.get_running_loop().create_future()
        )
        self._queue.append(pending)
        if self._flushing is None or self._flushing.done():
            # A fresh context: the flush must not inherit a caller's database turn.
            self._flushing = asyncio.create_task(self._flush(), context=contextvars.Context())
        return await pending.outcome

    async def _flush(self) -> None:
        try:
            await self._drain()
        except BaseException as error:  # cancelled at shutdown: no caller may wait forever
            _fail(self._queue, error)
            self._queue = []
            raise

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            self._queue = self._queue[self._max_batch :]
            try:
                outcomes = await self._write(batch)
            except Exception as error:
                if len(batch) == 1:
                    _fail(batch, error)
                    continue
                log.warning("%s: a batch of %d failed; writing it one by one",
                            self._name, len(batch))
                for pending in batch:
                    await self._write_alone(pending)
            except BaseException as error:  # cancelled: fail this batch too
                _fail(batch, error)
                raise
            else:
                for pending, outcome in zip(batch, outcomes, strict=True):
                    _settle(pending.outcome, outcome)

    async def _write(self, batch: list[_Pending[Item, Result]]) -> list[Result | Exception]:
        async with self._db.transaction() as session:
            return await self._write_batch(session, [pending.item for pending in batch])

    async def _write_alone(self, pending: _Pending[Item, Result]) -> None:
        try:
            [outcome] = await self._write([pending])
        except Exception as error:
            _fail([pending], error)
        else:
            _settle(pending.outcome, outcome)


def _settle(future: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _fail(batch: list[_Pending[Item, Result]], error: BaseException) -> None:
    for pending in batch:
        if not pending.outcome.done():
            pending.outcome.set_exception(error)
