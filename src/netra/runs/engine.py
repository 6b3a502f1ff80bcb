"""The run engine: every run executes as a durable workflow on one DBOS queue.

The queue lives in DBOS's system database (a SQLite file beside ours by default, a
schema of our PostgreSQL at scale), so any number of `netra serve` and `netra worker`
processes share it: it bounds runs at once per process, in all and, when configured, per
user (a user's partition), and a run waits there, durably, until some process takes it.

Each process also supervises the others, every `executor_heartbeat_s`: it beats its own
heartbeat, recovers the runs of processes that are gone (DBOS puts them back on the
queue, where they resume from their last finished step), and checks that every active
run is queued or executing somewhere, enqueueing one a crash left behind and ending one
whose workflow ended without saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS

from netra import __version__, metrics
from netra.chat import service as chat_service
from netra.db import Database
from netra.db.base import utcnow
from netra.realtime.bus import EventBus
from netra.runs import analysis, workflow
from netra.runs.liveness import Liveness, executor_id
from netra.runs.workflow import RunDriver, Team, end_from_outside, timed_out, timeout_message
from netra.settings import Settings

log = logging.getLogger(__name__)
QUEUE = "netra-runs"
# Recovery only resumes workflows of the same application version: every process of a
# deployment must agree on it, whatever code each happens to have loaded.
APP_VERSION = f"netra-{__version__}-runs-1"
# A run this old should be on the queue or executing; if not, the process that accepted
# it stopped before enqueueing it (or before ending it).
STRAGGLER_AFTER_S = 10.0
DEPTH_LIMIT = 10_000
# As many threads as asyncio's own default pool: the analyses' DuckDB queries run on it,
# and more threads on 2 cores made each run slower (oversubscription), not faster.
EXECUTOR_THREADS = min(32, (os.cpu_count() or 1) + 4)
SHUTDOWN_GRACE_S = 1.0
ANALYSES_AT_ONCE = 2
FORGET_AFTER = timedelta(days=7)  # processes gone this long leave the executors table
GIVEN_UP = ("The analysis stopped the server it ran on {n} times and was given up; ask again, "
            "or a narrower question.")


class _QuietCancellations(logging.Filter):
    """DBOS logs a stopped workflow as an error with a traceback; for a run, being
    cancelled or timing out is an ordinary end, reported to its user as such."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return "Cancelled" not in type(error).__name__


class RunEngine:
    """The one run executor: enqueues, cancels, executes (unless told not to) and
    supervises runs."""

    def __init__(self, settings: Settings, db: Database, bus: EventBus, team: Team, *,
                 analyser: analysis.Analyser, role: str, executes_runs: bool) -> None:
        self.settings = settings
        self.db = db
        self.analyser = analyser
        self.role = role
        self.executes_runs = executes_runs
        self.driver = RunDriver(settings, db, bus, team)
        self.liveness = Liveness(settings, db, executor_id(settings, role), role, executes_runs)
        self._supervisor: asyncio.Task[None] | None = None
        self._launched = False
        self._warned = False  # about several processes on unshared analytics
        self.queue_depth = 0
        self.live_workers = 0

    @property
    def executor_id(self) -> str:
        return self.liveness.me

    async def start(self) -> None:
        await self.liveness.register()
        self._launch()
        await DBOS.register_queue_async(
            QUEUE,
            worker_concurrency=self.settings.max_concurrent_runs,
            # Only processes sharing a PostgreSQL queue share a budget; alone (SQLite) a
            # global limit would cost a count of the queue on every poll for nothing.
            global_concurrency=(self.settings.max_concurrent_runs_total
                                if self.settings.database_url else None),
            # Partitioned only when a per-user cap is set: DBOS then claims each waiting
            # user's runs in a transaction of its own on every poll.
            partition_concurrency=self.settings.max_concurrent_runs_per_user,
            polling_interval_sec=self.settings.run_queue_poll_s,
            on_conflict="always_update",
        )
        # Dataset analyses: a few at a time per process (each keeps the cores busy).
        await DBOS.register_queue_async(analysis.QUEUE, worker_concurrency=ANALYSES_AT_ONCE,
                                        polling_interval_sec=1.0, on_conflict="always_update")
        await self.supervise()  # a restarted process resumes its predecessor's runs at once
        self._supervisor = asyncio.create_task(self._supervise_forever(), name="run-supervisor")

    def _launch(self) -> None:
        DBOS.destroy()  # a process holds one DBOS; tests start several apps in turn
        config: Any = {
            "name": "netra",
            "system_database_url": self.settings.runs_database_url,
            "application_version": APP_VERSION,
            "executor_id": self.executor_id,
            "log_level": "WARNING",
            # Also the pool asyncio.to_thread uses once DBOS is up (analytics queries):
            # bounded, where DBOS's default is not.
            "max_executor_threads": EXECUTOR_THREADS,
        }
        if self.settings.database_url:
            config["sys_db_pool_size"] = 10  # PostgreSQL's connections are shared by all
        else:
            config["system_database_engine"] = _sqlite_engine(self.settings.runs_database_url)
        DBOS(config=config)
        if not self.executes_runs:
            DBOS.listen_queues([])  # enqueue and cancel only
        dbos_log = logging.getLogger("dbos")
        if not any(isinstance(f, _QuietCancellations) for f in dbos_log.filters):
            dbos_log.addFilter(_QuietCancellations())
        workflow.install(self.driver if self.executes_runs else None)
        analysis.install(self.analyser if self.executes_runs else None)
        # Called on our event loop: DBOS then runs dequeued workflows on it.
        DBOS.launch()
        self._launched = True

    async def submit(self, run_id: str, user_id: str) -> None:
        """Put the run on the queue. Never fails the caller: a run that could not be
        enqueued now is enqueued by the next supervision round."""
        options: Any = {
            "workflow_name": workflow.WORKFLOW_NAME,
            "queue_name": QUEUE,
            "workflow_id": run_id,
            "queue_partition_key": (user_id if self.settings.max_concurrent_runs_per_user
                                    else None),
            "workflow_timeout": self.settings.run_timeout_s,
            "app_version": APP_VERSION,
        }
        try:
            await DBOS.enqueue_workflow_with_options_async(options, run_id)
        except Exception as error:
            log.warning("run %s not enqueued yet (%s); retrying shortly", run_id, error)

    async def dataset_changed(self, dataset_id: str, version: int) -> None:
        """Rows were added or removed: analyse the new version once they settle."""
        if self._launched:
            await analysis.after_import(dataset_id, version)

    async def cancel(self, run_id: str) -> None:
        """Stop the run wherever it executes. The process executing it ends it with
        `run_cancelled` within about a second; a run nobody executes is ended here."""
        status = await DBOS.get_workflow_status_async(run_id)
        await DBOS.cancel_workflow_async(run_id)
        if status is not None and status.status == "PENDING" \
                and await self._is_alive(status.executor_id):
            return
        await end_from_outside(self.driver, run_id, None)

    async def _is_alive(self, executor: str | None) -> bool:
        now = utcnow()
        return any(p.id == executor and self.liveness.is_alive(p, now)
                   for p in await self.liveness.peers())

    async def _supervise_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.executor_heartbeat_s)
            try:
                await self.supervise()
            except Exception:  # a database hiccup: try again next round
                log.exception("run supervision failed")

    async def supervise(self) -> None:
        """One round: heartbeat, take over the runs of processes that are gone, and
        make sure every active run is queued or executing."""
        await self.liveness.beat()
        now = utcnow()
        peers = await self.liveness.peers()
        live = {p.id for p in peers if self.liveness.is_alive(p, now)}
        self.live_workers = sum(1 for p in peers if p.id in live and p.executes_runs)
        if self.live_workers > 1 and not self.settings.shared_analytics and not self._warned:
            self._warned = True
            log.warning("%d processes execute runs but the analytics store is this "
                        "process's own: a run may execute where its dataset is not. Set "
                        "NETRA_ANALYTICS_URL to a ClickHouse server.", self.live_workers)
        dead = [p.id for p in peers if p.id not in live]
        if dead:
            await self._take_over(dead)
        await self.liveness.forget(older_than=now - FORGET_AFTER)
        await self._check_runs(live)
        self.queue_depth = len(await DBOS.list_workflows_async(
            status="ENQUEUED", queue_name=QUEUE, load_input=False, load_output=False,
            limit=DEPTH_LIMIT))
        metrics.RUN_QUEUE_DEPTH.set(self.queue_depth)

    async def _take_over(self, executors: list[str]) -> None:
        handles = await asyncio.to_thread(DBOS._recover_pending_workflows, executors)
        await self.liveness.taken_over(executors)
        if handles:
            metrics.RUNS_TAKEN_OVER.inc(len(handles))
            log.warning("took over %d run(s) of stopped process(es) %s", len(handles),
                        ", ".join(executors))

    async def _check_runs(self, live: set[str]) -> None:
        async with self.db.transaction() as session:
            runs = await chat_service.waiting_runs(
                session, utcnow() - timedelta(seconds=STRAGGLER_AFTER_S))
        if not runs:
            return
        workflows = {w.workflow_id: w for w in await DBOS.list_workflows_async(
            workflow_ids=[r.id for r in runs], load_input=False, load_output=False)}
        orphaned: set[str] = set()
        for run in runs:
            found = workflows.get(run.id)
            if found is None:
                metrics.RUNS_REQUEUED.inc()
                await self.submit(run.id, run.user_id)
            elif found.status == "PENDING" and found.executor_id not in live:
                orphaned.add(found.executor_id or "")
            elif found.status not in ("PENDING", "ENQUEUED", "DELAYED"):
                await self._end_stray(run.id, found, live)
        if orphaned:
            await self._take_over(sorted(orphaned))

    async def _end_stray(self, run_id: str, found: Any, live: set[str]) -> None:
        """The run's workflow ended (cancelled, timed out, given up) and no live
        process is ending the run: end it here."""
        updated_ms = found.updated_at or 0
        recently = utcnow().timestamp() * 1000 - updated_ms < STRAGGLER_AFTER_S * 1000
        if found.executor_id in live and recently:
            return  # its process is ending it right now
        if found.status == "CANCELLED":
            cancelled_by_user = await self._cancel_requested(run_id)
            if timed_out(found) and not cancelled_by_user:
                await end_from_outside(self.driver, run_id, "timeout",
                                       timeout_message(self.settings))
            else:
                await end_from_outside(self.driver, run_id, None)
        elif found.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED":
            await end_from_outside(self.driver, run_id, "given_up",
                                   GIVEN_UP.format(n=workflow.MAX_RECOVERY_ATTEMPTS))
        else:
            await end_from_outside(self.driver, run_id, "internal_error", workflow.UNEXPECTED)

    async def _cancel_requested(self, run_id: str) -> bool:
        async with self.db.transaction() as session:
            run = await chat_service.run_by_id(session, run_id)
        return run.cancel_requested_at is not None

    async def close(self) -> None:
        """Stop taking runs and let go of the ones executing here: they stay pending and
        resume from their last finished step, here after a restart or on a survivor."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if not self._launched:
            return
        # A run just answered is still recording its outcome: let it; the others stay
        # pending and resume from their last finished step.
        tasks = [t for t in _workflow_tasks() if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        workflow.install(None)
        analysis.install(None)
        await asyncio.to_thread(DBOS.destroy)
        # DBOS lent this loop its thread pool for asyncio.to_thread, and has shut it down.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        self._launched = False
        with contextlib.suppress(Exception):
            await self.liveness.stopped()


def _workflow_tasks() -> list[asyncio.Task[Any]]:
    """The asyncio tasks of the workflows executing in this process (DBOS keeps them)."""
    from dbos import _dbos

    instance = getattr(_dbos, "_dbos_global_instance", None)
    return list(getattr(instance, "_workflow_tasks", ()))


def _sqlite_engine(url: str) -> sa.Engine:
    """DBOS's SQLite system database as DBOS would open it (IMMEDIATE transactions, a
    long busy timeout), but in WAL mode with synchronous=NORMAL, as our own database:
    every step's checkpoint is a commit, and in DBOS's default rollback-journal mode
    each commit waited for several fsyncs. A committed checkpoint still survives the
    process being killed; only a power cut can lose the last ones (the step then runs
    again, as after any crash)."""
    Path(sa.make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def configure(connection: Any, _record: Any) -> None:
        connection.isolation_level = "IMMEDIATE"
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000",
                       "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")

    return engine
