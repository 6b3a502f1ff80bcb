"""Which organization a request acts in, and the caller's role there.

A request names its organization with the `X-Netra-Organization` header; without one it
acts in the caller's personal organization, so clients that know nothing of
organizations work as they always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from netra.auth import service as auth_service
from netra.auth.deps import Credentials as BearerCredentials
from netra.auth.deps import CurrentLogin, bearer_token
from netra.auth.models import User
from netra.auth.tokens import is_api_key
from netra.deps import AppComponents, DbSession
from netra.orgs import service as orgs_service
from netra.orgs.audit import Actor
from netra.orgs.service import Access

HEADER = "X-Netra-Organization"
OrganizationHeader = Annotated[
    str | None,
    Header(alias=HEADER, max_length=64,
           description="the organization the request acts in (default: your personal one)"),
]


def client_address(request: Request) -> str:
    """The client's address (uvicorn's proxy_headers already applied X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


async def header_access(session: DbSession, caller: CurrentLogin,
                        organization: OrganizationHeader = None) -> Access:
    """The caller's membership of the organization the header names (viewer or higher)."""
    return await orgs_service.access(session, caller.user, organization or None,
                                     via_sso=caller.via_sso)


CurrentAccess = Annotated[Access, Depends(header_access)]


async def request_actor(request: Request, caller: CurrentLogin) -> Actor:
    return Actor(caller.user.id, client_address(request))


CurrentActor = Annotated[Actor, Depends(request_actor)]


@dataclass(frozen=True)
class Ingester:
    """Who writes through the ingestion API: a user, into one organization's datasets."""

    user: User
    organization_id: str


async def ingester(session: DbSession, components: AppComponents,
                   credentials: BearerCredentials,
                   organization: OrganizationHeader = None) -> Ingester:
    """An API key writes into its own organization; an access token into the header's, as
    an admin or owner (who manage its datasets)."""
    token = bearer_token(credentials)
    if is_api_key(token):
        holder = await auth_service.user_from_api_key(session, token)
        user, organization_id = holder.user, holder.organization_id
    else:
        caller = await auth_service.signed_in(session, components.settings, token)
        granted = await orgs_service.access(session, caller.user, organization or None,
                                            via_sso=caller.via_sso, minimum="admin",
                                            doing="adding telemetry")
        user, organization_id = caller.user, granted.organization_id
    # Per user, not per key: minting more keys must not buy a bigger allowance.
    await components.limiter.hit(components.limiter.ingest_per_user, user.id)
    return Ingester(user, organization_id)


CurrentIngester = Annotated[Ingester, Depends(ingester)]
