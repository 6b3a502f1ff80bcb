"""Dataset request and response bodies (PROTOCOL.md, Datasets)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from netra.db.base import isoformat_z

UtcTime = Annotated[datetime, PlainSerializer(isoformat_z, return_type=str)]

MAX_DEMO_ROWS = 1_000_000
MAX_INGEST_RECORDS = 10_000


class Dataset(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    format: str
    rows: int
    rejected_rows: int
    first_ts: UtcTime | None
    last_ts: UtcTime | None
    total_cost_usd: float
    created_at: UtcTime


class Reject(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line: int
    reason: str


class DatasetUploaded(Dataset):
    rejects: list[Reject] = Field(description="the first 100 rejected rows")
    unpriced_models: list[str] = Field(default_factory=list)


class DemoCreate(BaseModel):
    rows: Annotated[int, Field(ge=100, le=MAX_DEMO_ROWS)] = 20_000
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 42
    clean: bool = Field(default=False, description="plant no inefficiency")
    name: Annotated[str | None, Field(max_length=200)] = None


class DatasetCreate(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class IngestAccepted(BaseModel):
    accepted: int
    rejected: int
    rejects: list[Reject]
