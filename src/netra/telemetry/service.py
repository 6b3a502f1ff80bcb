"""Datasets: the catalogue rows (relational database) and their records (analytics store).

One module, past ~400 lines, on purpose: it is the one place where a dataset's catalogue
row and its records change together; every way in (upload, append, demo, API ingestion)
refreshes the row from the store through the same `_apply`, and every operation on a
dataset named by id goes through the one owner check (`get_dataset`).

Datasets belong to an organization; every query filters by it: another organization's
dataset is NotFound, never Forbidden. Which roles may do what is the caller's to check
(`netra.orgs`); the user who makes a dataset is kept too, as quotas count per user.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from netra.analysis.overview import composition, overview_totals, spend_breakdown
from netra.analysis.slicing import Slice
from netra.db.base import new_id
from netra.errors import NotFound, TooLarge, ValidationFailed
from netra.telemetry import schema
from netra.telemetry.import_report import what_to_do
from netra.telemetry.importers import FORMATS
from netra.telemetry.models import Dataset, IngestedRequest
from netra.telemetry.quota import Quota, check_new_dataset, check_rows
from netra.telemetry.schemas import MAX_INGEST_RECORDS
from netra.telemetry.store import AnalyticsStore, ImportResult, Progress, Reject


@dataclass(frozen=True)
class Owner:
    """Whose a new dataset or its new rows are: the organization's, added by this user
    (whose quota they count against)."""

    organization_id: str
    user_id: str


def _apply(dataset: Dataset, result: ImportResult) -> None:
    """Refresh the catalogue row from the store's view of the whole dataset after an
    import."""
    _refresh(dataset, result.dataset_rows, result.first_ts, result.last_ts,
             result.total_cost_usd, changed=bool(result.inserted_rows))


def _refresh(dataset: Dataset, rows: int, first_ts: datetime | None,
             last_ts: datetime | None, total_cost_usd: float, *, changed: bool) -> None:
    """The catalogue row as the store now sees the whole dataset; rows that changed make
    a new version (whose analysis is computed anew)."""
    if rows != dataset.rows or changed:
        dataset.version = (dataset.version or 0) + 1
    dataset.rows = rows
    dataset.first_ts = first_ts
    dataset.last_ts = last_ts
    dataset.total_cost_usd = total_cost_usd


def check_format(fmt: str) -> None:
    """ValidationFailed for a format no importer reads."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown format {fmt!r}; supported: {', '.join(FORMATS)}")


def _nothing_usable(filename: str, result: ImportResult) -> ValidationFailed:
    """The refusal of a file with no usable row: what to do, and the rejected lines with
    their reasons (the first 100) for the page to list."""
    advice = what_to_do(result.rejects)
    return ValidationFailed(
        f"no valid rows in {filename!r} ({result.rejected_rows} rejected): {advice}",
        details={"rejects": [r.__dict__ for r in result.rejects],
                 "rejected_rows": result.rejected_rows, "advice": advice},
    )


async def create_from_upload(
    session: AsyncSession,
    store: AnalyticsStore,
    owner: Owner,
    *,
    path: Path,
    filename: str,
    fmt: str,
    name: str | None,
    default_model: str | None,
    default_provider: str | None,
    progress: Progress | None = None,
    quota: Quota | None = None,
) -> tuple[Dataset, ImportResult]:
    """Import an uploaded file as a new dataset; ValidationFailed if no row is usable,
    TooLarge (and nothing kept) past the user's quota."""
    check_format(fmt)
    if quota is not None:
        await check_new_dataset(session, owner.user_id, quota)
    dataset_id = new_id()
    result = await store.import_file(
        dataset_id, path, fmt, default_provider=default_provider, default_model=default_model,
        progress=progress,
    )  # fmt: skip
    if result.rows == 0:
        await store.delete_dataset(dataset_id)
        raise _nothing_usable(filename, result)
    if quota is not None:
        try:
            await check_rows(session, owner.user_id, quota, result.dataset_rows)
        except TooLarge:
            await store.delete_dataset(dataset_id)
            raise
    dataset = Dataset(
        id=dataset_id,
        user_id=owner.user_id,
        organization_id=owner.organization_id,
        name=(name or filename or "upload")[:200],
        format=result.format,
        rejected_rows=result.rejected_rows,
    )
    _apply(dataset, result)
    return await _save(session, store, dataset), result


async def append_file(
    session: AsyncSession,
    store: AnalyticsStore,
    organization_id: str,
    dataset_id: str,
    *,
    path: Path,
    fmt: str,
    default_model: str | None,
    default_provider: str | None,
    progress: Progress | None = None,
) -> ImportResult:
    """Add a file's rows to one of the organization's datasets (NotFound for another's)."""
    check_format(fmt)
    dataset = await get_dataset(session, organization_id, dataset_id)
    result = await store.import_file(
        dataset_id, path, fmt, default_provider=default_provider, default_model=default_model,
        progress=progress,
    )  # fmt: skip
    _apply(dataset, result)
    dataset.rejected_rows += result.rejected_rows
    await session.flush()
    return result


async def create_demo(
    session: AsyncSession,
    store: AnalyticsStore,
    owner: Owner,
    *,
    rows: int = 20000,
    seed: int = 42,
    clean: bool = False,
    name: str | None = None,
    quota: Quota | None = None,
) -> Dataset:
    """A dataset of generated, realistic telemetry; `clean` plants no inefficiency."""
    if quota is not None:
        await check_new_dataset(session, owner.user_id, quota, rows)
    dataset_id = new_id()
    result = await store.generate_demo(dataset_id, rows=rows, seed=seed, clean=clean)
    kind = "Clean demo workload" if clean else "Demo workload"
    dataset = Dataset(
        id=dataset_id,
        user_id=owner.user_id,
        organization_id=owner.organization_id,
        name=name or f"{kind} ({rows:,} requests, seed {seed})",
        format="demo",
        rejected_rows=0,
    )
    _apply(dataset, result)
    return await _save(session, store, dataset)


async def create_empty(session: AsyncSession, owner: Owner, *, name: str,
                       quota: Quota | None = None) -> Dataset:
    """An empty dataset that the ingestion API fills."""
    if quota is not None:
        await check_new_dataset(session, owner.user_id, quota)
    dataset = Dataset(
        id=new_id(), user_id=owner.user_id, organization_id=owner.organization_id, name=name,
        format="api", rows=0, rejected_rows=0, total_cost_usd=0.0,
    )  # fmt: skip
    session.add(dataset)
    await session.flush()
    return dataset


# The format of datasets the platform fills itself (its own model calls): never the
# dataset a question uses unless the user chooses it.
OWN_FORMAT = "netra"


async def own_dataset(session: AsyncSession, owner: Owner, name: str) -> Dataset:
    """The user's dataset the platform fills itself (in the organization `owner` names:
    their personal one), made (empty) if there is none."""
    query = select(Dataset).where(Dataset.organization_id == owner.organization_id,
                                  Dataset.user_id == owner.user_id, Dataset.name == name,
                                  Dataset.format == OWN_FORMAT)
    found = (await session.scalars(query.order_by(Dataset.created_at).limit(1))).first()
    if found is not None:
        return found
    dataset = await create_empty(session, owner, name=name)
    dataset.format = OWN_FORMAT
    return dataset


async def _save(session: AsyncSession, store: AnalyticsStore, dataset: Dataset) -> Dataset:
    session.add(dataset)
    try:
        await session.flush()
    except BaseException:
        await store.delete_dataset(dataset.id)  # no catalogue row: no orphaned records
        raise
    return dataset


async def list_datasets(session: AsyncSession, organization_id: str) -> list[Dataset]:
    """The organization's datasets, newest first."""
    rows = await session.scalars(
        select(Dataset)
        .where(Dataset.organization_id == organization_id)
        .order_by(Dataset.created_at.desc(), Dataset.id.desc())
    )
    return list(rows)


async def get_dataset(session: AsyncSession, organization_id: str, dataset_id: str) -> Dataset:
    """The organization's dataset; NotFound for a missing or another organization's one."""
    dataset = await session.scalar(
        select(Dataset).where(Dataset.id == dataset_id,
                              Dataset.organization_id == organization_id)
    )
    if dataset is None:
        raise NotFound("dataset not found")
    return dataset


async def delete_dataset(
    session: AsyncSession, store: AnalyticsStore, organization_id: str, dataset_id: str
) -> Dataset:
    dataset = await get_dataset(session, organization_id, dataset_id)
    await session.delete(dataset)
    await session.flush()
    await store.delete_dataset(dataset_id)
    return dataset


async def delete_requests(
    session: AsyncSession, store: AnalyticsStore, organization_id: str, dataset_id: str,
    chosen: Slice,
) -> tuple[Dataset, int]:
    """Remove the requests of a slice of the dataset (a time range, filters or both; the
    whole dataset goes with `delete_dataset`). Returns the dataset, at a new version if
    any row went (its analysis is then computed anew), and how many went.

    The ingestion claims of the removed request_ids are released, so records re-sent
    after a deletion (a corrected export, say) are added again, not taken for
    duplicates."""
    if not chosen.filtered:
        raise ValidationFailed("name the requests to delete with from, to or a filter (to "
                               "delete every request, delete the dataset)")
    dataset = await get_dataset(session, organization_id, dataset_id)
    # One change at a time per dataset, as for an ingestion batch.
    await session.refresh(dataset, with_for_update=True)
    where, params = chosen.where(dataset_id)
    [found] = await store.fetch(f"SELECT count(*) AS n FROM requests WHERE {where}", params)
    if not found["n"]:
        return dataset, 0
    # Only ingested records are claimed: a dataset of uploads has nothing to release (and
    # a deletion of millions of its rows reads no ids).
    claimed = await session.scalar(select(IngestedRequest.request_key).where(
        IngestedRequest.dataset_id == dataset_id).limit(1))
    ids = [] if claimed is None else await store.fetch(
        f"SELECT DISTINCT request_id FROM requests WHERE {where} AND request_id IS NOT NULL",
        params)
    await store.delete_requests(dataset_id, where, params)
    await _release(session, dataset_id, {_key_of(row["request_id"]) for row in ids})
    [left] = await store.fetch(
        "SELECT count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts, "
        "coalesce(sum(cost_usd), 0)::DOUBLE AS cost FROM requests WHERE dataset_id = ?",
        [dataset_id])
    _refresh(dataset, int(left["n"]), _utc(left["first_ts"]), _utc(left["last_ts"]),
             float(left["cost"]), changed=True)
    await session.flush()
    return dataset, int(found["n"])


def _utc(moment: datetime | None) -> datetime | None:
    """A ts read from a store, as the catalogue keeps it (in UTC, with its zone)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


async def ingest_records(
    session: AsyncSession,
    store: AnalyticsStore,
    owner: Owner,
    dataset_id: str,
    records: list[dict[str, Any]],
    quota: Quota | None = None,
) -> ImportResult:
    """Add records to the organization's dataset; re-sent request_ids are accepted, not re-added;
    TooLarge (nothing added) when the batch would pass the user's row quota.

    The batch's request_ids are claimed in `ingested_requests` in the caller's transaction
    first: only records whose id this call claimed (or that have none) reach the store, so
    the same batch sent to two processes at once is added once. Claims of records the
    store rejects are released, so a corrected re-send is added; if the store fails, the
    transaction rolls the claims back.
    """
    if len(records) > MAX_INGEST_RECORDS:
        raise TooLarge(f"at most {MAX_INGEST_RECORDS} records per call (got {len(records)})")
    dataset = await get_dataset(session, owner.organization_id, dataset_id)
    if quota is not None:
        await check_rows(session, owner.user_id, quota, len(records))
    # One batch at a time per dataset (PostgreSQL; SQLite has one writer): its totals
    # are read, added to and written back.
    await session.refresh(dataset, with_for_update=True)
    keys = [_request_key(record) for record in records]
    claimed = await _claim(session, dataset_id, {key for key in keys if key is not None})
    sent = [index for index, key in enumerate(keys) if key is None or key in claimed]
    result = await store.insert_records(dataset_id, [records[index] for index in sent])
    rejected = _rejected(result, [records[index] for index in sent])
    kept = {keys[index] for position, index in enumerate(sent) if position not in rejected}
    await _release(session, dataset_id, claimed - kept)
    _apply(dataset, result)
    dataset.rejected_rows += result.rejected_rows
    await session.flush()
    # Records someone already claimed count as accepted; rejects keep the caller's indices.
    return replace(
        result,
        rows=result.rows + len(records) - len(sent),
        rejects=[Reject(sent[r.line], r.reason) for r in result.rejects],
    )


def _request_key(record: Any) -> str | None:
    """The claim key of a record: sha256 of its request_id as schema.parse_record keeps
    it (the field name matched without case or blanks, the text stripped, a number as
    text); None without one, or with one the store rejects anyway."""
    if not isinstance(record, dict):
        return None
    value: Any = None
    for name, item in record.items():
        if str(name).strip().lower() == "request_id":
            value = item  # the last one wins, as in the record
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        return None
    if not text or len(text) > schema.MAX_STRING:
        return None
    return _key_of(text)


def _key_of(request_id: str) -> str:
    """The claim key of a request_id as the store keeps it."""
    return hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()


_CHUNK = 1_000  # keys per statement: well inside every driver's limit on parameters


async def _claim(session: AsyncSession, dataset_id: str, keys: set[str]) -> set[str]:
    """Claim these keys for the dataset; returns those this transaction claimed.

    On PostgreSQL a key another open transaction has claimed waits for it to end, then
    counts as taken (or is claimed here, if it rolled back); keys go in sorted order, so
    two batches that share keys never wait on each other in a cycle. SQLite has one
    writer: the second transaction waits for the first to commit.
    """
    if not keys:
        return set()
    table = IngestedRequest.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing().returning(table.c.request_key)
    claimed: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        rows = [{"dataset_id": dataset_id, "request_key": key} for key in chunk]
        claimed.update(await session.scalars(statement.values(rows)))
    return claimed


async def _release(session: AsyncSession, dataset_id: str, keys: Iterable[str]) -> None:
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        await session.execute(
            delete(IngestedRequest).where(
                IngestedRequest.dataset_id == dataset_id,
                IngestedRequest.request_key.in_(ordered[start : start + _CHUNK]),
            )
        )


def _rejected(result: ImportResult, sent: list[Any]) -> set[int]:
    """The positions in `sent` of the records the store rejected.

    The store lists the first MAX_REJECTS, in order; any after the last listed one are
    judged here again by the same rule (rare: a batch that bad).
    """
    listed = {reject.line for reject in result.rejects}
    if result.rejected_rows <= len(result.rejects):
        return listed
    after = result.rejects[-1].line + 1 if result.rejects else 0
    return listed | {i for i in range(after, len(sent)) if not _valid(sent[i])}


def _valid(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    try:
        schema.parse_record(record)
    except schema.RecordError:
        return False
    return True


async def newest_datasets(session: AsyncSession, organization_ids: set[str]) -> dict[str, str]:
    """Each of these organizations' newest dataset (those without one are left out)."""
    if not organization_ids:
        return {}
    order = (Dataset.created_at.desc(), Dataset.id.desc())
    ranked = (
        select(Dataset.organization_id, Dataset.id,
               func.row_number().over(partition_by=Dataset.organization_id,
                                      order_by=order).label("n"))
        .where(Dataset.organization_id.in_(organization_ids), Dataset.format != OWN_FORMAT)
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.organization_id, ranked.c.id).where(ranked.c.n == 1))
    return {organization_id: dataset_id for organization_id, dataset_id in rows.tuples()}


# Where the source reported a cost: its total beside ours, over the same requests.
_REPORTED_COST = """
SELECT count(source_cost_usd) AS requests,
  round(coalesce(sum(source_cost_usd), 0), 6) AS reported_usd,
  round(coalesce(sum(cost_usd) FILTER (WHERE source_cost_usd IS NOT NULL), 0), 6)
    AS computed_usd,
  count(*) FILTER (WHERE source_cost_usd IS NOT NULL AND cost_usd IS NULL
    AND input_tokens IS NOT NULL) AS unpriced_requests,
  count(*) FILTER (WHERE source_cost_usd IS NOT NULL AND input_tokens IS NULL)
    AS usage_unknown_requests
FROM requests WHERE dataset_id = ?
"""


async def reported_cost(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """The source's own cost figures against the catalogue's, where it reported any."""
    [row] = await store.fetch(_REPORTED_COST, [dataset_id])
    requests = int(row["requests"])
    reported, computed = float(row["reported_usd"]), float(row["computed_usd"])
    return {
        "requests": requests,
        "reported_usd": reported,
        "computed_usd": computed,
        "difference_usd": round(computed - reported, 6),
        "difference_pct": round(100 * (computed - reported) / reported, 2) if reported else None,
        "unpriced_requests": int(row["unpriced_requests"]),
        # reported by the source, but with no token usage to compute a cost from
        "usage_unknown_requests": int(row["usage_unknown_requests"]),
    }


async def dataset_summary(
    session: AsyncSession, store: AnalyticsStore, organization_id: str, dataset_id: str
) -> dict[str, Any]:
    """Spend, requests, tokens, latency, errors, and spend by model, provider, feature
    and day, of one of the organization's datasets (NotFound for another's)."""
    await get_dataset(session, organization_id, dataset_id)
    return await summarise(store, dataset_id)


async def summarise(store: AnalyticsStore, dataset_id: str) -> dict[str, Any]:
    """The summary of a dataset, whoever owns it (callers check ownership first).

    Its queries are independent: they run at once, each on its own cursor.
    """
    keys = ("model", "provider", "feature", "day")
    totals, reported, *breakdowns = await asyncio.gather(
        overview_totals(store, dataset_id),
        reported_cost(store, dataset_id),
        *(spend_breakdown(store, dataset_id, key) for key in keys),
    )
    # the overview's composition lists are the breakdowns' first columns: not queried again
    overview = {**totals, **composition({b["by"]: b["rows"] for b in breakdowns})}
    return {
        "dataset_id": dataset_id,
        "overview": overview,
        **{f"by_{key}": rows for key, rows in zip(keys, breakdowns, strict=True)},
        "reported_cost": reported,
    }
