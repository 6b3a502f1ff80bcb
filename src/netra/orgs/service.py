"""Organizations and their members: the one place that says what a caller may do in an
organization (`access`), personal organizations, and the member rules (an organization
always keeps an owner).

No HTTP and no commits here: the caller owns the transaction. An organization the caller
is not a member of is NotFound, never Forbidden: whether it exists is not told. A role
too low is Forbidden, saying which role it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from netra.auth.models import User
from netra.db.base import utcnow
from netra.errors import Conflict, Forbidden, NotFound, ValidationFailed
from netra.orgs.models import Membership, Organization

Role = Literal["viewer", "member", "admin", "owner"]
ROLES: tuple[Role, ...] = get_args(Role)  # lowest first: each role may do what those below may
MAX_NAME_LENGTH = 200
NOT_A_MEMBER = ("organization not found: you are not one of its members "
                "(ask one of its admins for an invitation)")


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def checked_role(role: str) -> Role:
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class Access:
    """The caller's membership of one organization, checked: who, where, with which role."""

    organization_id: str
    organization_name: str
    user_id: str
    role: Role
    via_sso: bool = False  # the caller's login was a single sign-on

    def require(self, minimum: Role, doing: str) -> None:
        """Forbidden, in words, unless the caller's role is `minimum` or higher."""
        if rank(self.role) < rank(minimum):
            raise Forbidden(
                f"{doing} takes the {minimum} role or higher in {self.organization_name}, and "
                f"you are a {self.role} there: ask one of its admins to change your role")


# Whom a caller names: (user id, organization id, or None for their personal one).
Named = tuple[str, str | None]
Found = tuple[Organization, str]  # an organization and the caller's role in it


async def access(session: AsyncSession, user: User, organization_id: str | None, *,
                 via_sso: bool, minimum: Role = "viewer", doing: str = "this") -> Access:
    """The caller's membership of the organization (None: their personal one), checked
    against the organization's sign-in rule and `minimum`. Every route and message that
    acts in an organization comes through here (messages in a batch: `memberships` and
    `admit`, the two halves of this)."""
    found = await memberships(session, {(user.id, organization_id)})
    return admit(found.get((user.id, organization_id)), user.id, via_sso=via_sso,
                 minimum=minimum, doing=doing)


def admit(found: Found | None, user_id: str, *, via_sso: bool, minimum: Role,
          doing: str) -> Access:
    """The rule: a member (else NotFound), signed in as the organization requires, with
    `minimum` or a higher role (else Forbidden, in words)."""
    if found is None:
        raise NotFound(NOT_A_MEMBER)
    organization, role = found
    if organization.require_sso and not via_sso:
        raise Forbidden(f"{organization.name} requires single sign-on: sign out, then sign in "
                        "with your organization's provider instead of a password")
    granted = Access(organization.id, organization.name, user_id, checked_role(role), via_sso)
    granted.require(minimum, doing)
    return granted


async def memberships(session: AsyncSession, named: set[Named]) -> dict[Named, Found]:
    """Of these (user, organization) pairs, those where the user is a member, with the
    organization and their role: one query however many (a burst of messages)."""
    found = await _memberships(session, named)
    missing = {user_id for user_id, organization_id in named
               if organization_id is None and (user_id, None) not in found}
    if missing:  # accounts older than their personal organization get it now
        for user in (await session.scalars(select(User).where(User.id.in_(missing)))).all():
            await personal_organization(session, user)
        found |= await _memberships(session, {(user_id, None) for user_id in missing})
    return found


async def _memberships(session: AsyncSession, named: set[Named]) -> dict[Named, Found]:
    if not named:
        return {}
    pairs = sorted((u, o) for u, o in named if o is not None)
    personal = sorted({u for u, o in named if o is None})
    conditions: list[ColumnElement[bool]] = []
    if pairs:
        conditions.append(tuple_(Membership.user_id, Organization.id).in_(pairs))
    if personal:
        conditions.append(and_(Organization.personal_user_id == Membership.user_id,
                               Membership.user_id.in_(personal)))
    rows = await session.execute(
        select(Organization, Membership.role, Membership.user_id)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(or_(*conditions)))
    found: dict[Named, Found] = {}
    for organization, role, user_id in rows.tuples():
        if (user_id, organization.id) in named:
            found[(user_id, organization.id)] = (organization, role)
        if organization.personal_user_id == user_id and (user_id, None) in named:
            found[(user_id, None)] = (organization, role)
    return found


def personal_name(user: User) -> str:
    """What a user's personal organization is called (the migration names them alike)."""
    return f"{(user.name or user.email.split('@')[0]).strip()[:180]}'s workspace"


async def personal_organization(session: AsyncSession, user: User) -> Organization:
    """The user's personal organization, made (with them as owner) if they have none yet:
    sign-up makes it, and so does the first request of an account made some other way."""
    found = await session.scalar(
        select(Organization).where(Organization.personal_user_id == user.id))
    if found is not None:
        return found
    try:
        async with session.begin_nested():  # a concurrent first request may make it first
            organization = Organization(name=personal_name(user), personal_user_id=user.id)
            session.add(organization)
            await session.flush()
            session.add(Membership(organization_id=organization.id, user_id=user.id,
                                   role="owner"))
            await session.flush()
    except IntegrityError:
        made = await session.scalar(
            select(Organization).where(Organization.personal_user_id == user.id))
        assert made is not None
        return made
    return organization


def _checked_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"an organization's name must be 1 to {MAX_NAME_LENGTH} "
                               "characters")
    return cleaned


async def create_organization(session: AsyncSession, user: User, name: str) -> Organization:
    """A new organization with its maker as owner."""
    organization = Organization(name=_checked_name(name))
    session.add(organization)
    await session.flush()
    session.add(Membership(organization_id=organization.id, user_id=user.id, role="owner"))
    await session.flush()
    return organization


async def my_organizations(session: AsyncSession, user_id: str) -> list[tuple[Organization, Role]]:
    """The user's organizations with their role, their personal one first, then by name."""
    rows = await session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by((Organization.personal_user_id == user_id).desc(), Organization.name,
                  Organization.id)
    )
    return [(organization, checked_role(role)) for organization, role in rows.tuples()]


async def members(session: AsyncSession, organization_id: str) -> list[tuple[Membership, User]]:
    """The organization's members with their accounts, owners first, then by email."""
    rows = await session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
        .order_by(User.email)
    )
    found = list(rows.tuples())
    return sorted(found, key=lambda pair: -rank(pair[0].role))


async def _membership(session: AsyncSession, organization_id: str, user_id: str) -> Membership:
    found = await session.scalar(
        select(Membership).where(Membership.organization_id == organization_id,
                                 Membership.user_id == user_id))
    if found is None:
        raise NotFound("member not found in this organization")
    return found


async def _owners(session: AsyncSession, organization_id: str) -> int:
    # Lock the owners' rows (PostgreSQL), in one order, so two owners demoting each other
    # at once take turns (no deadlock) and the second counts after the first: both
    # cannot pass and leave none. SQLite has one writer anyway.
    query = select(Membership.user_id).where(Membership.organization_id == organization_id,
                                             Membership.role == "owner")
    if session.get_bind().dialect.name != "sqlite":
        query = query.order_by(Membership.user_id).with_for_update()
    return len((await session.scalars(query)).all())


async def _keep_an_owner(session: AsyncSession, member: Membership, doing: str) -> None:
    if member.role == "owner" and await _owners(session, member.organization_id) <= 1:
        raise Conflict(f"{doing} would leave the organization without an owner: make another "
                       "member an owner first")


async def _not_personal_user(session: AsyncSession, member: Membership, doing: str) -> None:
    """The user a personal organization was made for stays its owner: requests that name
    no organization act in it."""
    personal = await session.scalar(
        select(Organization.personal_user_id).where(Organization.id == member.organization_id))
    if personal == member.user_id:
        raise Conflict(f"{doing} is not possible: this is that user's personal organization, "
                       "which always keeps them as owner")


async def change_role(session: AsyncSession, caller: Access, user_id: str,
                      role: str) -> tuple[Membership, Role]:
    """Set a member's role (admin+); the membership and the role it had. Only an owner
    makes or unmakes an owner."""
    caller.require("admin", "changing a member's role")
    new_role = checked_role(role)
    member = await _membership(session, caller.organization_id, user_id)
    if "owner" in (new_role, member.role):
        caller.require("owner", "making or unmaking an owner")
    if new_role != member.role and member.role == "owner":
        await _keep_an_owner(session, member, "demoting the last owner")
        await _not_personal_user(session, member, "demoting this owner")
    before = checked_role(member.role)
    member.role = new_role
    await session.flush()
    return member, before


async def remove_member(session: AsyncSession, caller: Access, user_id: str) -> Membership:
    """Remove a member (admin+; an owner only by an owner). Leaving is `leave`."""
    caller.require("admin", "removing a member")
    member = await _membership(session, caller.organization_id, user_id)
    if member.role == "owner":
        caller.require("owner", "removing an owner")
    await _keep_an_owner(session, member, "removing the last owner")
    await _not_personal_user(session, member, "removing this member")
    await session.delete(member)
    await session.flush()
    return member


async def leave(session: AsyncSession, caller: Access) -> None:
    """The caller leaves the organization (any role; not its last owner)."""
    member = await _membership(session, caller.organization_id, caller.user_id)
    await _keep_an_owner(session, member, "leaving as its last owner")
    await _not_personal_user(session, member, "leaving")
    await session.delete(member)
    await session.flush()


async def add_member(session: AsyncSession, organization_id: str, user_id: str,
                     role: Role) -> Membership | None:
    """Make the user a member with this role; None if they already are one (their role
    stays: an invitation or a sign-in never lowers nor raises a standing role)."""
    existing = await session.scalar(
        select(Membership).where(Membership.organization_id == organization_id,
                                 Membership.user_id == user_id))
    if existing is not None:
        return None
    member = Membership(organization_id=organization_id, user_id=user_id, role=role,
                        created_at=utcnow())
    session.add(member)
    await session.flush()
    return member


async def role_of(session: AsyncSession, organization_id: str, user_id: str) -> Role | None:
    role = await session.scalar(
        select(Membership.role).where(Membership.organization_id == organization_id,
                                      Membership.user_id == user_id))
    return None if role is None else checked_role(role)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


async def join_by_sso_domain(session: AsyncSession, user: User) -> Organization | None:
    """A single sign-on's verified email maps into the organization claiming its domain,
    as a member; the organization, if the user joined it now."""
    organization = await session.scalar(
        select(Organization).where(Organization.sso_domain == email_domain(user.email)))
    if organization is None:
        return None
    joined = await add_member(session, organization.id, user.id, "member")
    return organization if joined is not None else None


async def update_settings(session: AsyncSession, caller: Access, *, name: str | None,
                          require_sso: bool | None, sso_domain: str | None,
                          clear_domain: bool, caller_email: str = "") -> Organization:
    """Rename (admin+), require single sign-on or claim an email domain (owner)."""
    caller.require("admin", "changing the organization's settings")
    organization = await session.get(Organization, caller.organization_id)
    assert organization is not None
    if name is not None:
        organization.name = _checked_name(name)
    if require_sso is not None or sso_domain is not None or clear_domain:
        caller.require("owner", "changing how members sign in")
    if require_sso and not caller.via_sso:
        raise Forbidden("sign in with single sign-on before requiring it: from a password "
                        "login you would lock yourself out")
    if require_sso is not None:
        organization.require_sso = require_sso
    if clear_domain:
        organization.sso_domain = None
    elif sso_domain is not None:
        organization.sso_domain = await _free_domain(session, organization.id, sso_domain,
                                                     caller_email)
    await session.flush()
    return organization


async def _free_domain(session: AsyncSession, organization_id: str, domain: str,
                       caller_email: str) -> str:
    """A domain an owner may claim: their own email's (every single sign-on of it will join
    the organization, so nobody may claim a domain that is not theirs), unclaimed."""
    cleaned = domain.strip().lower()
    if "." not in cleaned or "@" in cleaned or len(cleaned) > 253 or " " in cleaned:
        raise ValidationFailed(f"{domain!r} is not an email domain (like example.com)")
    if email_domain(caller_email) != cleaned:
        raise Forbidden(f"you may claim only the domain of your own email address "
                        f"({email_domain(caller_email)}), not {cleaned}")
    taken = await session.scalar(select(func.count()).select_from(Organization).where(
        Organization.sso_domain == cleaned, Organization.id != organization_id))
    if taken:
        raise Conflict(f"another organization has claimed {cleaned}: a domain maps into one "
                       "organization only")
    return cleaned
