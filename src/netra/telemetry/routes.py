"""Dataset HTTP routes (PROTOCOL.md, Datasets): parse, call the service, answer."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, cast

from fastapi import APIRouter, BackgroundTasks, Body, Request, Response, status
from python_multipart.multipart import MultipartParser, parse_options_header

from netra.auth.deps import CurrentUser
from netra.deps import AppComponents, DbSession
from netra.errors import BadRequest, TooLarge
from netra.orgs import audit
from netra.orgs.deps import CurrentAccess, CurrentActor, CurrentIngester, client_address
from netra.telemetry import schemas
from netra.telemetry import service as datasets
from netra.telemetry.importers import FORMATS
from netra.telemetry.preview import PREVIEW_BYTES, cut_to_whole_lines, preview
from netra.telemetry.quota import Quota
from netra.telemetry.schema import defaults_of
from netra.telemetry.uploads import UPLOAD_SUFFIX, uploads_dir

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

router = APIRouter(tags=["datasets"])

_FIELDS = ("format", "name", "default_model", "default_provider")
_MAX_FIELD_BYTES = 1024
_MULTIPART_OVERHEAD = 64 * 1024  # headers and small fields around the file


class _Form:
    """Receives multipart callbacks: the `file` part goes straight to disk, fields to memory.

    With `cut`, a file past max_file_bytes is no error: its first max_file_bytes are kept
    (a preview reads a file's head) and `file_bytes` counts what was sent.
    """

    def __init__(self, sink: BinaryIO, max_file_bytes: int, *, cut: bool = False) -> None:
        self.sink = sink
        self.max_file_bytes = max_file_bytes
        self.cut = cut
        self.file_bytes = 0
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self._header, self._value = b"", b""
        self._part: str | None = None
        self._buffer = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return cast(
            "MultipartCallbacks",
            {
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: setattr(self, "_header", self._header + d[s:e]),
                "on_header_value": lambda d, s, e: setattr(self, "_value", self._value + d[s:e]),
                "on_header_end": self._header_end,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    def _begin(self) -> None:
        self._part, self._buffer = None, bytearray()

    def _header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            _, options = parse_options_header(self._value)
            self._part = options.get(b"name", b"").decode("utf-8", "replace")
            if self._part == "file":
                self.filename = options.get(b"filename", b"upload").decode("utf-8", "replace")
        self._header, self._value = b"", b""

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file":
            room = self.max_file_bytes - self.file_bytes
            self.file_bytes += end - start
            if self.file_bytes > self.max_file_bytes and not self.cut:
                raise TooLarge(f"the file exceeds the upload limit of {self.max_file_bytes} bytes")
            self.sink.write(data[start : min(end, start + max(room, 0))])
        elif self._part in _FIELDS:
            self._buffer += data[start:end]
            if len(self._buffer) > _MAX_FIELD_BYTES:
                raise BadRequest(f"form field {self._part!r} is too long")

    def _end(self) -> None:
        if self._part in _FIELDS:
            self.fields[self._part] = self._buffer.decode("utf-8", "replace").strip()


async def _receive_upload(
    request: Request, upload_dir: Path, max_bytes: int, *, cut: bool = False
) -> tuple[Path, _Form]:
    """Stream the multipart body to a temp file under upload_dir, never all in memory
    (with `cut`, only the file's first max_bytes: see _Form)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise BadRequest("expected a multipart/form-data body with a 'file' part")
    declared = request.headers.get("content-length", "")
    if not cut and declared.isdigit() and int(declared) > max_bytes + _MULTIPART_OVERHEAD:
        raise TooLarge(f"the upload exceeds the limit of {max_bytes} bytes")
    path, sink = await asyncio.to_thread(_temp_file, upload_dir)
    try:
        with sink:
            form = _Form(sink, max_bytes, cut=cut)
            parser = MultipartParser(options[b"boundary"], form.callbacks())
            async for chunk in request.stream():
                await asyncio.to_thread(parser.write, chunk)
            parser.finalize()
        if form.filename is None:
            raise BadRequest("the multipart body has no 'file' part")
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return path, form


def _temp_file(directory: Path) -> tuple[Path, BinaryIO]:
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=directory, suffix=UPLOAD_SUFFIX)
    return Path(name), os.fdopen(descriptor, "wb")


@router.post("/api/datasets", status_code=status.HTTP_201_CREATED)
async def upload_dataset(
    request: Request, access: CurrentAccess, actor: CurrentActor, session: DbSession,
    components: AppComponents, after: BackgroundTasks,
) -> schemas.DatasetUploaded:
    """Upload a telemetry file (multipart `file`; form `format`, `name`, defaults)."""
    access.require("admin", "uploading a dataset")  # before a byte of the body is read
    settings = components.settings
    path, form = await _receive_upload(
        request, uploads_dir(settings), settings.max_upload_bytes
    )
    try:
        dataset, result = await datasets.create_from_upload(
            session,
            components.analytics,
            datasets.Owner(access.organization_id, access.user_id),
            path=path,
            filename=form.filename or "upload",
            fmt=form.fields.get("format") or "auto",
            name=form.fields.get("name") or None,
            default_model=form.fields.get("default_model") or None,
            default_provider=form.fields.get("default_provider") or None,
            quota=Quota.of(settings),
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    audit.record(session, access.organization_id, actor, "dataset_created", dataset.name,
                 dataset_id=dataset.id, rows=dataset.rows)
    after.add_task(components.runs.dataset_changed, dataset.id, dataset.version)
    body = schemas.Dataset.model_validate(dataset).model_dump()
    rejects = [schemas.Reject.model_validate(r) for r in result.rejects]
    return schemas.DatasetUploaded(
        **body, rejects=rejects, unpriced_models=result.unpriced_models,
        **schemas.UploadReport.of(result.report),
    )  # fmt: skip


# The preview's body as the OpenAPI document states it (the route parses it itself).
_PREVIEW_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": f"the file, or its first {PREVIEW_BYTES} bytes"},
        "format": {"type": "string", "enum": list(FORMATS)},
        "default_provider": {"type": "string", "maxLength": _MAX_FIELD_BYTES},
        "default_model": {"type": "string", "maxLength": _MAX_FIELD_BYTES},
    }}}}}}  # fmt: skip


@router.post("/api/datasets/preview", openapi_extra=_PREVIEW_BODY)
async def preview_dataset(
    request: Request, user: CurrentUser, components: AppComponents
) -> schemas.DatasetPreview:
    """How a file would be imported, from its head: the format, each column's field, the
    first rows as they would be stored, and what the upload would report. Stores nothing."""
    del user  # signed in, like an upload; the preview touches no one's data
    path, form = await _receive_upload(
        request, uploads_dir(components.settings), PREVIEW_BYTES, cut=True
    )
    try:
        fmt = form.fields.get("format") or "auto"
        datasets.check_format(fmt)
        truncated = form.file_bytes >= PREVIEW_BYTES
        if truncated:
            await asyncio.to_thread(cut_to_whole_lines, path)
        defaults = defaults_of(form.fields.get("default_provider"),
                               form.fields.get("default_model"))  # fmt: skip
        seen = await asyncio.to_thread(preview, path, fmt, defaults, truncated=truncated)
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    return schemas.DatasetPreview(
        format=seen.format,
        columns=None if seen.columns is None
        else [schemas.PreviewColumn.model_validate(c) for c in seen.columns],
        sample=seen.sample, rows=seen.rows, rejected=seen.rejected,
        rejects=[schemas.Reject.model_validate(r) for r in seen.rejects],
        truncated=seen.truncated, **schemas.UploadReport.of(seen.report),
    )  # fmt: skip


@router.post("/api/datasets/demo", status_code=status.HTTP_201_CREATED)
async def create_demo_dataset(
    access: CurrentAccess,
    actor: CurrentActor,
    session: DbSession,
    components: AppComponents,
    after: BackgroundTasks,
    body: Annotated[schemas.DemoCreate | None, Body()] = None,
) -> schemas.Dataset:
    """Generate a dataset of realistic demo telemetry."""
    access.require("admin", "adding a dataset")
    body = body or schemas.DemoCreate()
    dataset = await datasets.create_demo(
        session, components.analytics, datasets.Owner(access.organization_id, access.user_id),
        rows=body.rows, seed=body.seed, clean=body.clean, name=body.name,
        quota=Quota.of(components.settings),
    )  # fmt: skip
    audit.record(session, access.organization_id, actor, "dataset_created", dataset.name,
                 dataset_id=dataset.id, rows=dataset.rows)
    after.add_task(components.runs.dataset_changed, dataset.id, dataset.version)
    return schemas.Dataset.model_validate(dataset)


@router.get("/api/datasets")
async def list_datasets(access: CurrentAccess, session: DbSession) -> list[schemas.Dataset]:
    """The organization's datasets, newest first."""
    found = await datasets.list_datasets(session, access.organization_id)
    return [schemas.Dataset.model_validate(d) for d in found]


@router.get("/api/datasets/{dataset_id}")
async def get_dataset(
    dataset_id: str, access: CurrentAccess, session: DbSession
) -> schemas.Dataset:
    """One of the organization's datasets."""
    found = await datasets.get_dataset(session, access.organization_id, dataset_id)
    return schemas.Dataset.model_validate(found)


@router.get("/api/datasets/{dataset_id}/summary")
async def get_dataset_summary(
    dataset_id: str, access: CurrentAccess, session: DbSession, components: AppComponents
) -> dict[str, Any]:
    """Spend, requests, tokens, p50/p95 latency, error rate; spend by model, provider,
    feature and day; and the source's reported cost against ours."""
    return await datasets.dataset_summary(session, components.analytics,
                                          access.organization_id, dataset_id)


@router.delete("/api/datasets/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_dataset(
    dataset_id: str, access: CurrentAccess, actor: CurrentActor, session: DbSession,
    components: AppComponents,
) -> Response:
    """Delete a dataset and its records."""
    await datasets.get_dataset(session, access.organization_id, dataset_id)  # 404 first
    access.require("admin", "deleting a dataset")
    gone = await datasets.delete_dataset(session, components.analytics, access.organization_id,
                                         dataset_id)
    audit.record(session, access.organization_id, actor, "dataset_deleted", gone.name,
                 dataset_id=dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/ingest/datasets", status_code=status.HTTP_201_CREATED)
async def create_ingest_dataset(
    body: schemas.DatasetCreate, caller: CurrentIngester, request: Request, session: DbSession,
    components: AppComponents,
) -> schemas.Dataset:
    """Create an empty dataset to fill through the ingestion API (API key or bearer)."""
    quota = Quota.of(components.settings)
    dataset = await datasets.create_empty(
        session, datasets.Owner(caller.organization_id, caller.user.id), name=body.name,
        quota=quota)
    audit.record(session, caller.organization_id,
                 audit.Actor(caller.user.id, client_address(request)), "dataset_created",
                 dataset.name, dataset_id=dataset.id, rows=0)
    return schemas.Dataset.model_validate(dataset)


@router.post("/api/ingest/{dataset_id}/records", status_code=status.HTTP_202_ACCEPTED)
async def ingest_records(
    dataset_id: str,
    records: list[dict[str, Any]],
    caller: CurrentIngester,
    session: DbSession,
    components: AppComponents,
    after: BackgroundTasks,
) -> schemas.IngestAccepted:
    """Add records to a dataset; re-sent request_ids are never counted twice."""
    result = await datasets.ingest_records(
        session, components.analytics, datasets.Owner(caller.organization_id, caller.user.id),
        dataset_id, records, quota=Quota.of(components.settings),
    )
    if result.inserted_rows:  # analysed once the batches settle
        dataset = await datasets.get_dataset(session, caller.organization_id, dataset_id)
        after.add_task(components.runs.dataset_changed, dataset_id, dataset.version)
    return schemas.IngestAccepted(
        accepted=result.rows,
        rejected=result.rejected_rows,
        rejects=[schemas.Reject.model_validate(r) for r in result.rejects],
        **schemas.UploadReport.of(result.report),
    )
