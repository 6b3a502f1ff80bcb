"""POST /api/ag-ui: the same runs, spoken as the AG-UI protocol (for CopilotKit and other
AG-UI clients).

The request's last user message is sent to the thread like any message (stored, run on
the run queue, its events on /ws as usual); the answer streams back as AG-UI events over
SSE, translated from the run's own events: sub-agents as steps, tool calls as
TOOL_CALL_*, the checked answer as TEXT_MESSAGE_*, then RUN_FINISHED or RUN_ERROR.
A client that disconnects stops nothing: the run finishes and stays in the thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from ag_ui.core import (
    BaseEvent,
    RunAgentInput,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ag_ui.encoder import EventEncoder
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from netra.auth import service as auth_service
from netra.auth.deps import Credentials, bearer_token
from netra.chat import conversation
from netra.components import Components
from netra.deps import AppComponents
from netra.errors import BadRequest
from netra.orgs.deps import HEADER as ORGANIZATION_HEADER
from netra.realtime.events import Event, is_terminal
from netra.realtime.hub import Connection
from netra.realtime.routes import stored_events

router = APIRouter(prefix="/api")
QUEUE = 4096


class _Inbox:
    """A hub connection's socket that hands frames to the SSE stream."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def send_text(self, data: str) -> None:
        await self.frames.put(json.loads(data))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self.frames.put(None)


def _question(body: RunAgentInput) -> str:
    for message in reversed(body.messages):
        if getattr(message, "role", None) == "user":
            content = message.content
            if isinstance(content, str) and content.strip():
                return content
            raise BadRequest("the last user message must have text content")
    raise BadRequest("messages holds no user message to answer")


@router.post("/ag-ui")
async def ag_ui(
    request: Request, components: AppComponents, credentials: Credentials
) -> StreamingResponse:
    """Run the agents on an AG-UI `RunAgentInput` (threadId: one of your threads); the
    answer streams back as AG-UI events (Server-Sent Events)."""
    # Not the usual CurrentUser dependency: its database session would stay open for as
    # long as the answer streams.
    async with components.db.transaction() as session:
        caller = await auth_service.signed_in(session, components.settings,
                                              bearer_token(credentials))
    user_id = caller.user.id
    await components.limiter.hit(components.limiter.messages_per_user, user_id)
    try:
        body = RunAgentInput.model_validate(await request.json())
    except (ValidationError, ValueError) as error:
        raise BadRequest(f"not an AG-UI RunAgentInput: {str(error).splitlines()[0]}") from None
    question = _question(body)
    inbox = _Inbox()
    connection = Connection(inbox, user_id, QUEUE, stored_events(components, user_id))
    components.hub.add(connection)  # before sending: no event of the run can be missed
    writer = asyncio.create_task(connection.write_forever())
    try:
        accepted = await conversation.send_message(
            components, user_id, thread_id=body.thread_id, content=question,
            organization_id=request.headers.get(ORGANIZATION_HEADER) or None,
            via_sso=caller.via_sso,
            client_msg_id=f"ag-ui:{body.run_id}"[:128])
    except BaseException:
        _stop(components, connection, writer)
        raise
    if not accepted.created:  # a retried AG-UI run: replay it from its log
        connection.resume(accepted.run.id, 0)
    encoder = EventEncoder()
    stream = _translate(components, connection, writer, inbox, body, accepted.run.id)
    return StreamingResponse((encoder.encode(e) async for e in stream),
                             media_type=encoder.get_content_type())


def _stop(components: Components, connection: Connection, writer: asyncio.Task[None]) -> None:
    components.hub.remove(connection)
    connection.stop()
    writer.cancel()


async def _translate(components: Components, connection: Connection,
                     writer: asyncio.Task[None], inbox: _Inbox, body: RunAgentInput,
                     run_id: str) -> AsyncIterator[BaseEvent]:
    translator = _Translator(body.thread_id, body.run_id, run_id)
    try:
        yield RunStartedEvent(thread_id=body.thread_id, run_id=body.run_id)
        while True:
            frame = await inbox.frames.get()
            if frame is None:
                yield RunErrorEvent(message="the server closed the stream; the run goes on",
                                    code="unavailable")
                return
            if frame.get("run_id") != run_id or "seq" not in frame:
                continue
            for event in translator.events(frame):
                yield event
            if is_terminal(frame):
                return
    finally:
        _stop(components, connection, writer)


class _Translator:
    """Our run events → AG-UI events."""

    def __init__(self, thread_id: str, agui_run_id: str, run_id: str) -> None:
        self.thread_id = thread_id
        self.agui_run_id = agui_run_id
        self.message_id = f"{run_id}-answer"
        self.text_started = False

    def events(self, event: Event) -> list[BaseEvent]:
        kind, agent, payload = event["type"], event["agent"], event["payload"]
        if kind == "agent_started" and agent != "supervisor":
            return [StepStartedEvent(step_name=agent)]
        if kind in ("agent_completed", "agent_error") and agent != "supervisor":
            return [StepFinishedEvent(step_name=agent)]
        if kind == "tool_executing":
            call = payload["tool_call_id"]
            return [ToolCallStartEvent(tool_call_id=call, tool_call_name=payload["tool"]),
                    ToolCallArgsEvent(tool_call_id=call, delta=json.dumps(payload["args"])),
                    ToolCallEndEvent(tool_call_id=call)]
        if kind == "tool_completed":
            content = payload.get("result", payload.get("summary", ""))
            return [ToolCallResultEvent(message_id=f"{payload['tool_call_id']}-result",
                                        tool_call_id=payload["tool_call_id"],
                                        content=json.dumps(content, default=str))]
        if kind == "partial_result":
            return self._text(payload.get("text") or "")
        if kind == "agent_completed":
            done: list[BaseEvent] = [] if self.text_started else self._text(
                payload.get("content") or "")
            return [*done, TextMessageEndEvent(message_id=self.message_id),
                    RunFinishedEvent(thread_id=self.thread_id, run_id=self.agui_run_id,
                                     result={"message_id": payload.get("message_id"),
                                             "report": payload.get("report")})]
        if kind == "agent_error":
            return [RunErrorEvent(message=payload.get("message", "failed"),
                                  code=payload.get("code"))]
        if kind == "run_cancelled":
            return [RunErrorEvent(message="the run was cancelled", code="cancelled")]
        return []

    def _text(self, text: str) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        if not self.text_started:
            self.text_started = True
            events.append(TextMessageStartEvent(message_id=self.message_id, role="assistant"))
        if text:
            events.append(TextMessageContentEvent(message_id=self.message_id, delta=text))
        return events
