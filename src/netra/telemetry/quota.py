"""Per-user quotas on stored telemetry: how many datasets, and how many rows in all.

One user must not be able to fill the disk every other user shares. Checked before each
import (a known count of incoming rows is checked whole: a demo, an ingestion batch); an
upload, whose row count is known only once read, is checked again after its import and
undone if it went over.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.errors import TooLarge
from netra.settings import Settings
from netra.telemetry.models import Dataset


@dataclass(frozen=True)
class Quota:
    datasets: int  # NETRA_MAX_DATASETS_PER_USER
    rows: int  # NETRA_MAX_ROWS_PER_USER, over all of the user's datasets

    @classmethod
    def of(cls, settings: Settings) -> Quota:
        return cls(datasets=settings.max_datasets_per_user, rows=settings.max_rows_per_user)


async def _held(session: AsyncSession, user_id: str) -> tuple[int, int]:
    """(datasets, rows) the user holds now."""
    query = select(func.count(Dataset.id), func.coalesce(func.sum(Dataset.rows), 0))
    count, rows = (await session.execute(query.where(Dataset.user_id == user_id))).one()
    return int(count), int(rows)


async def check_new_dataset(session: AsyncSession, user_id: str, quota: Quota,
                            rows: int = 0) -> None:
    """TooLarge unless the user may add a dataset of `rows` rows."""
    count, held = await _held(session, user_id)
    if count >= quota.datasets:
        raise TooLarge(f"you have {count:,} datasets; the limit is {quota.datasets:,} per user "
                       "(NETRA_MAX_DATASETS_PER_USER): delete one first")
    _check_rows(held, rows, quota)


async def check_rows(session: AsyncSession, user_id: str, quota: Quota, rows: int) -> None:
    """TooLarge unless the user may store `rows` more rows."""
    _, held = await _held(session, user_id)
    _check_rows(held, rows, quota)


def _check_rows(held: int, adding: int, quota: Quota) -> None:
    if held + adding > quota.rows or (adding == 0 and held >= quota.rows):
        raise TooLarge(f"your datasets hold {held:,} rows; adding {adding:,} would pass the "
                       f"limit of {quota.rows:,} rows per user (NETRA_MAX_ROWS_PER_USER): "
                       "delete a dataset first")
