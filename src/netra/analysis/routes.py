"""Analysis HTTP routes: what-if replay of a dataset's own traffic."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from netra.analysis.whatif import Scenario, simulate
from netra.auth.deps import CurrentUser
from netra.deps import AppComponents, DbSession
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
    user: CurrentUser,
    session: DbSession,
    components: AppComponents,
) -> dict[str, Any]:
    """What the dataset's own traffic would have cost under the alternative in the body."""
    await datasets.get_dataset(session, user.id, dataset_id)  # another user's: 404
    return await simulate(components.analytics, dataset_id, body.scenario())
