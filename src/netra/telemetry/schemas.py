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
    # Rises whenever rows are added or deleted; answers read the analysis of a version.
    version: int


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
    unlocks: str | None = Field(default=None, description="the analyses the field makes "
                                "possible")  # fmt: skip


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


class RequestsDeleted(BaseModel):
    deleted: int  # requests removed
    dataset: Dataset  # after the deletion (a new version when any went)


class PreviewColumn(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description="the column (or JSON key) as the file names it")
    field: str | None = Field(description="the record field it is read as; null: kept as "
                              "metadata")  # fmt: skip
    note: str | None = Field(default=None, description="why it is not read as a field")
    scale: float = Field(default=1.0, description="its values × scale are the field's unit "
                         "(1000: seconds read as milliseconds)")  # fmt: skip


class DatasetPreview(UploadReport):
    """How the head of a file would be imported: nothing is stored."""

    format: str = Field(description="the format detected (or chosen)")
    columns: list[PreviewColumn] | None = Field(
        description="tabular formats: each column and the field it is read as; null for "
        "formats that map their own fields")
    sample: list[dict[str, Any]] = Field(
        description="the first rows as they would be stored (every field, cost_usd priced)")
    rows: int = Field(description="rows of the head that would be kept")
    rejected: int = Field(description="rows of the head that would be rejected")
    rejects: list[Reject] = Field(description="the first 100 of them, with their reasons")
    truncated: bool = Field(description="only the head of a longer file was read")
