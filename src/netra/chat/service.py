"""Threads, messages and runs: every query filters by owner (another user's row is 404).

One module, past ~400 lines, on purpose: the three change together (accepting messages
stores their runs and first events and moves their threads up, in one set-based pass;
ending a run writes the thread's answer), under one owner rule and one set of active
run statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Select, Table, bindparam, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from netra.auth.models import User
from netra.chat.models import ACTIVE_RUN_STATUSES, Message, NewMessage, NewRun, Run, Thread
from netra.db.base import new_id, utcnow
from netra.errors import NetraError, NotFound, TooLarge, TooManyRuns, ValidationFailed
from netra.orgs import service as orgs_service
from netra.realtime import events as event_log
from netra.realtime.events import Event
from netra.realtime.models import RunEvent
from netra.realtime.writer import RunNotActive
from netra.settings import Settings
from netra.telemetry import service as dataset_service
from netra.telemetry.models import Dataset

DEFAULT_TITLE = "New analysis"
MAX_CLIENT_MSG_ID = 128  # the column's width


async def create_thread(session: AsyncSession, user_id: str, title: str | None) -> Thread:
    thread = Thread(user_id=user_id, title=(title or "").strip() or DEFAULT_TITLE)
    session.add(thread)
    await session.flush()
    return thread


async def list_threads(session: AsyncSession, user_id: str) -> list[Thread]:
    query = select(Thread).where(Thread.user_id == user_id)
    return list((await session.scalars(query.order_by(Thread.updated_at.desc()))).all())


async def get_thread(session: AsyncSession, user_id: str, thread_id: str) -> Thread:
    """One of the user's own threads (the only ones they may write to)."""
    thread = await session.get(Thread, thread_id)
    if thread is None or thread.user_id != user_id:
        raise NotFound("thread not found")
    return thread


async def readable_thread(session: AsyncSession, user: User, thread_id: str,
                          organization_id: str | None, *, via_sso: bool) -> Thread:
    """One of the user's threads (whichever organization the request names), or one
    shared into the organization it names, of which the user is a member."""
    thread = await session.get(Thread, thread_id)
    if thread is not None and thread.user_id == user.id:
        return thread
    if thread is None or organization_id is None or thread.organization_id != organization_id:
        raise NotFound("thread not found")
    await orgs_service.access(session, user, organization_id, via_sso=via_sso)
    return thread


async def shared_threads(session: AsyncSession, organization_id: str) -> list[Thread]:
    """The threads shared into the organization, newest first."""
    query = select(Thread).where(Thread.organization_id == organization_id)
    return list((await session.scalars(query.order_by(Thread.updated_at.desc()))).all())


async def share_thread(session: AsyncSession, user_id: str, thread_id: str,
                       organization_id: str | None) -> Thread:
    """Share the user's thread into an organization (whose membership the caller
    checked), or keep it to themselves again (None)."""
    thread = await get_thread(session, user_id, thread_id)
    thread.organization_id = organization_id
    await session.flush()
    return thread


async def rename_thread(session: AsyncSession, user_id: str, thread_id: str, title: str) -> Thread:
    thread = await get_thread(session, user_id, thread_id)
    thread.title = title.strip() or thread.title
    thread.updated_at = utcnow()
    await session.flush()
    return thread


async def delete_thread(session: AsyncSession, user_id: str, thread_id: str) -> None:
    thread = await get_thread(session, user_id, thread_id)
    await session.delete(thread)
    await session.flush()


async def cancel_thread_runs(session: AsyncSession, user_id: str, thread_id: str) -> list[str]:
    """Record a cancellation for each of the thread's active runs (before the thread is
    deleted) and return their ids; the run engine then stops them."""
    await get_thread(session, user_id, thread_id)
    runs = (await session.scalars(select(Run).where(
        Run.thread_id == thread_id, Run.status.in_(ACTIVE_RUN_STATUSES)))).all()
    for run in runs:
        if run.cancel_requested_at is None:
            run.cancel_requested_at = utcnow()
    await session.flush()
    return [run.id for run in runs]


async def still_active(session: AsyncSession, run_ids: list[str]) -> list[str]:
    """Those of the runs that have not ended yet."""
    if not run_ids:
        return []
    query = select(Run.id).where(Run.id.in_(run_ids), Run.status.in_(ACTIVE_RUN_STATUSES))
    return list((await session.scalars(query)).all())


def retry_key(client_msg_id: str | None) -> str | None:
    """A client's retry key (`client_msg_id`): empty or blank is no key at all, so two
    messages sent with "" are two messages, not a retry and not a clash."""
    if client_msg_id is None or not client_msg_id.strip():
        return None
    if len(client_msg_id) > MAX_CLIENT_MSG_ID:
        raise ValidationFailed(f"client_msg_id is longer than {MAX_CLIENT_MSG_ID} characters")
    return client_msg_id


async def list_messages(session: AsyncSession, thread: Thread) -> list[Message]:
    """The thread's messages by question: each answer right under the question it answers
    (the caller checked the thread is theirs to read)."""
    thread_id = thread.id
    query = select(Message).where(Message.thread_id == thread_id)
    return by_question(list(
        (await session.scalars(query.order_by(Message.created_at, Message.id))).all()))


def by_question(messages: list[Message]) -> list[Message]:
    """Messages (oldest first) with each answer moved right under its question.

    Two questions can overlap (the second sent before the first is answered): in the
    order they were written a thread then reads Q3 Q4 A3 A4; by question, Q3 A3 Q4 A4.
    An answer belongs to the user message of the same run; an answer whose question is
    not among `messages` keeps its own place.
    """
    asked = {m.run_id: m.id for m in messages if m.role == "user" and m.run_id is not None}
    answers: dict[str, list[Message]] = {}
    for message in messages:
        question = asked.get(message.run_id or "") if message.role != "user" else None
        if question is not None:
            answers.setdefault(question, []).append(message)
    ordered: list[Message] = []
    for message in messages:
        if message.role == "user":
            ordered.append(message)
            ordered.extend(answers.get(message.id, ()))
        elif asked.get(message.run_id or "") is None:
            ordered.append(message)
    return ordered


async def get_run(session: AsyncSession, user_id: str, run_id: str) -> Run:
    run = await session.get(Run, run_id)
    if run is None or run.user_id != user_id:
        raise NotFound("run not found")
    return run


async def run_events(
    session: AsyncSession, user_id: str, run_id: str, after_seq: int
) -> list[dict[str, Any]]:
    run = await get_run(session, user_id, run_id)
    return await event_log.events_after(
        session, run_id=run.id, thread_id=run.thread_id, after_seq=after_seq
    )


@dataclass(frozen=True)
class MessageRequest:
    """A user's message as sent, before it is accepted."""

    user_id: str
    thread_id: str
    content: str
    dataset_id: str | None = None
    client_msg_id: str | None = None
    # The organization the message asks in (None: the user's personal one), where the
    # user must be a member or higher, signed in as it requires: the dataset must be
    # one of its datasets.
    organization_id: str | None = None
    via_sso: bool = False  # the user's login was a single sign-on


@dataclass
class Accepted:
    message: Message | NewMessage
    run: Run | NewRun
    created: bool  # False when a retried client_msg_id returned the earlier message
    # The run's first event (the supervisor's agent_started), stored with the run so a
    # client sees the run begin as soon as the message is accepted; None for a retry.
    started: Event | None = None


async def accept_message(
    session: AsyncSession,
    settings: Settings,
    user_id: str,
    *,
    thread_id: str,
    content: str,
    organization_id: str | None = None,
    dataset_id: str | None = None,
    client_msg_id: str | None = None,
) -> Accepted:
    """Store one message and its queued run (the caller commits, then executes)."""
    request = MessageRequest(user_id, thread_id, content, dataset_id, client_msg_id,
                             organization_id)
    [outcome] = await accept_messages(session, settings, [request])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def accept_messages(
    session: AsyncSession, settings: Settings, requests: list[MessageRequest]
) -> list[Accepted | Exception]:
    """Store many users' messages and their queued runs, each with its first event: an
    Accepted or the error to answer, per request, in order (the caller commits, then
    starts the runs).

    Set-based, so a burst of messages costs a handful of statements, not a handful each.
    """
    earlier = await _earlier(session, requests)
    members = await orgs_service.memberships(
        session, {(r.user_id, r.organization_id) for r in requests})
    asked_in = {r: found[0].id for r in requests
                if (found := members.get((r.user_id, r.organization_id))) is not None}
    threads = await _by_id(session, select(Thread.id, Thread.user_id, Thread.dataset_id)
                           .where(Thread.id.in_({r.thread_id for r in requests})))
    datasets = await _by_id(session, select(Dataset.id, Dataset.organization_id).where(
        Dataset.id.in_({d for r in requests for d in (r.dataset_id, _thread_dataset(threads, r))
                        if d})))
    newest = await dataset_service.newest_datasets(session, {
        asked_in[r] for r in requests if r in asked_in and not r.dataset_id
        and not _in(datasets, _thread_dataset(threads, r), asked_in[r])
    })
    active = await _active_runs(session, {r.user_id for r in requests})
    outcomes: list[Accepted | Exception] = []
    for request in requests:
        retry = earlier.get((request.user_id, request.client_msg_id or ""))
        if retry is not None:
            outcomes.append(Accepted(retry.message, retry.run, created=False))
            continue
        try:
            admitted = orgs_service.admit(
                members.get((request.user_id, request.organization_id)), request.user_id,
                via_sso=request.via_sso, minimum="member", doing="asking questions")
            accepted = _accept(settings, request, admitted.organization_id, threads, datasets,
                               newest, active)
        except NetraError as error:
            outcomes.append(error)
            continue
        outcomes.append(accepted)
        if request.client_msg_id:  # the same id again in this batch is a retry of this one
            earlier[(request.user_id, request.client_msg_id)] = accepted
    try:
        await _store(session, [o for o in outcomes if isinstance(o, Accepted) and o.created])
    except IntegrityError:  # the same client_msg_id raced in through another process
        if len(requests) > 1:
            raise  # group commit writes the batch again one request at a time
        await session.rollback()
        retry = (await _earlier(session, requests)).get(
            (requests[0].user_id, requests[0].client_msg_id or ""))
        if retry is None:
            raise
        return [Accepted(retry.message, retry.run, created=False)]
    return outcomes


def _accept(
    settings: Settings,
    request: MessageRequest,
    organization_id: str,
    threads: dict[str, Any],
    datasets: dict[str, Any],
    newest: dict[str, str],
    active: dict[str, int],
) -> Accepted:
    """Check one request against what the batch loaded (no query of its own)."""
    if not request.content.strip():
        raise ValidationFailed("content must not be empty")
    size = len(request.content.encode())
    if size > settings.max_message_bytes:
        raise TooLarge(f"content is {size} bytes; the limit is {settings.max_message_bytes}")
    thread = threads.get(request.thread_id)
    if thread is None or thread.user_id != request.user_id:
        raise NotFound("thread not found")
    chosen = _choose_dataset(request, organization_id, thread, datasets, newest)
    running = active.get(request.user_id, 0)
    if running >= settings.max_active_runs_per_user:
        raise TooManyRuns(
            f"you already have {running} active runs (limit "
            f"{settings.max_active_runs_per_user}); wait for one to finish or cancel one"
        )
    active[request.user_id] = running + 1
    now, message_id, run_id = utcnow(), new_id(), new_id()
    message = NewMessage(id=message_id, thread_id=thread.id, user_id=request.user_id,
                         content=request.content, run_id=run_id,
                         client_msg_id=request.client_msg_id, created_at=now)
    run = NewRun(id=run_id, thread_id=thread.id, user_id=request.user_id,
                 message_id=message_id, dataset_id=chosen, created_at=now)
    started = event_log.envelope(type="agent_started", run_id=run.id, thread_id=thread.id,
                                 seq=1, ts=now, agent="supervisor",
                                 payload={"message_id": message.id})
    return Accepted(message, run, created=True, started=started)


class RunOwner(Protocol):
    """Which run, thread and user an answer belongs to (a run's request says)."""

    @property
    def run_id(self) -> str: ...
    @property
    def thread_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...


_MESSAGES, _RUNS, _EVENTS, _THREADS = (
    cast(Table, m.__table__) for m in (Message, Run, RunEvent, Thread)
)


async def _store(session: AsyncSession, created: list[Accepted]) -> None:
    """Insert the accepted messages, their runs and first events, and move their threads
    to the top: one statement per table, however many messages (Core statements: the
    ORM's unit of work and bulk paths cost more than the database here)."""
    if not created:
        return
    await session.execute(insert(_MESSAGES), [vars(a.message) for a in created])
    await session.execute(insert(_RUNS), [vars(a.run) for a in created])
    await session.execute(insert(_EVENTS), [{
        "run_id": a.run.id, "seq": 1, "type": "agent_started", "agent": "supervisor",
        "payload": {"message_id": a.message.id}, "ts": a.message.created_at, "key": "start",
    } for a in created])
    touched = {a.message.thread_id: a for a in created}  # a thread's latest message wins
    await session.execute(
        update(_THREADS).where(_THREADS.c.id == bindparam("thread"))
        .values(dataset_id=bindparam("dataset"), updated_at=bindparam("at")),
        [{"thread": thread_id, "dataset": a.run.dataset_id, "at": a.message.created_at}
         for thread_id, a in touched.items()],
    )


async def _earlier(
    session: AsyncSession, requests: list[MessageRequest]
) -> dict[tuple[str, str], Accepted]:
    """Messages (and runs) already stored under the requests' (user, client_msg_id)."""
    wanted = {(r.user_id, r.client_msg_id) for r in requests if r.client_msg_id}
    if not wanted:
        return {}
    # One index probe per pair: two IN lists would probe every user with every id.
    query = select(Message, Run).join(Run, Run.id == Message.run_id).where(
        tuple_(Message.user_id, Message.client_msg_id).in_(sorted(wanted))
    )
    return {(m.user_id, m.client_msg_id or ""): Accepted(m, r, created=False)
            for m, r in (await session.execute(query)).tuples()}


async def _by_id(session: AsyncSession, query: Select[Any]) -> dict[str, Any]:
    """The query's rows by their `id` (callers check the owner: another user's is 404)."""
    return {row.id: row for row in (await session.execute(query)).all()}


def _thread_dataset(threads: dict[str, Any], request: MessageRequest) -> str | None:
    thread = threads.get(request.thread_id)
    return None if thread is None else thread.dataset_id


def _in(datasets: dict[str, Any], dataset_id: str | None, organization_id: str) -> bool:
    dataset = datasets.get(dataset_id or "")
    return dataset is not None and dataset.organization_id == organization_id


def _choose_dataset(
    request: MessageRequest, organization_id: str, thread: Any, datasets: dict[str, Any],
    newest: dict[str, str],
) -> str | None:
    """Explicit choice, else the thread's last dataset, else the organization's newest
    (all of the organization the message asks in)."""
    if request.dataset_id:
        if not _in(datasets, request.dataset_id, organization_id):
            raise NotFound("dataset not found")
        return request.dataset_id
    remembered: str | None = thread.dataset_id
    # It may have been deleted since, or be another organization's.
    if _in(datasets, remembered, organization_id):
        return remembered
    return newest.get(organization_id)


async def _active_runs(session: AsyncSession, user_ids: set[str]) -> dict[str, int]:
    """Each user's queued and running runs."""
    # Lock the users' rows, in one order so two batches cannot deadlock, so that two
    # simultaneous messages cannot both pass the limit; SQLite serialises writers anyway.
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(
            select(User.id).where(User.id.in_(user_ids)).order_by(User.id).with_for_update()
        )
    counts = await session.execute(
        select(Run.user_id, func.count())
        .where(Run.user_id.in_(user_ids), Run.status.in_(ACTIVE_RUN_STATUSES))
        .group_by(Run.user_id)
    )
    return {user_id: count for user_id, count in counts.tuples()}


@dataclass(frozen=True)
class StartedRun:
    """A run as its execution starts: what it was asked about, and its dataset's version
    at that moment (None without a dataset, or once the dataset is gone)."""

    id: str
    thread_id: str
    user_id: str
    message_id: str
    dataset_id: str | None
    created_at: datetime
    dataset_version: int | None


async def start_run(session: AsyncSession, run_id: str) -> StartedRun | None:
    """Move a queued run to running (a resumed one stays running); None once it has
    ended (cancelled before it began, or its thread deleted). One read, with the
    dataset's version, and one update: every run starts here."""
    row = (await session.execute(
        select(Run.id, Run.thread_id, Run.user_id, Run.message_id, Run.dataset_id, Run.status,
               Run.created_at, Dataset.version)
        .outerjoin(Dataset, Dataset.id == Run.dataset_id).where(Run.id == run_id)
    )).first()
    if row is None or row.status not in ACTIVE_RUN_STATUSES:
        return None
    if row.status == "queued":
        await session.execute(update(_RUNS).where(_RUNS.c.id == run_id)
                              .values(status="running", started_at=utcnow()))
    return StartedRun(id=row.id, thread_id=row.thread_id, user_id=row.user_id,
                      message_id=row.message_id, dataset_id=row.dataset_id,
                      created_at=row.created_at, dataset_version=row.version)


async def run_by_id(session: AsyncSession, run_id: str) -> Run:
    """A run by id, whoever owns it (for the run's own execution, never for a request)."""
    run = await session.get(Run, run_id)
    if run is None:
        raise NotFound("run not found")
    return run


async def finish_active_run(
    session: AsyncSession, run_id: str, status: str, error: dict[str, Any] | None = None
) -> None:
    """End a run that is still active; RunNotActive if someone else ended it first.

    The update takes the run's row lock, so two processes ending the same run at once
    (the one executing it, and one cancelling it) are serialised and only one wins.
    """
    ended = await session.execute(
        update(_RUNS).where(_RUNS.c.id == run_id, _RUNS.c.status.in_(ACTIVE_RUN_STATUSES))
        .values(status=status, error=error, finished_at=utcnow())
    )
    if cast(Any, ended).rowcount != 1:
        raise RunNotActive(f"run {run_id} has already ended")


async def request_cancel(session: AsyncSession, user_id: str, run_id: str) -> Run:
    """Record that the user cancelled the run (so its end reads "cancelled", not
    "timed out"); the run itself is stopped by the run engine."""
    run = await get_run(session, user_id, run_id)
    if run.status in ACTIVE_RUN_STATUSES and run.cancel_requested_at is None:
        run.cancel_requested_at = utcnow()
        await session.flush()
    return run


async def add_answer(
    session: AsyncSession, run: RunOwner, content: str, report: dict[str, Any], *,
    message_id: str,
) -> None:
    """Store a run's answer as the thread's assistant message and move the thread to the
    top. Core statements in the run's final transaction, which holds the writer's turn:
    nothing is read back."""
    now = utcnow()
    await session.execute(insert(_MESSAGES), [vars(NewMessage(
        id=message_id, thread_id=run.thread_id, user_id=run.user_id, content=content,
        run_id=run.run_id, client_msg_id=None, created_at=now, role="assistant",
        report=report))])
    await session.execute(update(_THREADS).where(_THREADS.c.id == run.thread_id)
                          .values(updated_at=now))


async def thread_history(session: AsyncSession, thread_id: str, limit: int = 20) -> list[Message]:
    """The thread's latest messages, oldest first: context for follow-up questions.

    Their reports are left unread (each is tens of KB of JSON, and a run needs one):
    `latest_report` reads the one that follow-ups refer to."""
    query = (
        select(Message)
        .options(defer(Message.report, raiseload=True))
        .where(Message.thread_id == thread_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return by_question(list(reversed((await session.scalars(query)).all())))


async def latest_report(
    session: AsyncSession, answer_ids: Sequence[str]
) -> dict[str, Any] | None:
    """The report of the first of these answers (newest first) that has one."""
    for message_id in answer_ids:
        report = await session.scalar(select(Message.report).where(Message.id == message_id))
        if report:
            return cast(dict[str, Any], report)
    return None


async def waiting_runs(session: AsyncSession, created_before: datetime,
                       limit: int = 500) -> list[Run]:
    """Active runs older than `created_before`, oldest first: the ones to check against
    the run queue (each should be queued or executing there)."""
    query = (select(Run).where(Run.status.in_(ACTIVE_RUN_STATUSES),
                               Run.created_at < created_before)
             .order_by(Run.created_at).limit(limit))
    return list((await session.scalars(query)).all())
