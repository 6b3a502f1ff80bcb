"""Sending a message and cancelling a run: shared by the REST routes and the WebSocket.

Messages are accepted by group commit (`intake`): the messages that arrive while one
acceptance transaction is in flight are stored together in the next, so a burst of
users sending at the same moment costs a few transactions, not one each behind the
other. A run starts only after its message, its row and its first event are committed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from netra.chat import service as chat_service
from netra.chat.models import ACTIVE_RUN_STATUSES, Run
from netra.db import Database
from netra.db.group_commit import GroupCommit
from netra.realtime.bus import EventBus
from netra.runs.engine import RunEngine
from netra.runs.workflow import end_from_outside
from netra.settings import Settings

RUNS_END_WAIT_S = 2.0  # how long deleting a thread lets its runs' processes end them
Intake = GroupCommit[chat_service.MessageRequest, chat_service.Accepted]


class ConversationParts(Protocol):
    """The parts of the running application a conversation uses. `Components`, which
    start-up builds from every domain's parts (this module's `Intake` among them), has
    them: the need is said here, below it, and it is met there."""

    db: Database
    intake: Intake
    bus: EventBus
    runs: RunEngine


def intake(settings: Settings, db: Database) -> Intake:
    async def accept(
        session: AsyncSession, requests: list[chat_service.MessageRequest]
    ) -> list[chat_service.Accepted | Exception]:
        return await chat_service.accept_messages(session, settings, requests)

    return GroupCommit(db, accept, name="message intake")


async def send_message(
    components: ConversationParts, user_id: str, *, thread_id: str, content: str,
    organization_id: str | None = None, via_sso: bool = False, dataset_id: str | None = None,
    client_msg_id: str | None = None,
    acknowledge: Callable[[chat_service.Accepted], None] | None = None,
) -> chat_service.Accepted:
    """Accept a message and start its run. `acknowledge` is told first, so that a
    client hears `message_accepted` before the run's first event. The message asks in
    `organization_id` (None: the user's personal one): the intake checks that the user
    may (a member or higher, signed in as it requires; `via_sso`)."""
    accepted = await components.intake.submit(chat_service.MessageRequest(
        user_id, thread_id, content, dataset_id, chat_service.retry_key(client_msg_id),
        organization_id, via_sso))
    if acknowledge is not None:
        acknowledge(accepted)
    if accepted.created:
        assert accepted.started is not None
        await components.bus.publish(user_id, accepted.started)
        await components.runs.submit(accepted.run.id, user_id)
    return accepted


async def cancel_run(components: ConversationParts, user_id: str, run_id: str) -> Run:
    """Cancel wherever the run executes; the run ends with `run_cancelled`."""
    async with components.db.transaction() as session:
        run = await chat_service.request_cancel(session, user_id, run_id)
    if run.status in ACTIVE_RUN_STATUSES:
        await components.runs.cancel(run.id)
    return run


async def delete_thread(components: ConversationParts, user_id: str, thread_id: str) -> None:
    """Delete a thread with its messages and runs, its active runs cancelled first.

    Each run ends with `run_cancelled` before its rows go, so its clients see it end and
    nothing is left writing to rows that are gone: the process executing a run usually
    ends it within a moment; one that is inside a long step by then is ended from here
    (as for a run nobody executes), and the event writer refuses whatever that step
    still tries to write."""
    async with components.db.transaction() as session:
        run_ids = await chat_service.cancel_thread_runs(session, user_id, thread_id)
    for run_id in run_ids:
        await components.runs.cancel(run_id)
    deadline = time.monotonic() + RUNS_END_WAIT_S
    while run_ids and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        async with components.db.transaction() as session:
            run_ids = await chat_service.still_active(session, run_ids)
    for run_id in run_ids:
        await end_from_outside(components.runs.driver, run_id, None)
    async with components.db.transaction() as session:
        await chat_service.delete_thread(session, user_id, thread_id)
