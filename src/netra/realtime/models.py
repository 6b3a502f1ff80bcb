"""The durable run-event log: `resume` and GET /api/runs/{id}/events replay from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netra.db.base import Base, UTCDateTime


class RunEvent(Base):
    __tablename__ = "run_events"
    # An event's identity within its run, from the run's own step numbering (never a
    # clock): a step executed again after a crash stores only what its first attempt
    # had not, so the log stays 1..n without duplicates.
    __table_args__ = (UniqueConstraint("run_id", "key", name="uq_run_events_run_key"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    key: Mapped[str | None] = mapped_column(String(64), nullable=True)
