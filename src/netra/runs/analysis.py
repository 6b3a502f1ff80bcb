"""The analysis of a dataset version, as a durable job on the run engine.

Once rows settle after an import or an ingestion (debounced: a stream of ingestion
batches makes one job, for the latest version), one workflow computes the standard
results (profile, overview, breakdowns, latency, errors, providers, all eight finders),
then what the question most asked derives from them (its action plan), and keeps them
per version (`analysis.cache`). A question that arrives first starts the
same workflow (its id names the dataset and version, so two questions make one
computation) and waits for it; every later question reads the results back.

Each result is a step: a job cut short by a crash resumes from the last finished one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS, Debouncer, SetWorkflowID
from sqlalchemy.ext.asyncio import AsyncSession

from netra import metrics
from netra.analysis import cache
from netra.analysis.findings import analysis_run, side_by_side
from netra.db import Database
from netra.runs.context import ToolOutcome
from netra.runs.steps import reserve
from netra.telemetry.store import AnalyticsStore

log = logging.getLogger(__name__)
WORKFLOW_NAME = "netra.analyse"
SETTLED_WORKFLOW_NAME = "netra.analyse_when_settled"
QUEUE = "netra-analysis"
SETTLE_S = 5.0  # ingestion batches closer together than this make one analysis
# (tool, args without the dataset id, the call) for the standard results of a dataset.
StandardCall = tuple[str, dict[str, Any], Callable[[], Awaitable[ToolOutcome]]]
Standard = Callable[[AnalyticsStore, str], list[StandardCall]]
# (tool, args as a run passes them, the call), from the standard results kept (a lookup
# by tool and args): results a question derives from them, kept with them.
FollowUps = Callable[[Callable[[str, dict[str, Any]], ToolOutcome | None], str],
                     list[StandardCall]]


def workflow_id(dataset_id: str, version: int) -> str:
    return f"analyse-{dataset_id}-v{version}"


class Analyser:
    """Computes and keeps a version's standard results; one per process."""

    def __init__(self, db: Database, store: AnalyticsStore, standard: Standard,
                 follow_ups: FollowUps | None = None) -> None:
        self.db = db
        self.store = store
        self.standard = standard
        self.follow_ups = follow_ups

    async def analyse(self, dataset_id: str, version: int) -> int:
        """The workflow's body: the results not kept yet, each a step; how many."""
        done = await DBOS.run_step_async({"name": "already_analysed"}, cache.is_complete,
                                         self.db, dataset_id, version)
        if done:
            return 0
        calls = self.standard(self.store, dataset_id)
        # Each a step, numbered here in order (they then run three at a time).
        steps = [self._kept(dataset_id, version, name, args, call)
                 for name, args, call in calls]
        with analysis_run():  # the finders share the dataset's keys, window and traffic
            await side_by_side(steps)
        if self.follow_ups is not None:
            await DBOS.run_step_async({"name": "follow_ups"}, self._keep_follow_ups,
                                      dataset_id, version)
        await DBOS.run_step_async({"name": "mark_analysed"}, cache.mark_complete,
                                  self.db, dataset_id, version)
        metrics.DATASET_ANALYSES.inc()  # once every result is kept: a question reads them all
        return len(steps)

    async def _keep_follow_ups(self, dataset_id: str, version: int) -> int:
        """One step: the results derived from the standard ones, kept with them."""
        assert self.follow_ups is not None
        kept = await Kept.read(self.db, dataset_id, version)
        entries = {}
        for name, args, call in self.follow_ups(kept.lookup, dataset_id):
            outcome = await call()
            entries[cache.key(name, args)] = cache.Cached(name, outcome.result, outcome.summary)
        if entries:
            await cache.write(self.db, dataset_id, version, entries)
        return len(entries)

    def _kept(self, dataset_id: str, version: int, name: str, args: dict[str, Any],
              call: Callable[[], Awaitable[ToolOutcome]]) -> Callable[[], Awaitable[str]]:
        """A step that computes one result and keeps it for the version."""
        step = reserve()

        async def compute_and_keep() -> str:
            outcome = await call()
            entry = cache.Cached(name, outcome.result, outcome.summary)
            await cache.write(self.db, dataset_id, version,
                              {cache.key(name, {"dataset_id": dataset_id, **args}): entry})
            return outcome.summary

        async def run() -> str:
            return await step.run(name, compute_and_keep)

        return run


class Kept:
    """The results kept for one dataset version, as a run reads them (one query, at the
    run's start), and keeps what it computes anew (a parameter no one asked before)."""

    def __init__(self, db: Database, dataset_id: str, version: int,
                 entries: dict[str, cache.Cached]) -> None:
        self._db = db
        self._dataset_id = dataset_id
        self._version = version
        self._entries = entries

    @classmethod
    async def read(cls, db: Database, dataset_id: str, version: int) -> Kept:
        return cls(db, dataset_id, version, await cache.read_all(db, dataset_id, version))

    @classmethod
    async def read_in(cls, db: Database, session: AsyncSession, dataset_id: str,
                      version: int) -> Kept:
        """The same, in a transaction the run opened for its other start-up reads."""
        return cls(db, dataset_id, version,
                   await cache.read_all_in(session, dataset_id, version))

    def lookup(self, tool: str, args: dict[str, Any]) -> ToolOutcome | None:
        found = self._entries.get(cache.key(tool, args))
        return None if found is None else ToolOutcome(found.result, found.summary)

    def keeping(self, tool: str, args: dict[str, Any],
                call: Callable[[], Awaitable[ToolOutcome]],
                ) -> Callable[[], Awaitable[ToolOutcome]]:
        async def compute_and_keep() -> ToolOutcome:
            outcome = await call()
            entry = cache.Cached(tool, outcome.result, outcome.summary)
            self._entries[cache.key(tool, args)] = entry
            await cache.write(self._db, self._dataset_id, self._version,
                              {cache.key(tool, args): entry})
            return outcome

        return compute_and_keep


_analyser: Analyser | None = None


def install(analyser: Analyser | None) -> None:
    global _analyser
    _analyser = analyser


@DBOS.workflow(name=WORKFLOW_NAME)
async def analyse_workflow(dataset_id: str, version: int) -> int:
    if _analyser is None:
        raise RuntimeError("no analyser installed in this process")
    return await _analyser.analyse(dataset_id, version)


@DBOS.workflow(name=SETTLED_WORKFLOW_NAME)
async def settled_workflow(dataset_id: str, version: int) -> None:
    """What the debounce starts: the version's own analysis (one id for it, whoever
    starts it first)."""
    await ensure_analysed(dataset_id, version)


async def after_import(dataset_id: str, version: int) -> None:
    """Analyse the dataset once its rows settle (debounced per dataset: the last version
    wins). Never fails the import: a question on a version not analysed yet starts the
    analysis itself."""
    try:
        debouncer = Debouncer.create_async(settled_workflow, queue=QUEUE)
        await debouncer.debounce_async(f"analyse-{dataset_id}", SETTLE_S, dataset_id, version)
    except Exception as error:
        log.warning("dataset %s v%d: background analysis not scheduled (%s)", dataset_id,
                    version, error)


async def ensure_analysed(dataset_id: str, version: int) -> None:
    """From a run: start the version's analysis (or join the one under way), and wait
    for it. Its id is the dataset's and version's, so however many questions arrive
    together, it is computed once."""
    with SetWorkflowID(workflow_id(dataset_id, version)):
        handle = await DBOS.start_workflow_async(analyse_workflow, dataset_id, version)
    await handle.get_result()
