"""The run executor: takes queued runs and drives the agent team through them.

One Protocol; the in-process implementation runs each run as an asyncio task, at most
`max_concurrent_runs` at a time (others wait their turn, visibly), each bounded by
`run_timeout_s`. A run always ends with exactly one terminal event, whatever happens:
an answer, an `agent_error` naming the cause, or `run_cancelled`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from netra import metrics
from netra.agents.context import RunContext, RunRequest, Turn
from netra.agents.llm import LanguageModelError
from netra.agents.team import AgentTeam
from netra.chat import service as chat_service
from netra.chat.models import Run
from netra.db import Database
from netra.errors import NetraError
from netra.realtime.bus import EventBus
from netra.realtime.events import events_after
from netra.realtime.writer import EventWriter
from netra.settings import Settings

log = logging.getLogger(__name__)
CANCEL_REQUEST = "cancel_request"


class RunExecutor(Protocol):
    name: str

    async def submit(self, run_id: str) -> None: ...
    async def cancel(self, run_id: str, user_id: str) -> None: ...
    def on_control(self, message: dict[str, Any]) -> None: ...
    def active(self) -> int: ...
    async def recover_interrupted(self) -> int: ...
    async def close(self) -> None: ...


class InProcessRunExecutor:
    name = "in-process"

    def __init__(self, settings: Settings, db: Database, bus: EventBus, team: AgentTeam) -> None:
        self._settings = settings
        self._db = db
        self._bus = bus
        self._team = team
        self._events = EventWriter(db)
        self._slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancel_requested: set[str] = set()
        self._driving: set[str] = set()  # runs whose context exists and can end visibly

    def active(self) -> int:
        return len(self._tasks)

    async def submit(self, run_id: str) -> None:
        task = asyncio.create_task(self._execute(run_id), name=f"run-{run_id}")
        self._tasks[run_id] = task
        metrics.ACTIVE_RUNS.inc()
        task.add_done_callback(lambda _t: self._forget(run_id))

    def _forget(self, run_id: str) -> None:
        self._tasks.pop(run_id, None)
        self._cancel_requested.discard(run_id)
        self._driving.discard(run_id)
        metrics.ACTIVE_RUNS.dec()

    async def cancel(self, run_id: str, user_id: str) -> None:
        if not self._cancel_local(run_id):
            # Another instance may be executing it: ask them all over the bus.
            await self._bus.publish(user_id, {"type": CANCEL_REQUEST, "run_id": run_id})

    def on_control(self, message: dict[str, Any]) -> None:
        if message.get("type") == CANCEL_REQUEST:
            self._cancel_local(str(message.get("run_id")))

    def _cancel_local(self, run_id: str) -> bool:
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return False
        self._cancel_requested.add(run_id)
        if run_id in self._driving:  # else _drive sees the request once it has started
            task.cancel()
        return True

    async def _load(self, run_id: str) -> RunRequest | None:
        async with self._db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None or run.status != "queued":
                return None
            history = await chat_service.thread_history(session, run.thread_id)
        question = next((m.content for m in history if m.id == run.message_id), "")
        earlier = [Turn(m.role, m.content, m.report) for m in history if m.id != run.message_id]
        return RunRequest(run_id=run.id, thread_id=run.thread_id, user_id=run.user_id,
                          message_id=run.message_id, dataset_id=run.dataset_id,
                          question=question, history=earlier)

    async def _execute(self, run_id: str) -> None:
        request = await self._load(run_id)
        if request is None:
            return
        # seq 1, the supervisor's agent_started, was stored and sent with the message
        ctx = RunContext(request, self._events, self._bus, seq=1)
        self._driving.add(run_id)
        started = time.perf_counter()
        try:
            await self._drive(ctx)
        except asyncio.CancelledError:
            if run_id in self._cancel_requested:
                await ctx.cancelled()
            else:  # the server is shutting down: end the run visibly, then let go
                await ctx.fail("shutdown", "The server stopped during this run; ask again.")
                raise
        except TimeoutError:
            await ctx.fail("timeout", f"The analysis took longer than "
                           f"{self._settings.run_timeout_s:g} s and was stopped.")
        except LanguageModelError as error:
            await ctx.fail(error.code, error.message)
        except NetraError as error:
            await ctx.fail(error.code, error.message)
        except Exception:
            log.exception("run %s failed", run_id)
            await ctx.fail("internal_error", "The analysis failed unexpectedly; the error "
                           "was logged. Try again, or ask a narrower question.")
        finally:
            metrics.RUN_SECONDS.observe(time.perf_counter() - started)
            metrics.RUNS.labels(status=ctx.final_status or "failed").inc()

    async def _drive(self, ctx: RunContext) -> None:
        if ctx.request.run_id in self._cancel_requested:
            raise asyncio.CancelledError
        if self._slots.locked():
            await ctx.think("supervisor", "Every analysis slot is busy; this run starts next.")
        async with self._slots:
            async with self._db.transaction() as session:
                if await chat_service.mark_running(session, ctx.request.run_id) is None:
                    raise asyncio.CancelledError
            async with asyncio.timeout(self._settings.run_timeout_s):
                content, report = await self._team.answer(ctx)
        await ctx.complete(content, report)

    async def recover_interrupted(self) -> int:
        """End runs a stopped process left open, so no client waits on them forever."""
        async with self._db.transaction() as session:
            runs = await chat_service.interrupted_runs(session)
            pending = []
            for run in runs:
                stored = await events_after(session, run_id=run.id, thread_id=run.thread_id,
                                            after_seq=0)
                pending.append((run, stored))
        for run, stored in pending:
            request = RunRequest(run_id=run.id, thread_id=run.thread_id, user_id=run.user_id,
                                 message_id=run.message_id, dataset_id=run.dataset_id,
                                 question="")
            ctx = RunContext(request, self._events, self._bus)
            ctx.resume_numbering(stored)
            await ctx.fail("interrupted", "The server restarted during this run; ask again.")
        return len(pending)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

