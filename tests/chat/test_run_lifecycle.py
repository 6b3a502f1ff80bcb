"""A run's bookkeeping in the chat service: how it starts, and how its answer is stored."""

from __future__ import annotations

from dataclasses import dataclass

from netra.chat import service as chat
from netra.chat.models import Message, Run
from netra.db import Database
from netra.orgs.service import personal_organization
from netra.telemetry.models import Dataset
from tests.auth.helpers import SETTINGS, create_user


@dataclass(frozen=True)
class Asked:
    user_id: str
    thread_ids: tuple[str, str]
    run_id: str
    message_id: str


@dataclass(frozen=True)
class Owner:
    run_id: str
    thread_id: str
    user_id: str


async def _ask(database: Database, *, version: int | None) -> Asked:
    """A user with two threads, a question in the first (on a dataset at `version`)."""
    user, _ = await create_user(database)
    async with database.transaction() as session:
        first = await chat.create_thread(session, user.id, "first")
        second = await chat.create_thread(session, user.id, "second")
        personal = await personal_organization(session, user)
        dataset_id = None
        if version is not None:
            dataset = Dataset(user_id=user.id, organization_id=personal.id, name="d",
                              format="csv", version=version)
            session.add(dataset)
            await session.flush()
            dataset_id = dataset.id
        accepted = await chat.accept_message(
            session, SETTINGS, user.id, thread_id=first.id, content="How can we cut costs?",
            organization_id=personal.id, dataset_id=dataset_id)
    return Asked(user.id, (first.id, second.id), accepted.run.id, accepted.message.id)


async def test_a_run_starts_once_with_what_it_was_asked_and_its_datasets_version(
    database: Database,
) -> None:
    asked = await _ask(database, version=3)
    async with database.transaction() as session:
        started = await chat.start_run(session, asked.run_id)
    assert started is not None
    assert (started.thread_id, started.user_id, started.message_id, started.dataset_version) \
        == (asked.thread_ids[0], asked.user_id, asked.message_id, 3)
    async with database.transaction() as session:
        run = await session.get(Run, asked.run_id)
        assert run is not None and run.status == "running" and run.started_at is not None
        first_start = run.started_at
        again = await chat.start_run(session, asked.run_id)  # a resumed run stays running
    assert again == started
    async with database.transaction() as session:
        run = await session.get(Run, asked.run_id)
        assert run is not None and run.started_at == first_start


async def test_a_run_without_a_dataset_has_no_version_and_an_ended_one_does_not_start(
    database: Database,
) -> None:
    asked = await _ask(database, version=None)
    async with database.transaction() as session:
        started = await chat.start_run(session, asked.run_id)
        assert started is not None and started.dataset_version is None
        await chat.finish_active_run(session, asked.run_id, "cancelled")
        assert await chat.start_run(session, asked.run_id) is None


async def test_the_answer_is_the_threads_assistant_message_and_moves_it_to_the_top(
    database: Database,
) -> None:
    asked = await _ask(database, version=None)
    async with database.transaction() as session:
        started = await chat.start_run(session, asked.run_id)
        assert started is not None
        await chat.create_thread(session, asked.user_id, "newer")  # now on top
        owner = Owner(started.id, started.thread_id, started.user_id)
        await chat.add_answer(session, owner, "Move triage to mini.", {"findings": []},
                              message_id="a" * 24)
    async with database.transaction() as session:
        answer = await session.get(Message, "a" * 24)
        threads = await chat.list_threads(session, asked.user_id)
    assert answer is not None
    assert (answer.thread_id, answer.user_id, answer.run_id, answer.role, answer.content,
            answer.report) == (asked.thread_ids[0], asked.user_id, asked.run_id, "assistant",
                               "Move triage to mini.", {"findings": []})
    assert threads[0].id == asked.thread_ids[0]
