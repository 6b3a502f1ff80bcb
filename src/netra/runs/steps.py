"""Checkpointed steps of a run's workflow, on DBOS.

A step's number is drawn when the call is made (`reserve`), not when it starts, so calls
made side by side keep the numbers of the order they were made in. Outside a workflow
(a unit test driving agents directly) a step simply runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

from dbos import DBOS
from dbos._error import DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError

T = TypeVar("T")

# Raised inside a run when it must stop where it stands: cancelled or timed out (DBOS
# cancels the workflow), or another process now owns it. BaseExceptions, so no
# `except Exception` swallows them; never reported as a failure of the run.
STOPPED: tuple[type[BaseException], ...] = (
    DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError,
)


class Step(Protocol):
    id: int

    async def run(self, name: str, call: Callable[[], Awaitable[T]], *,
                  long: bool = False) -> T: ...


class _DurableStep:
    def __init__(self) -> None:
        self._reservation = DBOS.reserve_step()
        self.id = self._reservation.step_id

    async def run(self, name: str, call: Callable[[], Awaitable[T]], *,
                  long: bool = False) -> T:
        # A long step (a model call) is preemptible: a cancellation or the run's deadline
        # stops it within about a second. Short ones (the analyses) are not: the watch
        # cost a third of a step's bookkeeping, and the run stops at the next step.
        options: Any = {"name": name, "preemptible": long}
        result: T = await cast(Any, self._reservation).run_async(options, call)
        return result


_plain_ids = itertools.count(1_000_000)


class _PlainStep:
    def __init__(self) -> None:
        self.id = next(_plain_ids)

    async def run(self, name: str, call: Callable[[], Awaitable[T]], *,
                  long: bool = False) -> T:
        return await call()


def current_step() -> int | None:
    """The number of the workflow step running now, if any."""
    step: int | None = DBOS.step_id
    return step


def reserve() -> Step:
    """The next step of the running workflow (or a plain call outside one)."""
    if DBOS.workflow_id is None:
        return _PlainStep()
    return _DurableStep()
