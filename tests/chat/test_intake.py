"""Message intake: many users' messages share transactions, each keeps its own outcome."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from netra.auth.models import User
from netra.chat import conversation
from netra.chat import service as chat
from netra.chat.models import Message, Run
from netra.chat.service import Accepted, MessageRequest
from netra.db import Database
from netra.errors import Forbidden, NotFound, TooManyRuns, ValidationFailed
from netra.orgs import service as orgs
from netra.orgs.models import Organization
from netra.realtime.models import RunEvent
from netra.telemetry.models import Dataset
from tests.auth.helpers import SETTINGS, create_user


async def _threads(database: Database, users: int) -> list[tuple[str, str]]:
    """(user id, thread id) for each of `users` new users."""
    pairs = []
    for i in range(users):
        user, _ = await create_user(database, f"user{i}@example.com")
        async with database.transaction() as session:
            thread = await chat.create_thread(session, user.id, "t")
        pairs.append((user.id, thread.id))
    return pairs


def _counting(database: Database) -> list[int]:
    """Count the transactions opened on `database` from now on."""
    opened = [0]
    original = database.transaction

    def counting() -> object:
        opened[0] += 1
        return original()

    database.transaction = counting  # type: ignore[method-assign]
    return opened


async def test_a_burst_is_accepted_in_few_transactions_each_with_its_first_event(
    database: Database,
) -> None:
    pairs = await _threads(database, 40)
    intake = conversation.intake(SETTINGS, database)
    opened = _counting(database)
    accepted = await asyncio.gather(*(
        intake.submit(MessageRequest(user, thread, f"question {i}"))
        for i, (user, thread) in enumerate(pairs)))
    assert opened[0] <= 3  # the first alone, then the rest that queued behind it
    assert all(a.created and a.started is not None for a in accepted)
    assert [a.message.content for a in accepted] == [f"question {i}" for i in range(40)]
    async with database.transaction() as session:
        events = (await session.scalars(select(RunEvent))).all()
        runs = (await session.scalars(select(Run))).all()
    assert len(runs) == 40 and {r.status for r in runs} == {"queued"}
    assert sorted((e.run_id, e.seq, e.type, e.agent) for e in events) == sorted(
        (a.run.id, 1, "agent_started", "supervisor") for a in accepted)
    for a in accepted:
        assert a.started == {**a.started, "run_id": a.run.id, "seq": 1,
                             "payload": {"message_id": a.message.id}}


async def test_each_request_fails_alone(database: Database) -> None:
    [(ada, ada_thread), (bob, bob_thread)] = await _threads(database, 2)
    intake = conversation.intake(SETTINGS, database)
    outcomes = await asyncio.gather(
        intake.submit(MessageRequest(ada, ada_thread, "fine")),
        intake.submit(MessageRequest(ada, bob_thread, "not her thread")),
        intake.submit(MessageRequest(bob, bob_thread, "   ")),
        intake.submit(MessageRequest(bob, bob_thread, "unknown data", dataset_id="nope")),
        intake.submit(MessageRequest(bob, bob_thread, "also fine")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], Accepted) and isinstance(outcomes[4], Accepted)
    assert isinstance(outcomes[1], NotFound) and outcomes[1].message == "thread not found"
    assert isinstance(outcomes[2], ValidationFailed)
    assert isinstance(outcomes[3], NotFound) and outcomes[3].message == "dataset not found"
    async with database.transaction() as session:
        stored = sorted((await session.scalars(select(Message.content))).all())
    assert stored == ["also fine", "fine"]


async def test_the_run_limit_counts_the_runs_of_the_same_batch(database: Database) -> None:
    [(ada, thread)] = await _threads(database, 1)
    intake = conversation.intake(SETTINGS, database)
    limit = SETTINGS.max_active_runs_per_user
    outcomes = await asyncio.gather(
        *(intake.submit(MessageRequest(ada, thread, f"q{i}")) for i in range(limit + 2)),
        return_exceptions=True,
    )
    assert all(isinstance(o, Accepted) for o in outcomes[:limit])
    assert all(isinstance(o, TooManyRuns) for o in outcomes[limit:])


async def test_a_retried_client_msg_id_returns_the_first_message(database: Database) -> None:
    [(ada, thread)] = await _threads(database, 1)
    intake = conversation.intake(SETTINGS, database)
    same_batch = await asyncio.gather(
        intake.submit(MessageRequest(ada, thread, "hello", client_msg_id="m1")),
        intake.submit(MessageRequest(ada, thread, "hello", client_msg_id="m1")),
    )
    later = await intake.submit(MessageRequest(ada, thread, "hello", client_msg_id="m1"))
    first = same_batch[0]
    assert first.created and not same_batch[1].created and not later.created
    assert {a.run.id for a in (*same_batch, later)} == {first.run.id}
    assert later.started is None
    async with database.transaction() as session:
        assert len((await session.scalars(select(Run))).all()) == 1


async def test_the_organization_checks_of_a_batch_fail_alone(database: Database) -> None:
    """Messages asking in an organization are checked in their batch, each on its own:
    the member's is accepted on the organization's dataset, the viewer's is Forbidden,
    the outsider's NotFound, and a password login where single sign-on is required is
    Forbidden until it is a single sign-on."""
    [(owner, _), (member, member_thread), (viewer, viewer_thread),
     (outsider, outsider_thread)] = await _threads(database, 4)
    async with database.transaction() as session:
        users = {u.id: u for u in (await session.scalars(select(User))).all()}
        acme = await orgs.create_organization(session, users[owner], "Acme")
        await orgs.add_member(session, acme.id, member, "member")
        await orgs.add_member(session, acme.id, viewer, "viewer")
        dataset = Dataset(id="acme-data", user_id=owner, organization_id=acme.id, name="d",
                          format="demo")
        session.add(dataset)
    intake = conversation.intake(SETTINGS, database)
    outcomes = await asyncio.gather(
        intake.submit(MessageRequest(member, member_thread, "q", organization_id=acme.id)),
        intake.submit(MessageRequest(viewer, viewer_thread, "q", organization_id=acme.id)),
        intake.submit(MessageRequest(outsider, outsider_thread, "q", organization_id=acme.id)),
        intake.submit(MessageRequest(outsider, outsider_thread, "q", dataset_id="acme-data")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], Accepted) and outcomes[0].run.dataset_id == "acme-data"
    assert isinstance(outcomes[1], Forbidden) and "you are a viewer" in outcomes[1].message
    assert isinstance(outcomes[2], NotFound) and "organization not found" in outcomes[2].message
    assert isinstance(outcomes[3], NotFound) and outcomes[3].message == "dataset not found"
    async with database.transaction() as session:
        found = await session.get(Organization, acme.id)
        assert found is not None
        found.require_sso = True
    refused, admitted = await asyncio.gather(
        intake.submit(MessageRequest(member, member_thread, "q", organization_id=acme.id)),
        intake.submit(MessageRequest(member, member_thread, "q2", organization_id=acme.id,
                                     via_sso=True)),
        return_exceptions=True,
    )
    assert isinstance(refused, Forbidden) and "requires single sign-on" in refused.message
    assert isinstance(admitted, Accepted)
