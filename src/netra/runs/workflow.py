"""A run as a DBOS workflow: its id is the run id, its steps the run's tool and model calls.

The body is replayed on recovery (finished steps return their checkpoints), so it does
nothing that differs between attempts except through steps and the event keys of
`RunContext`. Whatever happens, a run ends with exactly one terminal event: an answer,
an `agent_error` naming the cause, or `run_cancelled`; a process that stops (a deploy,
a crash) ends nothing: the run resumes from its last finished step, here or elsewhere.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from dbos import DBOS
from sqlalchemy.exc import IntegrityError

from netra import metrics
from netra.analysis import cache
from netra.chat import service as chat_service
from netra.db import Database
from netra.errors import NetraError
from netra.realtime.bus import EventBus
from netra.realtime.events import events_after, stored_keys
from netra.realtime.writer import EventWriter, RunNotActive
from netra.runs import analysis
from netra.runs.context import RunContext, RunError, RunRequest, StoredLog, ToolFailed, Turn
from netra.runs.steps import STOPPED
from netra.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
WORKFLOW_NAME = "netra.run"
# A run that crashes its process this many times is given up (and says so) instead of
# taking down every process that picks it up.
MAX_RECOVERY_ATTEMPTS = 5
END_ATTEMPTS = 3
# What a run keeps of its thread: its latest turns, each bounded, and the report of the
# latest answer only (what follow-ups refer to). It is checkpointed with the run's first
# step, so it is kept to what the agents read (the model sees these turns).
HISTORY_TURNS = 12
TURN_CHARS = 4000
UNEXPECTED = ("The analysis failed unexpectedly; the error was logged. Try again, or ask a "
              "narrower question.")
Answer = tuple[str, dict[str, Any]]


class Team(Protocol):
    async def answer(self, ctx: RunContext) -> Answer: ...


class RunDriver:
    """Drives one run's workflow body; one per process, installed by the run engine."""

    def __init__(self, settings: Settings, db: Database, bus: EventBus, team: Team) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.team = team
        self.events = EventWriter(db)

    async def execute(self, run_id: str) -> str:
        request = await DBOS.run_step_async({"name": "start_run"}, self._start, run_id)
        if request is None:
            return "ended before it started"
        request, stored, results = await self._read_start(request)
        ctx = RunContext(request, self.events, self.bus, stored)
        ctx.results = results
        if (request.dataset_id is not None and request.dataset_version is not None
                and results is None):
            # Wait for (or start) the one analysis of this version, then read it all.
            # Whether it was complete is part of the first step: a replay takes the same
            # branch.
            await ctx.think("supervisor", "Analysing this version of the dataset (once: "
                            "later questions read the results back).", key="analysing")
            await analysis.ensure_analysed(request.dataset_id, request.dataset_version)
            ctx.results = await analysis.Kept.read(self.db, request.dataset_id,
                                                   request.dataset_version)
        started = time.perf_counter()
        try:
            await self._answer(ctx)
        except RunNotActive:
            return "ended elsewhere"  # its terminal event is stored; nothing may follow
        finally:
            metrics.RUN_SECONDS.observe(time.perf_counter() - started)
            if ctx.final_status:
                metrics.RUNS.labels(status=ctx.final_status).inc()
        return ctx.final_status or "stopped"

    async def _answer(self, ctx: RunContext) -> None:
        if ctx.resumed:
            metrics.RUNS_RESUMED.inc()
            await ctx.think("supervisor", "Resumed after an interruption: continuing from the "
                            "last finished step.", key=f"r{ctx.seq}")
        try:
            content, report = await self.team.answer(ctx)
        except STOPPED:
            await self._stopped(ctx)
            raise  # DBOS parks this execution: the workflow's outcome is not ours to record
        except (RunError, NetraError) as error:
            await ctx.fail(error.code, error.message)
            return
        except ToolFailed as error:
            log.warning("run %s: %s", ctx.request.run_id, error)
            await ctx.fail("tool_failed", f"{error}. Try again, or ask a narrower question.")
            return
        except RunNotActive:
            raise
        except Exception:
            log.exception("run %s failed", ctx.request.run_id)
            await ctx.fail("internal_error", UNEXPECTED)
            return
        await ctx.complete(content, report)

    async def _start(self, run_id: str) -> RunRequest | None:
        """Mark the run running and read what it was asked: once, so that a resumed run
        answers the same question with the same history."""
        async with self.db.transaction() as session:
            run = await chat_service.start_run(session, run_id)
            if run is None:
                return None
            # The turns a run uses, its own question, and an overlapping question or two.
            history = await chat_service.thread_history(session, run.thread_id,
                                                        limit=HISTORY_TURNS + 3)
            question = next((m.content for m in history if m.id == run.message_id), "")
            history = [m for m in history
                       if m.id != run.message_id and m.created_at <= run.created_at]
            history = history[-HISTORY_TURNS:]
        earlier = [Turn(m.role, m.content[:TURN_CHARS]) for m in history]
        version = run.dataset_version
        analysed = (run.dataset_id is not None and version is not None
                    and await cache.is_complete(self.db, run.dataset_id, version))
        return RunRequest(run_id=run.id, thread_id=run.thread_id, user_id=run.user_id,
                          message_id=run.message_id, dataset_id=run.dataset_id,
                          question=question, history=earlier, dataset_version=version,
                          version_analysed=analysed,
                          answer_ids=tuple(m.id for m in reversed(history) if m.role != "user"))

    async def _read_start(
        self, request: RunRequest,
    ) -> tuple[RunRequest, StoredLog, analysis.Kept | None]:
        """What every attempt reads afresh, in one transaction: the events already
        stored, the report follow-ups refer to, and the version's kept results (when its
        analysis was complete as the run started)."""
        async with self.db.transaction() as session:
            last_seq, keys = await stored_keys(session, request.run_id)
            report = await chat_service.latest_report(session, request.answer_ids)
            results = None
            if (request.version_analysed and request.dataset_id is not None
                    and request.dataset_version is not None):
                results = await analysis.Kept.read_in(self.db, session, request.dataset_id,
                                                      request.dataset_version)
        if report is not None:
            request = replace(request, previous_report=report)
        return request, StoredLog(last_seq, keys), results

    async def _stopped(self, ctx: RunContext) -> None:
        """DBOS stopped the workflow: cancelled by the user, past its deadline, or taken
        over by another process. End the run accordingly (unless it is no longer ours)."""
        status = await outside_workflow(DBOS.get_workflow_status_async(ctx.request.run_id))
        if status is not None and status.status in ("PENDING", "ENQUEUED"):
            return  # another execution owns the run now and carries on
        async with self.db.transaction() as session:
            run = await chat_service.run_by_id(session, ctx.request.run_id)
        try:
            if run.cancel_requested_at is not None or not timed_out(status):
                await ctx.cancelled()  # by the user (or an operator, through DBOS)
            else:
                await ctx.fail("timeout", timeout_message(self.settings))
        except RunNotActive:
            pass  # the canceller ended it first


async def outside_workflow(call: Coroutine[Any, Any, T]) -> T:
    """Await a DBOS call as a plain call, not as a step of the running workflow (a
    stopped workflow may record no more steps)."""
    return await contextvars.Context().run(asyncio.ensure_future, call)


def timed_out(status: Any) -> bool:
    deadline = getattr(status, "workflow_deadline_epoch_ms", None)
    return deadline is not None and deadline <= time.time() * 1000


def timeout_message(settings: Settings) -> str:
    return f"The analysis took longer than {settings.run_timeout_s:g} s and was stopped."


async def end_from_outside(driver: RunDriver, run_id: str, code: str | None,
                           message: str = "") -> bool:
    """End a run no attempt is executing (cancelled while queued, its workflow given up
    or cancelled with its process gone): close what its log left open, then its terminal
    event. `code` None means cancelled. False if it had already ended."""
    for attempt in range(END_ATTEMPTS):
        async with driver.db.transaction() as session:
            run = await chat_service.run_by_id(session, run_id)
            stored = await events_after(session, run_id=run.id, thread_id=run.thread_id,
                                        after_seq=0)
        request = RunRequest(run_id=run.id, thread_id=run.thread_id, user_id=run.user_id,
                             message_id=run.message_id, dataset_id=run.dataset_id,
                             question="")
        ctx = RunContext.from_log(request, driver.events, driver.bus, stored)
        try:
            if code is None:
                await ctx.cancelled()
            else:
                await ctx.fail(code, message)
        except RunNotActive:
            return False
        except IntegrityError:
            # An attempt that had not yet seen the end stored an event meanwhile (its
            # `seq` is now taken): read the log again and end after it.
            if attempt == END_ATTEMPTS - 1:
                raise
            continue
        metrics.RUNS.labels(status=ctx.final_status or "failed").inc()
        return True
    return False


_driver: RunDriver | None = None


def install(driver: RunDriver | None) -> None:
    """The driver this process's workflows run with (None once the engine stops)."""
    global _driver
    _driver = driver


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
async def run_workflow(run_id: str) -> str:
    if _driver is None:
        raise RuntimeError("no run driver installed in this process")
    return await _driver.execute(run_id)
