"""Results per dataset version: what a tool answered for these arguments, read back by
every later question on the same version instead of being computed again.

The results of one version never change (a new row makes a new version), so there is
nothing to invalidate: a question on a newer version simply finds nothing cached yet.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from netra.analysis.models import AnalysisResult
from netra.db import Database
from netra.telemetry.models import Dataset

# Written last by the background analysis of a version: everything standard is in.
COMPLETE = "analysed"
_TABLE = cast(Table, AnalysisResult.__table__)


@dataclass(frozen=True)
class Cached:
    tool: str
    result: Any
    summary: str


def key(tool: str, args: dict[str, Any]) -> str:
    """The name of a tool call's result: the tool and its arguments, canonically."""
    canonical = json.dumps([tool, args], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def read_all(db: Database, dataset_id: str, version: int) -> dict[str, Cached]:
    """Every result kept for this version (one query: a run reads them once)."""
    async with db.transaction() as session:
        return await read_all_in(session, dataset_id, version)


async def read_all_in(session: AsyncSession, dataset_id: str, version: int,
                      ) -> dict[str, Cached]:
    rows = await session.execute(
        select(AnalysisResult.key, AnalysisResult.tool, AnalysisResult.result,
               AnalysisResult.summary)
        .where(AnalysisResult.dataset_id == dataset_id, AnalysisResult.version == version))
    return {k: Cached(tool, result, summary) for k, tool, result, summary in rows.tuples()}


async def is_complete(db: Database, dataset_id: str, version: int) -> bool:
    """Whether the version's analysis is complete. A version once complete stays so (its
    results never change), so this process remembers the answer: most questions land on
    versions it has already seen complete, and then cost no transaction."""
    if (dataset_id, version) in _complete:
        return True
    async with db.transaction() as session:
        found = await session.scalar(
            select(AnalysisResult.key).where(
                AnalysisResult.dataset_id == dataset_id, AnalysisResult.version == version,
                AnalysisResult.key == COMPLETE))
    if found is not None:
        _remember_complete(dataset_id, version)
    return found is not None


_complete: OrderedDict[tuple[str, int], None] = OrderedDict()
_COMPLETE_REMEMBERED = 10_000


def _remember_complete(dataset_id: str, version: int) -> None:
    _complete[(dataset_id, version)] = None
    _complete.move_to_end((dataset_id, version))
    while len(_complete) > _COMPLETE_REMEMBERED:
        _complete.popitem(last=False)


async def write(db: Database, dataset_id: str, version: int,
                entries: dict[str, Cached]) -> bool:
    """Keep these results; one already kept wins (the same call gives the same answer).
    False when the dataset is gone."""
    if not entries:
        return True
    try:
        async with db.transaction() as session:
            await _insert(session, dataset_id, version, entries)
    except IntegrityError:
        if await _exists(db, dataset_id):
            raise
        # The dataset was deleted while its analysis ran: there is nothing left to keep.
        return False
    return True


async def _exists(db: Database, dataset_id: str) -> bool:
    async with db.transaction() as session:
        return await session.scalar(select(Dataset.id).where(Dataset.id == dataset_id)) is not None


async def _insert(session: AsyncSession, dataset_id: str, version: int,
                  entries: dict[str, Cached]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [{"dataset_id": dataset_id, "version": version, "key": k, "tool": c.tool,
             "result": c.result, "summary": c.summary[:500]} for k, c in entries.items()]
    await session.execute(dialect.insert(_TABLE).on_conflict_do_nothing(), rows)


async def mark_complete(db: Database, dataset_id: str, version: int) -> None:
    if await write(db, dataset_id, version, {COMPLETE: Cached(COMPLETE, None, "")}):
        _remember_complete(dataset_id, version)
