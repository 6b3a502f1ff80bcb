"""Dataset request and response bodies (PROTOCOL.md, Datasets)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from netra.db.base import isoformat_z
from netra.telemetry.import_report import ImportReport

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


class FieldReport(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str = Field(description="a record field (TELEMETRY.md)")
    present_pct: float = Field(description="share of the imported rows that carry it, 0..100")
    note: str | None = Field(default=None, description="what its absence means, or the "
                             "importer's word on it")  # fmt: skip


class UploadReport(BaseModel):
    """What an import kept, what its source lacked, and why (beside rows and rejects)."""

    kept: dict[str, int] = Field(
        default_factory=dict,
        description="calls kept without token usage: failed_calls_without_usage (0 tokens, "
        "$0) and usage_unknown (tokens and cost unknown, left out of their sums)",
    )
    fields: list[FieldReport] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="the report in words")

    @staticmethod
    def of(report: ImportReport) -> dict[str, Any]:
        """The report's fields, to build a response with."""
        return {
            "kept": dict(report.kept),
            "fields": [FieldReport.model_validate(f) for f in report.fields],
            "notes": list(report.notes),
        }


class DatasetUploaded(Dataset, UploadReport):
    rejects: list[Reject] = Field(description="the first 100 rejected rows")
    unpriced_models: list[str] = Field(default_factory=list)


class DemoCreate(BaseModel):
    rows: Annotated[int, Field(ge=100, le=MAX_DEMO_ROWS)] = 20_000
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 42
    clean: bool = Field(default=False, description="plant no inefficiency")
    name: Annotated[str | None, Field(max_length=200)] = None


class DatasetCreate(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class IngestAccepted(UploadReport):
    accepted: int
    rejected: int
    rejects: list[Reject]
