"""RunContext: everything an agent does in a run becomes a numbered, stored, published event,
and every tool or model call a checkpointed step of the run's durable workflow.

One module, past ~400 lines, on purpose: the numbering (`seq`, the keys already stored),
the open tool calls and sub-agents and the chain of publications are one RunContext's
private state, which emitting, tool calls, steps and the terminal events all advance;
split apart, that state would need a public face and the rules below a second home.

It keeps PROTOCOL.md's ordering rules true by construction: `seq` rises by exactly one,
each event is stored before it is published, every open tool call and sub-agent is
closed before the terminal event, and the terminal event is written in the same
transaction as the run's final status (and the assistant message).

Under recovery the workflow's body runs again from the top while finished steps return
their checkpoints. So every event has a deterministic identity, its `key`: `b<n>` for
the n-th event of the body, `s<step>.x` / `s<step>.c` for a tool call's start and end,
`s<step>.<n>` for what a step emits itself (a streamed answer). An event whose key the
run's log already holds was stored (and sent) by an earlier attempt: it is neither
stored nor sent again, and the log stays 1..n without gaps or duplicates.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from netra import metrics
from netra.chat import service as chat_service
from netra.db.base import utcnow
from netra.realtime.bus import EventBus
from netra.realtime.events import Event, envelope, to_row
from netra.realtime.writer import EventWriter
from netra.runs.steps import STOPPED, Step, current_step, reserve
from netra.web.markdown import render_answer

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    dataset_version: int | None = None  # the dataset's version when the run started
    version_analysed: bool = False  # whether that version's analysis was complete then
    # The history's answers, newest first: the report follow-ups refer to is read from
    # them at each attempt (a stored answer never changes), not kept in the checkpoint.
    answer_ids: tuple[str, ...] = ()
    previous_report: dict[str, Any] | None = None

    def last_report(self) -> dict[str, Any] | None:
        """The report of the thread's latest answer: what follow-up questions refer to."""
        if self.previous_report is not None:
            return self.previous_report
        for turn in reversed(self.history):  # a checkpoint written before `answer_ids`
            if turn.report:
                return turn.report
        return None


@dataclass
class ToolOutcome:
    result: Any
    summary: str


class ToolFailed(Exception):
    """A tool raised; its tool_completed(ok=false) has already been sent."""


class RunError(Exception):
    """A failure the run reports to its user as `agent_error` with this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Checkpointed step errors are pickled: rebuild with both arguments.
        return (type(self), (self.code, self.message))


class VersionResults(Protocol):
    """Results kept for the run's dataset version (see `runs.analysis`)."""

    def lookup(self, tool: str, args: dict[str, Any]) -> ToolOutcome | None: ...

    def keeping(self, tool: str, args: dict[str, Any],
                call: Callable[[], Awaitable[ToolOutcome]],
                ) -> Callable[[], Awaitable[ToolOutcome]]: ...


@dataclass
class AgentStep:
    name: str
    summary: str = ""


@dataclass
class StoredLog:
    """What a run's log already holds when an attempt (re)starts."""

    last_seq: int = 0
    keys: set[str] = field(default_factory=set)

    @property
    def resumed(self) -> bool:
        # Anything past the supervisor's agent_started came from an earlier attempt.
        return self.last_seq > 1


@dataclass
class _Scope:
    """Events a step emits itself are keyed by the step and their order within it."""

    step: int
    count: int = 0


_SCOPE: ContextVar[_Scope | None] = ContextVar("netra_run_step_scope", default=None)


class RunContext:
    def __init__(
        self, request: RunRequest, writer: EventWriter, bus: EventBus,
        stored: StoredLog | None = None,
    ) -> None:
        self.request = request
        self._writer = writer
        self._bus = bus
        stored = stored or StoredLog()
        self._seq = stored.last_seq  # of the run's last stored event
        self.resumed = stored.resumed
        self._known = stored.keys
        self._body_events = 0
        self._in_foreign_step: dict[int, int] = {}  # events emitted so far, by step
        self._outside = False  # ending a run no attempt is executing
        self._published: asyncio.Future[None] | None = None  # the last event's publication
        self._failure: BaseException | None = None  # the first event write that failed
        self._open_tools: dict[str, tuple[str, str, float]] = {}
        self._open_agents: list[str] = []
        self.final_status: str | None = None
        self.results: VersionResults | None = None  # kept results of the dataset version

    @property
    def seq(self) -> int:
        return self._seq

    @classmethod
    def from_log(
        cls, request: RunRequest, writer: EventWriter, bus: EventBus, stored: list[Event]
    ) -> RunContext:
        """A context that continues a run from its stored log, to end a run that no
        attempt is executing (a cancelled queued run, a workflow that gave up)."""
        ctx = cls(request, writer, bus, StoredLog(stored[-1]["seq"] if stored else 0))
        ctx._outside = True
        for event in stored:
            ctx._track(event["type"], event["agent"], event["payload"])
        return ctx

    def _track(self, type: str, agent: str, payload: dict[str, Any]) -> None:
        """Follow which tool calls and sub-agents are open (to close them at the end)."""
        if type == "tool_executing":
            self._open_tools[payload["tool_call_id"]] = (payload["tool"], agent,
                                                         time.perf_counter())
        elif type == "tool_completed":
            self._open_tools.pop(payload.get("tool_call_id", ""), None)
        elif type == "agent_started" and agent != "supervisor":
            self._open_agents.append(agent)
        elif type in ("agent_completed", "agent_error") and agent in self._open_agents:
            self._open_agents.remove(agent)

    def _next_key(self) -> str:
        if self._outside:
            return f"e{self._seq + 1}"
        scope = _SCOPE.get()
        if scope is not None:
            scope.count += 1
            return f"s{scope.step}.{scope.count}"
        foreign = current_step()  # a step a library runs (a model request of the agent)
        if foreign is not None:
            self._in_foreign_step[foreign] = count = self._in_foreign_step.get(foreign, 0) + 1
            return f"s{foreign}.{count}"
        self._body_events += 1
        return f"b{self._body_events}"

    async def emit(
        self, type: str, agent: str, payload: dict[str, Any], *, key: str | None = None
    ) -> Event | None:
        """Store and publish one event; None when an earlier attempt already did."""
        return await self._emit(type, agent, payload, key or self._next_key(), None)

    async def _emit(
        self,
        type: str,
        agent: str,
        payload: dict[str, Any],
        key: str,
        also: Callable[[AsyncSession], Awaitable[None]] | None,
    ) -> Event | None:
        """Hand the event to the writer and go on: the run does not wait for each
        commit (consecutive events share one), only a terminal event and a step's end
        wait for everything before them (`flush`). A failed write stops the run at its
        next event."""
        self._raise_failure()
        self._track(type, agent, payload)
        if key in self._known:
            return None
        self._known.add(key)
        self._seq += 1
        now = utcnow()
        event = envelope(type=type, run_id=self.request.run_id,
                         thread_id=self.request.thread_id, seq=self._seq, ts=now,
                         agent=agent, payload=payload)
        stored = asyncio.ensure_future(self._writer.store(to_row(event, now, key), also))
        self._published = asyncio.ensure_future(
            self._publish_after(stored, self._published, event))
        if also is not None or (_SCOPE.get() is None and current_step() is not None):
            # A terminal event is done only once stored. So is an event emitted inside
            # a step that is not ours: it must be stored before that step's checkpoint,
            # and only our own steps flush at their end.
            await self.flush()
        return event

    async def _publish_after(
        self, stored: asyncio.Future[None], previous: asyncio.Future[None] | None,
        event: Event,
    ) -> None:
        """Publish once stored, after the run's previous event: in `seq` order."""
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await stored
        except BaseException as error:  # the run sees it at its next event or flush
            if self._failure is None:
                self._failure = error
            return
        # The log is the truth; a bus that fails or lags is refilled from it.
        await self._bus.publish(self.request.user_id, event)

    async def flush(self) -> None:
        """Wait until every event emitted so far is stored (and published); raise the
        first write that failed."""
        if self._published is not None:
            await asyncio.wait([self._published])
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def think(self, agent: str, text: str, *, key: str | None = None) -> None:
        await self.emit("agent_thinking", agent, {"text": text}, key=key)

    @asynccontextmanager
    async def agent(self, name: str) -> AsyncIterator[AgentStep]:
        """Bracket a sub-agent with agent_started … agent_completed / agent_error."""
        step = AgentStep(name)
        await self.emit("agent_started", name, {})
        try:
            yield step
        except STOPPED:
            raise  # the run stops here: whoever ends it closes the open sub-agents
        except Exception as error:
            await self.emit("agent_error", name, {"code": "agent_failed", "message": str(error)})
            raise
        await self.emit("agent_completed", name, {"summary": step.summary})

    def tool_call(
        self,
        agent: str,
        name: str,
        args: dict[str, Any],
        call: Callable[[], Awaitable[ToolOutcome]],
        *,
        include_result: bool = True,
        keep: bool = False,
    ) -> Callable[[], Awaitable[ToolOutcome]]:
        """A tool call to run later, its step numbered now: calls made side by side
        keep the numbers of the order they were made in, however they finish.

        `keep`: its result depends only on the dataset's version, so it is read from
        what is kept for the version, or computed once and kept for the next question.
        """
        step = reserve()  # numbered even when the result is read back, so steps line up
        kept = self.results.lookup(name, args) if keep and self.results else None
        if kept is not None:
            return partial(self._kept, step.id, agent, name, args, kept, include_result)
        if keep and self.results is not None:
            call = self.results.keeping(name, args, call)

        async def run() -> ToolOutcome:
            return await self._tool(step, agent, name, args, call, include_result)

        return run

    async def _kept(self, step_id: int, agent: str, name: str, args: dict[str, Any],
                    kept: ToolOutcome, include_result: bool) -> ToolOutcome:
        """A result kept for the dataset's version: the same events (with the same keys
        as had it been computed: an attempt may compute what a later one reads back), no
        computation."""
        call_id, key = f"call_{step_id}", f"s{step_id}"
        await self.emit("tool_executing", agent, {"tool": name, "tool_call_id": call_id,
                                                  "args": args}, key=f"{key}.x")
        payload: dict[str, Any] = {"tool": name, "tool_call_id": call_id, "ok": True,
                                   "duration_ms": 0.0, "summary": kept.summary,
                                   "cached": True}
        if include_result:
            payload["result"] = kept.result
        await self.emit("tool_completed", agent, payload, key=f"{key}.c")
        return kept

    async def tool(
        self,
        agent: str,
        name: str,
        args: dict[str, Any],
        call: Callable[[], Awaitable[ToolOutcome]],
        *,
        include_result: bool = True,
        keep: bool = False,
    ) -> ToolOutcome:
        """Run one tool call between tool_executing and exactly one tool_completed."""
        return await self.tool_call(agent, name, args, call, include_result=include_result,
                                    keep=keep)()

    async def _tool(
        self, step: Step, agent: str, name: str, args: dict[str, Any],
        call: Callable[[], Awaitable[ToolOutcome]], include_result: bool,
    ) -> ToolOutcome:
        call_id = f"call_{step.id}"
        started = time.perf_counter()
        await self.emit("tool_executing", agent, {"tool": name, "tool_call_id": call_id,
                                                  "args": args}, key=f"s{step.id}.x")
        try:
            outcome, duration_ms = await step.run(name, _timed(call))
        except STOPPED:
            raise
        except Exception as error:
            await self.emit("tool_completed", agent, {
                "tool": name, "tool_call_id": call_id, "ok": False,
                "duration_ms": _ms_since(started), "summary": f"failed: {error}",
            }, key=f"s{step.id}.c")
            raise ToolFailed(f"{name} failed: {error}") from error
        metrics.STEP_SECONDS.labels(kind="tool").observe(duration_ms / 1000)
        payload: dict[str, Any] = {
            "tool": name, "tool_call_id": call_id, "ok": True,
            "duration_ms": duration_ms, "summary": outcome.summary,
        }
        if include_result:
            payload["result"] = outcome.result
        await self.emit("tool_completed", agent, payload, key=f"s{step.id}.c")
        return outcome

    async def step(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        """A checkpointed step that is not a tool (a model call): done once, its answer
        read back from the checkpoint when the run resumes. Events it emits itself are
        keyed within it."""
        step = reserve()

        async def scoped() -> T:
            token = _SCOPE.set(_Scope(step.id))
            started = time.perf_counter()
            try:
                result = await call()
                # What the step emitted is stored before its checkpoint: a resumed run
                # does not run the step again, so nothing else would store it.
                await self.flush()
                return result
            finally:
                _SCOPE.reset(token)
                metrics.STEP_SECONDS.labels(kind="model").observe(time.perf_counter() - started)

        return await step.run(name, scoped, long=True)

    async def _close_open(self, reason: str) -> None:
        for call_id, (name, agent, started) in list(self._open_tools.items()):
            await self.emit("tool_completed", agent, {
                "tool": name, "tool_call_id": call_id, "ok": False,
                "duration_ms": _ms_since(started), "summary": reason,
            })
        self._open_tools.clear()
        for name in reversed(self._open_agents):
            await self.emit("agent_error", name, {"code": "interrupted", "message": reason})
        self._open_agents.clear()

    async def complete(self, content: str, report: dict[str, Any]) -> None:
        """Store the answer as the assistant message, atomically with the final event."""
        # Derived, not random: a replay must build the same event.
        message_id = hashlib.sha256(f"{self.request.run_id}:answer".encode()).hexdigest()[:24]

        async def store(session: AsyncSession) -> None:
            await chat_service.finish_active_run(session, self.request.run_id, "completed")
            await chat_service.add_answer(session, self.request, content, report,
                                          message_id=message_id)

        await self._emit(
            "agent_completed", "supervisor",
            {"message_id": message_id, "content": content,
             "content_html": render_answer(content), "report": report},
            self._next_key(), store,
        )
        self.final_status = "completed"

    async def fail(self, code: str, message: str) -> None:
        await self._close_open(message)
        error = {"code": code, "message": message}

        async def store(session: AsyncSession) -> None:
            await chat_service.finish_active_run(session, self.request.run_id, "failed", error)

        await self._emit("agent_error", "supervisor", error, self._next_key(), store)
        self.final_status = "failed"

    async def cancelled(self) -> None:
        await self._close_open("cancelled by the user")

        async def store(session: AsyncSession) -> None:
            await chat_service.finish_active_run(session, self.request.run_id, "cancelled")

        await self._emit("run_cancelled", "supervisor", {}, self._next_key(), store)
        self.final_status = "cancelled"


def _timed(
    call: Callable[[], Awaitable[ToolOutcome]],
) -> Callable[[], Awaitable[tuple[ToolOutcome, float]]]:
    """The call, returning its own duration too: checkpointed with its result, so a
    resumed run reports how long the tool really took."""

    async def timed() -> tuple[ToolOutcome, float]:
        started = time.perf_counter()
        outcome = await call()
        return outcome, _ms_since(started)

    return timed


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


__all__ = [
    "AgentStep", "RunContext", "RunError", "RunRequest", "StoredLog", "ToolFailed",
    "ToolOutcome", "Turn",
]
