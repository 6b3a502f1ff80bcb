"""Invitations by email link: a signed, expiring, single-use token.

The token is a JWT signed with the app's secret (it cannot be made up or altered) naming
the invitation; only its digest is stored. Accepting spends it in one conditional UPDATE
(not yet accepted, not revoked, not expired), so of two acceptances exactly one wins.
With no mail server configured, the inviter is given the link to pass on.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from netra.auth import service as auth_service
from netra.auth.models import User
from netra.auth.tokens import ALGORITHM, digest
from netra.db.base import new_id, utcnow
from netra.errors import BadRequest, Conflict, Forbidden, NotFound
from netra.orgs.models import Invitation, Membership, Organization
from netra.orgs.service import Access, Role, add_member, checked_role, rank
from netra.settings import Settings

TTL = timedelta(days=7)
_TYPE = "invitation"
NOT_FOUND = "invitation not found: check that the link was copied whole"


def _token(settings: Settings, invitation: Invitation) -> str:
    claims = {"type": _TYPE, "inv": invitation.id, "org": invitation.organization_id,
              "exp": int(invitation.expires_at.timestamp()),
              "n": secrets.token_urlsafe(16)}  # two invitations never share a token
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


async def invite(session: AsyncSession, settings: Settings, caller: Access, email: str,
                 role: str, invited_by: User) -> tuple[Invitation, str]:
    """An invitation to the organization (admin+; an owner invites owners) and its token."""
    caller.require("admin", "inviting members")
    wanted: Role = checked_role(role)
    if rank(wanted) > rank(caller.role):
        caller.require(wanted, f"inviting an {wanted}")
    address = auth_service.validated_email(email)
    already = await session.scalar(
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == caller.organization_id, User.email == address))
    if already is not None:
        raise Conflict(f"{address} is already a member of {caller.organization_name}")
    now = utcnow()
    invitation = Invitation(id=new_id(), organization_id=caller.organization_id,
                            email=address, role=wanted, expires_at=now + TTL,
                            invited_by=invited_by.id, created_at=now, token_hash="")
    token = _token(settings, invitation)
    invitation.token_hash = digest(token)
    session.add(invitation)
    await session.flush()
    return invitation, token


async def pending(session: AsyncSession, caller: Access) -> list[Invitation]:
    """The organization's invitations not accepted, revoked or expired (admin+)."""
    caller.require("admin", "reading invitations")
    rows = await session.scalars(
        select(Invitation).where(Invitation.organization_id == caller.organization_id,
                                 Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None),
                                 Invitation.expires_at > utcnow())
        .order_by(Invitation.created_at.desc()))
    return list(rows)


async def revoke(session: AsyncSession, caller: Access, invitation_id: str) -> Invitation:
    """Withdraw an invitation not yet accepted (admin+); its link stops working."""
    caller.require("admin", "revoking invitations")
    invitation = await session.scalar(
        select(Invitation).where(Invitation.id == invitation_id,
                                 Invitation.organization_id == caller.organization_id))
    if invitation is None:
        raise NotFound("invitation not found in this organization")
    if invitation.accepted_at is not None:
        raise Conflict(f"{invitation.email} has already accepted this invitation: remove the "
                       "member instead")
    invitation.revoked_at = invitation.revoked_at or utcnow()
    await session.flush()
    return invitation


def _invitation_id(settings: Settings, token: str) -> str:
    """The invitation a token names, if we signed it (its expiry is judged by the row,
    so that an expired link is told apart from a forged one)."""
    try:
        claims = jwt.decode(token, settings.secret_key.get_secret_value(),
                            algorithms=[ALGORITHM],
                            options={"verify_exp": False, "require": ["inv", "exp", "type"]})
    except jwt.PyJWTError:
        raise NotFound(NOT_FOUND) from None
    if claims.get("type") != _TYPE or not isinstance(claims.get("inv"), str):
        raise NotFound(NOT_FOUND)
    return str(claims["inv"])


async def accept(session: AsyncSession, settings: Settings, user: User,
                 token: str) -> tuple[Invitation, Organization, Membership | None]:
    """Join the organization as the invitation says: once, before it expires, and only
    as the user whose email it was sent to. The membership is None if the user already
    was a member (their role stays)."""
    invitation = await session.scalar(
        select(Invitation).where(Invitation.id == _invitation_id(settings, token),
                                 Invitation.token_hash == digest(token)))
    if invitation is None:
        raise NotFound(NOT_FOUND)
    if invitation.email != auth_service.normalize_email(user.email):
        raise Forbidden(f"this invitation was sent to {invitation.email}: sign in with that "
                        "address to accept it")
    now = utcnow()
    spent = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None), Invitation.expires_at > now)
        .values(accepted_at=now)
        .returning(Invitation.id))
    if spent.one_or_none() is None:
        await session.refresh(invitation)
        raise _refusal(invitation)
    organization = await session.get(Organization, invitation.organization_id)
    assert organization is not None
    member = await add_member(session, organization.id, user.id, checked_role(invitation.role))
    return invitation, organization, member


def _refusal(invitation: Invitation) -> BadRequest | Conflict:
    if invitation.accepted_at is not None:
        return Conflict("this invitation has already been used: an invitation works once; "
                        "ask the organization's admins for a new one if you need it")
    if invitation.revoked_at is not None:
        return BadRequest("this invitation was revoked: ask the organization's admins for a "
                          "new one")
    return BadRequest(f"this invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC: "
                      "ask the organization's admins for a new one")
