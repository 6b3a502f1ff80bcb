"""`netra ingest`: a telemetry file into a dataset, in-process, with a progress bar."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from netra.auth import service as auth_service
from netra.auth.models import User
from netra.components import Components
from netra.errors import NotFound
from netra.orgs import service as orgs_service
from netra.telemetry import service as datasets
from netra.telemetry.import_report import notes_of
from netra.telemetry.store import ImportResult

SHOWN_REJECTS = 10


@dataclass(frozen=True)
class IngestRequest:
    path: Path
    fmt: str = "auto"
    dataset_id: str | None = None  # add to this dataset instead of creating one
    name: str | None = None
    owner: str | None = None  # email; None = the demo login
    default_provider: str | None = None
    default_model: str | None = None


async def _owner(components: Components, email: str | None) -> datasets.Owner:
    """The user (the demo user by default), importing into their personal organization."""
    settings = components.settings
    async with components.db.transaction() as session:
        if email is None:
            user = await auth_service.ensure_user(
                session, email=settings.demo_email, password=settings.demo_password, name="Demo"
            )
        else:
            address = auth_service.normalize_email(email)
            found = await session.scalar(select(User).where(User.email == address))
            if found is None:
                raise NotFound(f"no user with the email {address!r}")
            user = found
        personal = await orgs_service.personal_organization(session, user)
        return datasets.Owner(personal.id, user.id)


async def ingest_file(
    components: Components,
    request: IngestRequest,
    *,
    console: Console,
    out: Console,
    as_json: bool = False,
) -> ImportResult:
    """Import the file for its owner; prints the outcome (or JSON) on `out`."""
    owner = await _owner(components, request.owner)
    size = request.path.stat().st_size
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TimeElapsedColumn(), console=console, transient=as_json,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"importing {request.path.name}", total=size)

        def advance(share: float) -> None:  # called from the import's worker thread
            bar.update(task, completed=share * size)

        dataset_id, result = await _import(components, owner, request, advance)
    if as_json:
        out.print_json(json.dumps(_as_dict(dataset_id, result)))
    else:
        _show(out, dataset_id, result)
    return result


async def _import(
    components: Components, owner: datasets.Owner, request: IngestRequest, advance: Any
) -> tuple[str, ImportResult]:
    common: dict[str, Any] = {
        "path": request.path, "fmt": request.fmt, "progress": advance,
        "default_provider": request.default_provider, "default_model": request.default_model,
    }  # fmt: skip
    async with components.db.transaction() as session:
        if request.dataset_id is not None:
            result = await datasets.append_file(
                session, components.analytics, owner.organization_id, request.dataset_id,
                **common
            )
            return request.dataset_id, result
        dataset, result = await datasets.create_from_upload(
            session, components.analytics, owner, filename=request.path.name,
            name=request.name, **common,
        )  # fmt: skip
        return dataset.id, result


def _as_dict(dataset_id: str, result: ImportResult) -> dict[str, Any]:
    return {
        "dataset_id": dataset_id,
        "format": result.format,
        "rows": result.rows,
        "rejected_rows": result.rejected_rows,
        "rejects": [{"line": r.line, "reason": r.reason} for r in result.rejects],
        "dataset_rows": result.dataset_rows,
        "total_cost_usd": result.total_cost_usd,
        "source_cost_usd": result.source_cost_usd,
        "unpriced_models": result.unpriced_models,
        "kept": result.report.kept,
        "fields": [field.__dict__ for field in result.report.fields],
        "notes": result.report.notes,
    }


def _show(out: Console, dataset_id: str, result: ImportResult) -> None:
    out.print(
        f"dataset [bold]{dataset_id}[/] ({result.format}): {result.rows:,} rows imported, "
        f"{result.rejected_rows:,} rejected; {result.dataset_rows:,} rows, "
        f"${result.total_cost_usd:,.2f} in the dataset"
    )
    if result.source_cost_usd is not None:
        out.print(f"the source reported ${result.source_cost_usd:,.2f}")
    for note in notes_of(result.report):  # unpriced models among them, with the reason
        out.print(f"  note: {note}", highlight=False)
    for reject in result.rejects[:SHOWN_REJECTS]:
        out.print(f"  line {reject.line}: {reject.reason}", highlight=False)
    if result.rejected_rows > SHOWN_REJECTS:
        out.print(f"  … and {result.rejected_rows - SHOWN_REJECTS:,} more rejected rows")
