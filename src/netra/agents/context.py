"""RunContext: everything an agent does in a run becomes a numbered, stored, published event.

It keeps PROTOCOL.md's ordering rules true by construction: `seq` rises by exactly one,
each event is stored before it is published, every open tool call and sub-agent is
closed before the terminal event, and the terminal event is written in the same
transaction as the run's final status (and the assistant message).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from netra.chat import service as chat_service
from netra.chat.models import Run
from netra.db.base import new_id, utcnow
from netra.realtime.bus import EventBus
from netra.realtime.events import Event, envelope, to_row
from netra.realtime.writer import EventWriter
from netra.web.markdown import render_markdown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    role: str
    content: str
    report: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunRequest:
    """What a run was asked, and with which data."""

    run_id: str
    thread_id: str
    user_id: str
    message_id: str
    dataset_id: str | None
    question: str
    history: list[Turn] = field(default_factory=list)  # earlier messages, oldest first

    def last_report(self) -> dict[str, Any] | None:
        """The report of the thread's latest answer: what follow-up questions refer to."""
        for turn in reversed(self.history):
            if turn.report:
                return turn.report
        return None


@dataclass
class ToolOutcome:
    result: Any
    summary: str


class ToolFailed(Exception):
    """A tool raised; its tool_completed(ok=false) has already been sent."""


@dataclass
class AgentStep:
    name: str
    summary: str = ""


class RunContext:
    def __init__(
        self, request: RunRequest, writer: EventWriter, bus: EventBus, *, seq: int = 0
    ) -> None:
        self.request = request
        self._writer = writer
        self._bus = bus
        self._seq = seq  # of the run's last stored event
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future[None] | None = None
        self._open_tools: dict[str, tuple[str, str, float]] = {}
        self._open_agents: list[str] = []
        self.final_status: str | None = None

    @property
    def seq(self) -> int:
        return self._seq

    def resume_numbering(self, stored: list[Event]) -> None:
        """Continue a run from its stored log (to close a run a stopped process left open)."""
        for event in stored:
            self._seq = event["seq"]
            payload, agent = event["payload"], event["agent"]
            if event["type"] == "tool_executing":
                self._open_tools[payload["tool_call_id"]] = (
                    payload["tool"],
                    agent,
                    time.perf_counter(),
                )
            elif event["type"] == "tool_completed":
                self._open_tools.pop(payload.get("tool_call_id", ""), None)
            elif event["type"] == "agent_started" and agent != "supervisor":
                self._open_agents.append(agent)
            elif event["type"] in ("agent_completed", "agent_error") and agent in self._open_agents:
                self._open_agents.remove(agent)

    async def _ensure_started(self) -> None:
        # The first event of every run is the supervisor's agent_started, even for a run
        # cancelled or failed before it began.
        if self._seq == 0:
            await self.emit("agent_started", "supervisor", {"message_id": self.request.message_id})

    async def emit(self, type: str, agent: str, payload: dict[str, Any]) -> Event:
        return await self._emit(type, agent, payload, None)

    async def _emit(
        self,
        type: str,
        agent: str,
        payload: dict[str, Any],
        also: Callable[[AsyncSession], Awaitable[None]] | None,
    ) -> Event:
        self._seq += 1
        now = utcnow()
        event = envelope(
            type=type,
            run_id=self.request.run_id,
            thread_id=self.request.thread_id,
            seq=self._seq,
            ts=now,
            agent=agent,
            payload=payload,
        )
        # Shielded: a cancellation arriving mid-write must not leave a gap in `seq`.
        self._pending = asyncio.ensure_future(self._store_and_publish(event, now, also))
        await asyncio.shield(self._pending)
        return event

    async def _store_and_publish(
        self, event: Event, ts: Any, also: Callable[[AsyncSession], Awaitable[None]] | None
    ) -> None:
        async with self._lock:
            await self._writer.store(to_row(event, ts), also)
            await self._bus.publish(self.request.user_id, event)

    async def settle(self) -> None:
        """Wait for an event write that a cancellation interrupted."""
        if self._pending is not None and not self._pending.done():
            try:
                await self._pending
            except Exception:
                log.exception("run %s: an event write failed", self.request.run_id)

    async def think(self, agent: str, text: str) -> None:
        await self.emit("agent_thinking", agent, {"text": text})

    @asynccontextmanager
    async def agent(self, name: str) -> AsyncIterator[AgentStep]:
        """Bracket a sub-agent with agent_started … agent_completed / agent_error."""
        step = AgentStep(name)
        # Open before the event is written: a cancellation arriving during the (shielded)
        # write still stores it, and then the cancellation must close this agent.
        self._open_agents.append(name)
        try:
            await self.emit("agent_started", name, {})
        except Exception:
            self._open_agents.remove(name)  # not written: nothing to close
            raise
        try:
            yield step
        except Exception as error:
            self._open_agents.remove(name)
            await self.emit("agent_error", name, {"code": "agent_failed", "message": str(error)})
            raise
        self._open_agents.remove(name)
        await self.emit("agent_completed", name, {"summary": step.summary})

    async def tool(
        self,
        agent: str,
        name: str,
        args: dict[str, Any],
        call: Callable[[], Awaitable[ToolOutcome]],
        *,
        include_result: bool = True,
    ) -> ToolOutcome:
        """Run one tool call between tool_executing and exactly one tool_completed."""
        call_id = "call_" + secrets.token_hex(6)
        started = time.perf_counter()
        self._open_tools[call_id] = (name, agent, started)  # open first, as in agent()
        try:
            await self.emit(
                "tool_executing", agent, {"tool": name, "tool_call_id": call_id, "args": args}
            )
        except Exception:
            del self._open_tools[call_id]
            raise
        try:
            outcome = await call()
        except Exception as error:
            del self._open_tools[call_id]
            await self.emit(
                "tool_completed",
                agent,
                {
                    "tool": name,
                    "tool_call_id": call_id,
                    "ok": False,
                    "duration_ms": _ms_since(started),
                    "summary": f"failed: {error}",
                },
            )
            raise ToolFailed(f"{name} failed: {error}") from error
        del self._open_tools[call_id]
        payload: dict[str, Any] = {
            "tool": name,
            "tool_call_id": call_id,
            "ok": True,
            "duration_ms": _ms_since(started),
            "summary": outcome.summary,
        }
        if include_result:
            payload["result"] = outcome.result
        await self.emit("tool_completed", agent, payload)
        return outcome

    async def _close_open(self, reason: str) -> None:
        for call_id, (name, agent, started) in list(self._open_tools.items()):
            await self.emit(
                "tool_completed",
                agent,
                {
                    "tool": name,
                    "tool_call_id": call_id,
                    "ok": False,
                    "duration_ms": _ms_since(started),
                    "summary": reason,
                },
            )
        self._open_tools.clear()
        for name in reversed(self._open_agents):
            await self.emit("agent_error", name, {"code": "interrupted", "message": reason})
        self._open_agents.clear()

    async def complete(self, content: str, report: dict[str, Any]) -> None:
        """Store the answer as the assistant message, atomically with the final event."""
        # The id is chosen before the write so the event's payload can carry it.
        message_id = new_id()

        async def store(session: AsyncSession) -> None:
            run = await session.get(Run, self.request.run_id)
            assert run is not None
            await chat_service.add_assistant_message(
                session, run, content, report, message_id=message_id
            )
            await chat_service.finish_run(session, run.id, "completed")

        await self._emit(
            "agent_completed",
            "supervisor",
            {
                "message_id": message_id,
                "content": content,
                "content_html": render_markdown(content),
                "report": report,
            },
            store,
        )
        self.final_status = "completed"

    async def fail(self, code: str, message: str) -> None:
        await self.settle()
        await self._ensure_started()
        await self._close_open(message)
        error = {"code": code, "message": message}

        async def store(session: AsyncSession) -> None:
            await chat_service.finish_run(session, self.request.run_id, "failed", error)

        await self._emit("agent_error", "supervisor", error, store)
        self.final_status = "failed"

    async def cancelled(self) -> None:
        await self.settle()
        await self._ensure_started()
        await self._close_open("cancelled by the user")

        async def store(session: AsyncSession) -> None:
            await chat_service.finish_run(session, self.request.run_id, "cancelled")

        await self._emit("run_cancelled", "supervisor", {}, store)
        self.final_status = "cancelled"


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
