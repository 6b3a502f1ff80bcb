"""Analysis results kept per dataset version: computed once, read by every question."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from netra.db.base import Base, UTCDateTime, utcnow


class AnalysisResult(Base):
    """One tool's result (and its one-line summary) for one version of a dataset.

    `key` names the tool and its arguments (`cache.key`); a dataset's version changes
    whenever rows are added or removed, so an old version's results are simply never
    read again (and are dropped with the dataset).
    """

    __tablename__ = "analysis_results"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool: Mapped[str] = mapped_column(String(64))
    result: Mapped[Any] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(String(500))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
