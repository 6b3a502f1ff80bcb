"""Sending a message and cancelling a run: shared by the REST routes and the WebSocket.

These own their transaction (like the run executor) because the run may only be handed
to the executor after the message and run rows are committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netra.chat import service as chat_service
from netra.chat.models import ACTIVE_RUN_STATUSES, Run

if TYPE_CHECKING:
    from netra.components import Components


async def send_message(
    components: Components, user_id: str, *, thread_id: str, content: str,
    dataset_id: str | None = None, client_msg_id: str | None = None,
) -> chat_service.Accepted:
    async with components.db.transaction() as session:
        accepted = await chat_service.accept_message(
            session, components.settings, user_id, thread_id=thread_id, content=content,
            dataset_id=dataset_id, client_msg_id=client_msg_id,
        )
    if accepted.created:
        await components.executor.submit(accepted.run.id)
    return accepted


async def cancel_run(components: Components, user_id: str, run_id: str) -> Run:
    async with components.db.transaction() as session:
        run = await chat_service.get_run(session, user_id, run_id)
    if run.status in ACTIVE_RUN_STATUSES:
        await components.executor.cancel(run.id, user_id)
    return run
