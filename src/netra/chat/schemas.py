"""Chat I/O shapes, exactly as PROTOCOL.md writes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from netra.chat.models import Message as MessageRow
from netra.chat.models import NewMessage, NewRun
from netra.chat.models import Run as RunRow
from netra.chat.models import Thread as ThreadRow
from netra.db.base import isoformat_z
from netra.web.markdown import render_answer


class ThreadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=200)


class ThreadUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)


class ThreadShare(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization_id: str | None = Field(
        max_length=64, description="share into this organization; null: keep it to yourself")


class MessageCreate(BaseModel):
    content: str = Field(min_length=1)
    dataset_id: str | None = None
    client_msg_id: str | None = Field(
        default=None, max_length=128,
        description="retry key: re-sending it answers the first message's acceptance; "
        "empty or blank is the same as none")

    @field_validator("client_msg_id")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None


class Thread(BaseModel):
    id: str
    title: str
    dataset_id: str | None
    user_id: str = Field(default="", description="whose it is: only they write to it")
    organization_id: str | None = Field(
        default=None, description="the organization it is shared into, if any")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: ThreadRow) -> Thread:
        return cls(
            id=row.id,
            title=row.title,
            dataset_id=row.dataset_id,
            user_id=row.user_id,
            organization_id=row.organization_id,
            created_at=isoformat_z(row.created_at),
            updated_at=isoformat_z(row.updated_at),
        )


class Message(BaseModel):
    id: str
    thread_id: str
    role: Literal["user", "assistant"]
    content: str
    run_id: str | None
    created_at: str
    report: dict[str, Any] | None = None
    content_html: str  # the content rendered to safe HTML (extension of PROTOCOL.md)

    @classmethod
    def of(cls, row: MessageRow | NewMessage) -> Message:
        return cls(
            content_html=render_answer(row.content),
            id=row.id,
            thread_id=row.thread_id,
            role=row.role,
            content=row.content,
            run_id=row.run_id,
            report=row.report,
            created_at=isoformat_z(row.created_at),
        )


class Run(BaseModel):
    id: str
    thread_id: str
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    dataset_id: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: dict[str, Any] | None = None

    @classmethod
    def of(cls, row: RunRow | NewRun) -> Run:
        def z(value: Any) -> str | None:
            return isoformat_z(value) if value is not None else None

        return cls(
            id=row.id,
            thread_id=row.thread_id,
            status=row.status,
            dataset_id=row.dataset_id,
            created_at=isoformat_z(row.created_at),
            started_at=z(row.started_at),
            finished_at=z(row.finished_at),
            error=row.error,
        )


class MessageAccepted(BaseModel):
    message: Message
    run: Run
