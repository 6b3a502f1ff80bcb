"""Chat tables: threads, messages and runs (a run's event log lives in realtime/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netra.db.base import Base, UTCDateTime, new_id, utcnow

ACTIVE_RUN_STATUSES = ("queued", "running")


class Thread(Base):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_user_updated", "user_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Threads are their user's; one shared into an organization its members may read.
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread_created", "thread_id", "created_at"),
        UniqueConstraint("user_id", "client_msg_id", name="uq_messages_user_client_msg"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    client_msg_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_user_status", "user_id", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(32))
    dataset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set by cancel_run: tells a stopped run "the user cancelled" from "it timed out".
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# A message and its run as the intake accepts them, before they are stored: their rows'
# columns as plain data. Building the ORM objects above cost a fifth of the acceptance
# time of a burst of a hundred messages, and the intake writes its rows with Core
# inserts anyway. Once stored, they are read back as Message and Run.


@dataclass
class NewMessage:
    id: str
    thread_id: str
    user_id: str
    content: str
    run_id: str
    client_msg_id: str | None
    created_at: datetime
    role: str = "user"
    report: dict[str, Any] | None = None


@dataclass
class NewRun:
    id: str
    thread_id: str
    user_id: str
    message_id: str
    dataset_id: str | None
    created_at: datetime
    status: str = "queued"
    error: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None
