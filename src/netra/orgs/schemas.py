"""Organization request and response bodies (docs/protocol.md, Organizations)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from netra.db.base import isoformat_z
from netra.orgs.service import Role

UtcTime = Annotated[datetime, PlainSerializer(isoformat_z, return_type=str)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Organization(BaseModel):
    id: str
    name: str
    role: Role = Field(description="your role in it")
    personal: bool = Field(description="your personal organization: where a request that "
                           "names none acts")
    require_sso: bool
    sso_domain: str | None
    created_at: UtcTime


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    require_sso: bool | None = Field(
        default=None, description="owners only, signed in by single sign-on")
    sso_domain: Annotated[str | None, Field(max_length=253)] = Field(
        default=None, description="owners only, the domain of their own email; an empty "
        "string releases it")


class Member(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    joined_at: UtcTime


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(max_length=320)]
    role: Role = "member"


class Invitation(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    email: str
    role: Role
    expires_at: UtcTime
    created_at: UtcTime


class InvitationCreated(Invitation):
    link: str = Field(description="the link to pass on (no mail server is configured): it "
                      "works once, for the invited address, until expires_at")
    token: str = Field(description="the link's token, for POST /api/invitations/accept")
    emailed: bool = Field(default=False, description="whether the link was sent by email")


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=1, max_length=2048)]


class Accepted(BaseModel):
    organization: Organization


class AuditEntry(BaseModel):
    id: str
    action: str
    actor_id: str | None
    actor_email: str | None
    target: str
    ip_address: str
    created_at: UtcTime
    details: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None
