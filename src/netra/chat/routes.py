"""Threads, messages and runs over REST (PROTOCOL.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from netra.auth.deps import CurrentLogin, CurrentUser
from netra.chat import conversation
from netra.chat import service as chat_service
from netra.chat.schemas import (
    Message,
    MessageAccepted,
    MessageCreate,
    Run,
    Thread,
    ThreadCreate,
    ThreadShare,
    ThreadUpdate,
)
from netra.deps import AppComponents, DbSession
from netra.orgs import audit
from netra.orgs import service as orgs_service
from netra.orgs.deps import CurrentActor, OrganizationHeader

router = APIRouter(prefix="/api")
MAX_SEQ = 2**31 - 1  # the column is a 32-bit integer; a larger bound cannot be bound


@router.post("/threads", status_code=201)
async def create_thread(body: ThreadCreate, user: CurrentUser, session: DbSession) -> Thread:
    """Start a new conversation."""
    return Thread.of(await chat_service.create_thread(session, user.id, body.title))


@router.get("/threads")
async def list_threads(user: CurrentUser, session: DbSession) -> list[Thread]:
    """The caller's threads, newest first."""
    return [Thread.of(t) for t in await chat_service.list_threads(session, user.id)]


@router.get("/threads/{thread_id}")
async def get_thread(thread_id: str, caller: CurrentLogin, session: DbSession,
                     organization: OrganizationHeader = None) -> Thread:
    """One of your threads, or one shared into the organization."""
    return Thread.of(await chat_service.readable_thread(
        session, caller.user, thread_id, organization or None, via_sso=caller.via_sso))


@router.get("/organizations/{organization_id}/threads")
async def shared_threads(organization_id: str, caller: CurrentLogin,
                         session: DbSession) -> list[Thread]:
    """The threads shared into the organization, newest first (any member)."""
    granted = await orgs_service.access(session, caller.user, organization_id,
                                        via_sso=caller.via_sso)
    return [Thread.of(t) for t in await chat_service.shared_threads(
        session, granted.organization_id)]


@router.put("/threads/{thread_id}/organization")
async def share_thread(thread_id: str, body: ThreadShare, caller: CurrentLogin,
                       actor: CurrentActor, session: DbSession) -> Thread:
    """Share one of your threads into an organization you are a member of (its members
    read it), or take it back (`organization_id: null`)."""
    await chat_service.get_thread(session, caller.user.id, thread_id)  # yours, or 404
    if body.organization_id is None:
        return Thread.of(await chat_service.share_thread(session, caller.user.id, thread_id,
                                                         None))
    granted = await orgs_service.access(session, caller.user, body.organization_id,
                                        via_sso=caller.via_sso, minimum="member",
                                        doing="sharing a thread")
    thread = await chat_service.share_thread(session, caller.user.id, thread_id,
                                             granted.organization_id)
    audit.record(session, granted.organization_id, actor, "thread_shared", thread.title,
                 thread_id=thread.id)
    return Thread.of(thread)


@router.patch("/threads/{thread_id}")
async def rename_thread(
    thread_id: str, body: ThreadUpdate, user: CurrentUser, session: DbSession
) -> Thread:
    """Rename a thread."""
    return Thread.of(await chat_service.rename_thread(session, user.id, thread_id, body.title))


@router.delete("/threads/{thread_id}", status_code=204)
async def delete_thread(thread_id: str, user: CurrentUser, components: AppComponents) -> Response:
    """Delete a thread with its messages and runs (its active runs are cancelled first)."""
    await conversation.delete_thread(components, user.id, thread_id)
    return Response(status_code=204)


@router.get("/threads/{thread_id}/messages")
async def list_messages(
    thread_id: str, caller: CurrentLogin, session: DbSession,
    organization: OrganizationHeader = None,
) -> list[Message]:
    """The thread's messages, oldest first (yours, or shared into the organization)."""
    thread = await chat_service.readable_thread(
        session, caller.user, thread_id, organization or None, via_sso=caller.via_sso)
    return [Message.of(m) for m in await chat_service.list_messages(session, thread)]


@router.post("/threads/{thread_id}/messages", status_code=202)
async def post_message(
    thread_id: str, body: MessageCreate, caller: CurrentLogin, components: AppComponents,
    organization: OrganizationHeader = None,
) -> MessageAccepted:
    """Send a message; starts a run whose events stream over the WebSocket. It asks about
    a dataset of the organization, which takes the member role or higher."""
    await components.limiter.hit(components.limiter.messages_per_user, caller.user.id)
    accepted = await conversation.send_message(
        components, caller.user.id, thread_id=thread_id, content=body.content,
        organization_id=organization or None, via_sso=caller.via_sso,
        dataset_id=body.dataset_id, client_msg_id=body.client_msg_id,
    )
    return MessageAccepted(message=Message.of(accepted.message), run=Run.of(accepted.run))


@router.get("/runs/{run_id}")
async def get_run(run_id: str, user: CurrentUser, session: DbSession) -> Run:
    """A run's status."""
    return Run.of(await chat_service.get_run(session, user.id, run_id))


@router.get("/runs/{run_id}/events")
async def run_events(
    run_id: str, user: CurrentUser, session: DbSession,
    after_seq: int = Query(0, ge=0, le=MAX_SEQ),
) -> list[dict[str, Any]]:
    """The run's stored events with seq > after_seq, in order."""
    return await chat_service.run_events(session, user.id, run_id, after_seq)


@router.post("/runs/{run_id}/cancel", status_code=202)
async def cancel_run(run_id: str, user: CurrentUser, components: AppComponents) -> Run:
    """Cancel a run; it ends with run_cancelled."""
    return Run.of(await conversation.cancel_run(components, user.id, run_id))
