"""The processes that execute runs, and when each was last seen alive.

DBOS records which executor owns each workflow but not whether that executor still
lives; this table is how a survivor tells a dead process from a busy one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from netra.db.base import Base, UTCDateTime, utcnow


class Executor(Base):
    __tablename__ = "executors"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # serve, worker, cli
    executes_runs: Mapped[bool]
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The survivor that recovered this executor's runs, once it was found dead or stopped.
    taken_over_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
