"""Analysis HTTP routes: a dataset's dashboard, its requests page by page (and deleted by
the same slice), and what-if replay of its own traffic."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from netra.analysis import dashboard, request_log
from netra.analysis.slicing import read_query, whole_number
from netra.analysis.whatif import Scenario, simulate
from netra.deps import AppComponents, DbSession
from netra.orgs import audit
from netra.orgs.deps import CurrentAccess, CurrentActor
from netra.telemetry import schemas
from netra.telemetry import service as datasets

router = APIRouter(tags=["analysis"])

Name = Annotated[str, Field(min_length=1, max_length=200)]


class SimulateRequest(BaseModel):
    """The alternative to replay; every field is optional (None: keep what each request did)."""

    model_config = ConfigDict(extra="forbid")

    model_map: Annotated[dict[Name, Name], Field(max_length=50)] = Field(
        default_factory=dict, description="dataset model -> the model to re-price it at"
    )
    provider_map: Annotated[dict[Name, Name], Field(max_length=50)] = Field(
        default_factory=dict, description="dataset provider -> the provider to re-price it at"
    )
    features: Annotated[list[Name] | None, Field(max_length=200)] = Field(
        default=None, description="only these features ('(none)': requests without one)"
    )
    share_pct: Annotated[float, Field(gt=0, le=100)] = Field(
        default=100.0, description="share of the matching requests that move"
    )
    batch: bool | None = Field(default=None, description="batch API on (true) or off (false)")
    prompt_cache: bool | None = Field(default=None, description="provider prompt caching on/off")
    response_cache: bool | None = Field(default=None, description="an exact response cache")

    def scenario(self) -> Scenario:
        return Scenario(
            model_map=dict(self.model_map),
            provider_map=dict(self.provider_map),
            features=tuple(self.features) if self.features is not None else None,
            share_pct=self.share_pct,
            batch=self.batch,
            prompt_cache=self.prompt_cache,
            response_cache=self.response_cache,
        )


@router.post("/api/datasets/{dataset_id}/simulate")
async def simulate_dataset(
    dataset_id: str,
    body: SimulateRequest,
    access: CurrentAccess,
    session: DbSession,
    components: AppComponents,
) -> dict[str, Any]:
    """What the dataset's own traffic would have cost under the alternative in the body."""
    await datasets.get_dataset(session, access.organization_id, dataset_id)  # another's: 404
    return await simulate(components.analytics, dataset_id, body.scenario())


Values = Annotated[list[str] | None, Query(description="repeat for several; `(none)`: unset")]


def _query(
    request: Request,
    from_: Annotated[str | None, Query(alias="from", description="ISO 8601, inclusive")] = None,
    to: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
    model: Values = None,
    provider: Values = None,
    feature: Values = None,
    end_user: Values = None,
    status: Annotated[list[str] | None, Query(description="ok or error")] = None,
) -> list[tuple[str, str]]:
    """The query string as sent: `slicing.read_query` checks all of it (a misspelt name is
    a 422, not ignored). The parameters are declared for the API reference."""
    return request.query_params.multi_items()


SliceQuery = Annotated[list[tuple[str, str]], Depends(_query)]
# The routes below declare their own parameters too, for the reference alone: each reads
# them from `query`, where read_query checks each is given at most once.


@router.get("/api/datasets/{dataset_id}/dashboard")
async def dataset_dashboard(
    dataset_id: str,
    query: SliceQuery,
    access: CurrentAccess,
    session: DbSession,
    components: AppComponents,
    bucket: Annotated[str | None, Query(description="auto (default), hour, day or week")] = None,
    top: Annotated[str | None, Query(description="keys per breakdown, 1 to 50 (10)")] = None,
) -> dict[str, Any]:
    """Totals, a series per time bucket and the top models, features, end users and
    providers of the requests in a time range and filters, and the filters' values."""
    found = await datasets.get_dataset(session, access.organization_id, dataset_id)  # or 404
    chosen, options = read_query(query, ("bucket", "top"))
    return await dashboard.dashboard(
        components.analytics, dataset_id, chosen,
        bucket=options.get("bucket"),
        top=whole_number("top", options.get("top"), dashboard.DEFAULT_TOP, 1, dashboard.MAX_TOP),
        window=(found.first_ts, found.last_ts), version=found.version,
    )  # fmt: skip


@router.get("/api/datasets/{dataset_id}/requests")
async def dataset_requests(
    dataset_id: str,
    query: SliceQuery,
    access: CurrentAccess,
    session: DbSession,
    components: AppComponents,
    sort: Annotated[str | None, Query(description="time (newest first) or cost")] = None,
    limit: Annotated[str | None, Query(description="rows per page, 1 to 200 (50)")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the page before")] = None,
) -> dict[str, Any]:
    """The requests of a time range and filters, a page at a time, every field of each."""
    await datasets.get_dataset(session, access.organization_id, dataset_id)  # another's: 404
    chosen, options = read_query(query, ("sort", "limit", "cursor"))
    return await request_log.request_page(
        components.analytics, dataset_id, chosen,
        sort=options.get("sort", "time"),
        limit=whole_number("limit", options.get("limit"), request_log.DEFAULT_LIMIT, 1,
                           request_log.MAX_LIMIT),
        cursor=options.get("cursor"),
    )  # fmt: skip


@router.delete("/api/datasets/{dataset_id}/requests")
async def delete_requests(
    dataset_id: str,
    query: SliceQuery,
    access: CurrentAccess,
    actor: CurrentActor,
    session: DbSession,
    components: AppComponents,
    after: BackgroundTasks,
) -> schemas.RequestsDeleted:
    """Delete the requests of a time range and filters (the slice the GET lists): a bad
    import, a test's traffic, data past its keeping. The dataset moves to a new version,
    analysed anew; the next answer reads that."""
    await datasets.get_dataset(session, access.organization_id, dataset_id)  # another's: 404
    access.require("admin", "deleting requests")
    chosen, _ = read_query(query)
    dataset, deleted = await datasets.delete_requests(
        session, components.analytics, access.organization_id, dataset_id, chosen)
    if deleted:
        audit.record(session, access.organization_id, actor, "requests_deleted", dataset.name,
                     dataset_id=dataset_id, rows=deleted, slice=query)
        after.add_task(components.runs.dataset_changed, dataset.id, dataset.version)
    return schemas.RequestsDeleted(deleted=deleted,
                                   dataset=schemas.Dataset.model_validate(dataset))
