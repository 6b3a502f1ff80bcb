"""The dataset catalogue lives in the relational database; its rows live in the
analytics store (DuckDB or ClickHouse), keyed by dataset id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from netra.db.base import Base, UTCDateTime, new_id, utcnow


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (
        Index("ix_datasets_user_created", "user_id", "created_at"),
        Index("ix_datasets_organization_created", "organization_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Who made it (quotas count per user); the organization is whose it is.
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    rejected_rows: Mapped[int] = mapped_column(Integer, default=0)
    first_ts: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_ts: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    total_cost_usd: Mapped[float] = mapped_column(Numeric(18, 6, asdecimal=False), default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Rises whenever rows are added (or removed): analysis results are kept per version.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class IngestedRequest(Base):
    """A request_id the ingestion API has taken into a dataset.

    Its primary key is what makes a re-sent record a duplicate, whichever `netra serve`
    process receives it: the service claims a batch's ids in the request's transaction
    (INSERT … ON CONFLICT DO NOTHING), so a second claim of the same id waits for the first
    transaction and then finds it taken.
    """

    __tablename__ = "ingested_requests"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    # sha256 (hex) of the request_id as the analytics store keeps it: fixed width, as an
    # id may be 2,000 characters, past what a PostgreSQL index entry may hold.
    request_key: Mapped[str] = mapped_column(String(64), primary_key=True)
