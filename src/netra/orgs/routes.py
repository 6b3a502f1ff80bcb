"""Organizations, members, invitations and the audit log over REST (docs/protocol.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from netra.auth.deps import CurrentLogin
from netra.auth.models import User
from netra.deps import AppComponents, DbSession
from netra.orgs import audit, invitations, schemas
from netra.orgs import service as orgs_service
from netra.orgs.deps import CurrentActor
from netra.orgs.models import Organization
from netra.orgs.service import Access, Role
from netra.settings import Settings

router = APIRouter(prefix="/api", tags=["organizations"])


async def path_access(organization_id: str, session: DbSession, caller: CurrentLogin) -> Access:
    """The caller's membership of the organization in the path (404 if they are none)."""
    return await orgs_service.access(session, caller.user, organization_id,
                                     via_sso=caller.via_sso)


PathAccess = Annotated[Access, Depends(path_access)]


def _organization(organization: Organization, role: Role, user_id: str) -> schemas.Organization:
    return schemas.Organization(
        id=organization.id, name=organization.name, role=role,
        personal=organization.personal_user_id == user_id, require_sso=organization.require_sso,
        sso_domain=organization.sso_domain, created_at=organization.created_at)


@router.get("/organizations")
async def list_organizations(caller: CurrentLogin, session: DbSession
                             ) -> list[schemas.Organization]:
    """Your organizations with your role in each, your personal one first."""
    await orgs_service.personal_organization(session, caller.user)
    mine = await orgs_service.my_organizations(session, caller.user.id)
    return [_organization(o, role, caller.user.id) for o, role in mine]


@router.post("/organizations", status_code=status.HTTP_201_CREATED)
async def create_organization(body: schemas.OrganizationCreate, caller: CurrentLogin,
                              actor: CurrentActor, session: DbSession) -> schemas.Organization:
    """A new organization, with you as its owner."""
    organization = await orgs_service.create_organization(session, caller.user, body.name)
    audit.record(session, organization.id, actor, "organization_created", organization.name)
    return _organization(organization, "owner", caller.user.id)


@router.get("/organizations/{organization_id}")
async def get_organization(access: PathAccess, session: DbSession) -> schemas.Organization:
    """One of your organizations."""
    organization = await session.get(Organization, access.organization_id)
    assert organization is not None
    return _organization(organization, access.role, access.user_id)


@router.patch("/organizations/{organization_id}")
async def update_organization(body: schemas.OrganizationUpdate, access: PathAccess,
                              caller: CurrentLogin, actor: CurrentActor,
                              session: DbSession) -> schemas.Organization:
    """Rename (admin or owner); require single sign-on (an owner signed in by it) or claim
    the domain of your own email (an owner)."""
    organization = await orgs_service.update_settings(
        session, access, name=body.name, require_sso=body.require_sso,
        sso_domain=body.sso_domain or None, clear_domain=body.sso_domain == "",
        caller_email=caller.user.email)
    audit.record(session, organization.id, actor, "settings_changed", organization.name,
                 **body.model_dump(exclude_unset=True))
    return _organization(organization, access.role, access.user_id)


@router.get("/organizations/{organization_id}/members")
async def list_members(access: PathAccess, session: DbSession) -> list[schemas.Member]:
    """The organization's members and their roles (any member)."""
    return [schemas.Member(user_id=user.id, email=user.email, name=user.name,
                           role=orgs_service.checked_role(member.role),
                           joined_at=member.created_at)
            for member, user in await orgs_service.members(session, access.organization_id)]


@router.patch("/organizations/{organization_id}/members/{user_id}")
async def change_role(user_id: str, body: schemas.RoleChange, access: PathAccess,
                      actor: CurrentActor, session: DbSession) -> schemas.Member:
    """Change a member's role (admin or owner; only an owner makes or unmakes owners; the
    last owner stays one)."""
    member, before = await orgs_service.change_role(session, access, user_id, body.role)
    user = await session.get(User, user_id)
    assert user is not None
    audit.record(session, access.organization_id, actor, "role_changed", user.email,
                 user_id=user_id, before=before, after=member.role)
    return schemas.Member(user_id=user.id, email=user.email, name=user.name,
                          role=orgs_service.checked_role(member.role),
                          joined_at=member.created_at)


@router.delete("/organizations/{organization_id}/members/{user_id}",
               status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: str, access: PathAccess, actor: CurrentActor,
                        session: DbSession) -> Response:
    """Remove a member (admin or owner; an owner only by an owner; never the last owner).
    To leave yourself, `POST …/leave`."""
    gone = await orgs_service.remove_member(session, access, user_id)
    user = await session.get(User, user_id)
    audit.record(session, access.organization_id, actor, "removed",
                 user.email if user else "", user_id=user_id, role=gone.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/organizations/{organization_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave(access: PathAccess, caller: CurrentLogin, actor: CurrentActor,
                session: DbSession) -> Response:
    """Leave the organization (not as its last owner)."""
    await orgs_service.leave(session, access)
    audit.record(session, access.organization_id, actor, "left", caller.user.email,
                 role=access.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _link(request: Request, settings: Settings, token: str) -> str:
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/#/invitations/{token}"


@router.get("/organizations/{organization_id}/invitations")
async def list_invitations(access: PathAccess, session: DbSession) -> list[schemas.Invitation]:
    """The invitations waiting for an answer (admin or owner)."""
    return [schemas.Invitation.model_validate(i)
            for i in await invitations.pending(session, access)]


@router.post("/organizations/{organization_id}/invitations",
             status_code=status.HTTP_201_CREATED)
async def invite(body: schemas.InvitationCreate, request: Request, access: PathAccess,
                 caller: CurrentLogin, actor: CurrentActor, session: DbSession,
                 components: AppComponents) -> schemas.InvitationCreated:
    """Invite someone by email (admin or owner). No mail server is configured, so the
    answer holds the link for you to pass on; it works once, for that address, 7 days."""
    invitation, token = await invitations.invite(session, components.settings, access,
                                                 body.email, body.role, caller.user)
    audit.record(session, access.organization_id, actor, "invited", invitation.email,
                 role=invitation.role, invitation_id=invitation.id)
    shown = schemas.Invitation.model_validate(invitation)
    return schemas.InvitationCreated(**shown.model_dump(), token=token,
                                     link=_link(request, components.settings, token))


@router.delete("/organizations/{organization_id}/invitations/{invitation_id}",
               status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(invitation_id: str, access: PathAccess, actor: CurrentActor,
                            session: DbSession) -> Response:
    """Withdraw an invitation (admin or owner); its link stops working."""
    invitation = await invitations.revoke(session, access, invitation_id)
    audit.record(session, access.organization_id, actor, "invitation_revoked",
                 invitation.email, invitation_id=invitation.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invitations/accept")
async def accept_invitation(body: schemas.InvitationAccept, caller: CurrentLogin,
                            actor: CurrentActor, session: DbSession,
                            components: AppComponents) -> schemas.Accepted:
    """Join the organization an invitation is for: signed in as the address it was sent
    to, once, before it expires."""
    invitation, organization, member = await invitations.accept(
        session, components.settings, caller.user, body.token)
    audit.record(session, organization.id, actor, "accepted", caller.user.email,
                 role=invitation.role, invitation_id=invitation.id,
                 already_member=member is None)
    role = member.role if member is not None else await orgs_service.role_of(
        session, organization.id, caller.user.id)
    return schemas.Accepted(organization=_organization(
        organization, orgs_service.checked_role(role or invitation.role), caller.user.id))


@router.get("/organizations/{organization_id}/audit")
async def audit_log(
    access: PathAccess, session: DbSession,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = audit.DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> schemas.AuditPage:
    """The organization's audit log, newest first, a page at a time (admin or owner):
    who did what, to whom, when, and from which address."""
    access.require("admin", "reading the audit log")
    found = await audit.page(session, access.organization_id, limit=limit, cursor=cursor)
    return schemas.AuditPage(
        entries=[schemas.AuditEntry(id=e.id, action=e.action, actor_id=e.actor_id,
                                    actor_email=email, target=e.target,
                                    ip_address=e.ip_address, created_at=e.created_at,
                                    details=e.details or {})
                 for e, email in found.entries],
        next_cursor=found.next_cursor)
