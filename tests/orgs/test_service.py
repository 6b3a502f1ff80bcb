"""The organization rules on real databases (SQLite and PostgreSQL): invitation expiry
and forgery, single sign-on required, an email domain mapped by single sign-on."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import update

from netra.auth.models import User
from netra.db import Database
from netra.db.base import utcnow
from netra.errors import BadRequest, Conflict, Forbidden, NotFound
from netra.orgs import invitations
from netra.orgs import service as orgs
from netra.orgs.models import Invitation
from netra.settings import Settings
from tests.auth.helpers import SETTINGS, in_request


async def _user(database: Database, email: str) -> User:
    async def make(session):  # type: ignore[no-untyped-def]
        user = User(email=email, name=email.split("@")[0], password_hash="x")
        session.add(user)
        await session.flush()
        await orgs.personal_organization(session, user)
        return user

    return await in_request(database, make)


async def _team(database: Database, via_sso: bool = False) -> tuple[User, orgs.Access]:
    owner = await _user(database, "olivia@acme.example")

    async def make(session):  # type: ignore[no-untyped-def]
        made = await orgs.create_organization(session, owner, "Acme")
        return await orgs.access(session, owner, made.id, via_sso=via_sso)

    return owner, await in_request(database, make)


async def test_an_expired_invitation_is_refused_in_words(database: Database) -> None:
    owner, acme = await _team(database)
    nia = await _user(database, "nia@example.com")
    invitation, token = await in_request(database, lambda s: invitations.invite(
        s, SETTINGS, acme, "nia@example.com", "member", owner))
    async with database.transaction() as session:
        await session.execute(update(Invitation).where(Invitation.id == invitation.id)
                              .values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(BadRequest, match="expired on .* ask the organization's admins"):
        await in_request(database, lambda s: invitations.accept(s, SETTINGS, nia, token))
    with pytest.raises(NotFound):  # and nobody became a member
        await in_request(database, lambda s: orgs.access(s, nia, acme.organization_id,
                                                         via_sso=False))


async def test_a_token_signed_with_another_secret_is_unknown(database: Database) -> None:
    owner, acme = await _team(database)
    nia = await _user(database, "nia@example.com")
    other = Settings(env="test", secret_key=SecretStr("o" * 40), redis_url=None)
    _, forged = await in_request(database, lambda s: invitations.invite(
        s, other, acme, "nia@example.com", "owner", owner))
    with pytest.raises(NotFound, match="invitation not found"):
        await in_request(database, lambda s: invitations.accept(s, SETTINGS, nia, forged))


async def test_single_sign_on_required_and_a_mapped_domain(database: Database) -> None:
    owner, by_password = await _team(database)
    with pytest.raises(Forbidden, match="before requiring it"):  # it would lock them out
        await in_request(database, lambda s: orgs.update_settings(
            s, by_password, name=None, require_sso=True, sso_domain=None, clear_domain=False))
    acme = await in_request(database, lambda s: orgs.access(
        s, owner, by_password.organization_id, via_sso=True))
    with pytest.raises(Forbidden, match="only the domain of your own email"):
        await in_request(database, lambda s: orgs.update_settings(
            s, acme, name=None, require_sso=None, sso_domain="gmail.com", clear_domain=False,
            caller_email=owner.email))
    await in_request(database, lambda s: orgs.update_settings(
        s, acme, name=None, require_sso=True, sso_domain="Acme.Example", clear_domain=False,
        caller_email=owner.email))
    with pytest.raises(Forbidden, match="requires single sign-on"):
        await in_request(database, lambda s: orgs.access(s, owner, acme.organization_id,
                                                         via_sso=False))
    granted = await in_request(database, lambda s: orgs.access(
        s, owner, acme.organization_id, via_sso=True, minimum="owner"))
    assert granted.role == "owner"
    kim = await _user(database, "kim@acme.example")
    outsider = await _user(database, "kim@elsewhere.example")
    joined = await in_request(database, lambda s: orgs.join_by_sso_domain(s, kim))
    assert joined is not None and joined.id == acme.organization_id
    assert await in_request(database, lambda s: orgs.join_by_sso_domain(s, kim)) is None
    assert await in_request(database, lambda s: orgs.join_by_sso_domain(s, outsider)) is None
    member = await in_request(database, lambda s: orgs.access(
        s, kim, acme.organization_id, via_sso=True))
    assert member.role == "member"
    with pytest.raises(Forbidden, match="takes the admin role or higher in Acme"):
        member.require("admin", "inviting members")


async def test_two_owners_demoting_each_other_at_once_leave_one(database: Database) -> None:
    owner, acme = await _team(database)
    second = await _user(database, "sam@acme.example")
    await in_request(database, lambda s: orgs.add_member(s, acme.organization_id, second.id,
                                                         "owner"))
    as_second = orgs.Access(acme.organization_id, "Acme", second.id, "owner")

    async def demote(caller: orgs.Access, user: User) -> object:
        try:
            async with database.transaction() as session:
                return await orgs.change_role(session, caller, user.id, "admin")
        except Conflict as refused:
            return refused

    outcomes = await asyncio.gather(demote(acme, second), demote(as_second, owner))
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    async with database.transaction() as session:
        roles = sorted(m.role for m, _ in await orgs.members(session, acme.organization_id))
    assert roles == ["admin", "owner"]


async def test_an_invitation_accepted_twice_at_once_is_spent_once(database: Database) -> None:
    owner, acme = await _team(database)
    nia = await _user(database, "nia@example.com")
    _, token = await in_request(database, lambda s: invitations.invite(
        s, SETTINGS, acme, "nia@example.com", "member", owner))

    async def accept() -> object:
        try:
            async with database.transaction() as session:
                return await invitations.accept(session, SETTINGS, nia, token)
        except Conflict as refused:
            return refused

    outcomes = await asyncio.gather(accept(), accept())
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
