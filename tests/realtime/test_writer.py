"""The event writer: rows of many runs share transactions, and one bad row fails alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.chat import service as chat
from netra.chat.models import Run
from netra.db import Database
from netra.db.base import utcnow
from netra.orgs.service import personal_organization
from netra.realtime.events import EventRow, envelope, to_row
from netra.realtime.models import RunEvent
from netra.realtime.writer import EventWriter, RunNotActive
from tests.auth.helpers import SETTINGS, create_user


async def _run_id(database: Database) -> str:
    user, _ = await create_user(database)
    async with database.transaction() as session:
        thread = await chat.create_thread(session, user.id, "t")
        personal = await personal_organization(session, user)
        accepted = await chat.accept_message(
            session, SETTINGS, user.id, thread_id=thread.id, content="How can we cut costs?",
            organization_id=personal.id,
        )
    return accepted.run.id


def _row(run_id: str, seq: int) -> EventRow:
    event = envelope(type="agent_thinking", run_id=run_id, thread_id="", seq=seq, ts=utcnow(),
                     agent="supervisor", payload={"text": f"step {seq}"})
    return to_row(event, utcnow())


async def _stored(database: Database, run_id: str) -> list[int]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(RunEvent.seq).where(RunEvent.run_id == run_id).order_by(RunEvent.seq)
        )
        return list(rows)


async def test_concurrent_rows_are_stored_in_few_transactions(database: Database) -> None:
    run_id = await _run_id(database)
    writer = EventWriter(database)
    commits = 0
    original = database.transaction

    def counting() -> object:
        nonlocal commits
        commits += 1
        return original()

    database.transaction = counting  # type: ignore[method-assign]
    # seq 1, the supervisor's agent_started, was stored with the message
    await asyncio.gather(*(writer.store(_row(run_id, seq)) for seq in range(2, 202)))
    database.transaction = original  # type: ignore[method-assign]
    assert await _stored(database, run_id) == list(range(1, 202))
    assert commits <= 3  # the first row alone, then the rest that queued behind it


async def test_a_bad_row_fails_alone(database: Database) -> None:
    run_id = await _run_id(database)
    writer = EventWriter(database)
    outcomes = await asyncio.gather(
        writer.store(_row(run_id, 2)),
        writer.store(_row("no-such-run", 1)),  # the foreign key refuses it
        writer.store(_row(run_id, 3)),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Exception)
    assert await _stored(database, run_id) == [1, 2, 3]
    async with database.transaction() as session:
        total = await session.scalar(select(func.count()).select_from(RunEvent))
    assert total == 3


async def test_work_in_the_same_transaction_is_committed_with_the_row(
    database: Database,
) -> None:
    run_id = await _run_id(database)
    writer = EventWriter(database)

    async def finish(session: AsyncSession) -> None:
        await chat.finish_active_run(session, run_id, "cancelled")

    await writer.store(_row(run_id, 2), finish)
    assert await _stored(database, run_id) == [1, 2]
    async with database.transaction() as session:
        run = await session.get(Run, run_id)
    assert run is not None and run.status == "cancelled"


async def test_nothing_is_stored_after_a_run_has_ended(database: Database) -> None:
    """Whoever ends a run first (the process executing it, or one cancelling it) wins:
    a second terminal event, or a late event of the loser, is refused."""
    run_id = await _run_id(database)
    writer = EventWriter(database)

    async def finish(session: AsyncSession) -> None:
        await chat.finish_active_run(session, run_id, "cancelled")

    await writer.store(_row(run_id, 2), finish)
    with pytest.raises(RunNotActive):
        await writer.store(_row(run_id, 3), finish)  # a second terminal event
    with pytest.raises(RunNotActive):
        await writer.store(_row(run_id, 3))  # a late event of an attempt that did not know
    assert await _stored(database, run_id) == [1, 2]


async def test_an_event_key_is_stored_once(database: Database) -> None:
    run_id = await _run_id(database)
    writer = EventWriter(database)
    first = _row(run_id, 2)
    first["key"] = "b1"
    await writer.store(first)
    again = _row(run_id, 3)
    again["key"] = "b1"
    with pytest.raises(Exception, match="(?i)unique"):
        await writer.store(again)
    assert await _stored(database, run_id) == [1, 2]
