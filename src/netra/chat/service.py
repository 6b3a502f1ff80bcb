"""Threads, messages and runs: every query filters by owner (another user's row is 404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from netra.auth.models import User
from netra.chat.models import ACTIVE_RUN_STATUSES, Message, Run, Thread
from netra.db.base import new_id, utcnow
from netra.errors import NotFound, TooLarge, TooManyRuns, ValidationFailed
from netra.realtime import events as event_log
from netra.settings import Settings
from netra.telemetry import service as dataset_service

DEFAULT_TITLE = "New analysis"


async def create_thread(session: AsyncSession, user_id: str, title: str | None) -> Thread:
    thread = Thread(user_id=user_id, title=(title or "").strip() or DEFAULT_TITLE)
    session.add(thread)
    await session.flush()
    return thread


async def list_threads(session: AsyncSession, user_id: str) -> list[Thread]:
    query = select(Thread).where(Thread.user_id == user_id)
    return list((await session.scalars(query.order_by(Thread.updated_at.desc()))).all())


async def get_thread(session: AsyncSession, user_id: str, thread_id: str) -> Thread:
    thread = await session.get(Thread, thread_id)
    if thread is None or thread.user_id != user_id:
        raise NotFound("thread not found")
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


async def list_messages(session: AsyncSession, user_id: str, thread_id: str) -> list[Message]:
    await get_thread(session, user_id, thread_id)
    query = select(Message).where(Message.thread_id == thread_id)
    return list((await session.scalars(query.order_by(Message.created_at, Message.id))).all())


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


@dataclass
class Accepted:
    message: Message
    run: Run
    created: bool  # False when a retried client_msg_id returned the earlier message


async def _existing(session: AsyncSession, user_id: str, client_msg_id: str) -> Accepted | None:
    query = select(Message).where(
        Message.user_id == user_id, Message.client_msg_id == client_msg_id
    )
    message = (await session.scalars(query)).first()
    if message is None or message.run_id is None:
        return None
    run = await session.get(Run, message.run_id)
    assert run is not None
    return Accepted(message, run, created=False)


async def _choose_dataset(
    session: AsyncSession, user_id: str, thread: Thread, dataset_id: str | None
) -> str | None:
    """Explicit choice, else the thread's last dataset, else the user's newest."""
    if dataset_id:
        await dataset_service.get_dataset(session, user_id, dataset_id)
        return dataset_id
    if thread.dataset_id:
        try:  # the thread's dataset may have been deleted since
            await dataset_service.get_dataset(session, user_id, thread.dataset_id)
            return thread.dataset_id
        except NotFound:
            pass
    return await dataset_service.newest_dataset_id(session, user_id)


async def _check_active_runs(session: AsyncSession, settings: Settings, user_id: str) -> None:
    # Lock the user's row (PostgreSQL) so two simultaneous messages cannot both pass
    # the limit; SQLite already serialises writers.
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    active = await session.scalar(
        select(func.count())
        .select_from(Run)
        .where(Run.user_id == user_id, Run.status.in_(ACTIVE_RUN_STATUSES))
    )
    if (active or 0) >= settings.max_active_runs_per_user:
        raise TooManyRuns(
            f"you already have {active} active runs (limit "
            f"{settings.max_active_runs_per_user}); wait for one to finish or cancel one"
        )


async def accept_message(
    session: AsyncSession,
    settings: Settings,
    user_id: str,
    *,
    thread_id: str,
    content: str,
    dataset_id: str | None = None,
    client_msg_id: str | None = None,
) -> Accepted:
    """Store the user's message and its queued run (the caller commits, then executes)."""
    if client_msg_id and (earlier := await _existing(session, user_id, client_msg_id)):
        return earlier
    if not content.strip():
        raise ValidationFailed("content must not be empty")
    size = len(content.encode())
    if size > settings.max_message_bytes:
        raise TooLarge(f"content is {size} bytes; the limit is {settings.max_message_bytes}")
    thread = await get_thread(session, user_id, thread_id)
    chosen = await _choose_dataset(session, user_id, thread, dataset_id)
    await _check_active_runs(session, settings, user_id)
    message = Message(
        id=new_id(),
        thread_id=thread.id,
        user_id=user_id,
        role="user",
        content=content,
        client_msg_id=client_msg_id,
    )
    run = Run(
        id=new_id(), thread_id=thread.id, user_id=user_id, message_id=message.id, dataset_id=chosen
    )
    message.run_id = run.id
    session.add_all([message, run])
    thread.dataset_id = chosen
    thread.updated_at = utcnow()
    try:
        await session.flush()
    except IntegrityError:  # the same client_msg_id raced in on another socket
        await session.rollback()
        if client_msg_id and (earlier := await _existing(session, user_id, client_msg_id)):
            return earlier
        raise
    return Accepted(message, run, created=True)


async def mark_running(session: AsyncSession, run_id: str) -> Run | None:
    """Move a queued run to running; None if it is no longer queued (e.g. cancelled)."""
    run = await session.get(Run, run_id)
    if run is None or run.status != "queued":
        return None
    run.status = "running"
    run.started_at = utcnow()
    await session.flush()
    return run


async def finish_run(
    session: AsyncSession, run_id: str, status: str, error: dict[str, Any] | None = None
) -> None:
    run = await session.get(Run, run_id)
    if run is None:
        return
    run.status = status
    run.error = error
    run.finished_at = utcnow()
    await session.flush()


async def add_assistant_message(
    session: AsyncSession,
    run: Run,
    content: str,
    report: dict[str, Any],
    *,
    message_id: str | None = None,
) -> Message:
    message = Message(
        id=message_id or new_id(),
        thread_id=run.thread_id,
        user_id=run.user_id,
        role="assistant",
        content=content,
        run_id=run.id,
        report=report,
    )
    session.add(message)
    thread = await session.get(Thread, run.thread_id)
    if thread is not None:
        thread.updated_at = utcnow()
    await session.flush()
    return message


async def thread_history(session: AsyncSession, thread_id: str, limit: int = 20) -> list[Message]:
    """The thread's latest messages, oldest first: context for follow-up questions."""
    query = (
        select(Message)
        .where(Message.thread_id == thread_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.scalars(query)).all()))


async def interrupted_runs(session: AsyncSession) -> list[Run]:
    """Runs left queued or running by a process that stopped."""
    query = select(Run).where(Run.status.in_(ACTIVE_RUN_STATUSES))
    return list((await session.scalars(query)).all())
