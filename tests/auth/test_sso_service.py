"""Single sign-on's rules over the database, on SQLite and PostgreSQL: states spent once,
which account an identity signs in to, hand-off codes spent once in their browser.
(The whole flow against a real provider: tests/e2e/test_sso.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from netra.auth import service, sso_service
from netra.auth.models import OidcHandoff, OidcIdentity, OidcLogin
from netra.auth.oidc import Authorization, Identity, SsoFailed
from netra.auth.tokens import digest
from netra.db import Database
from netra.db.base import utcnow
from netra.errors import BadRequest, Unauthorized

from .helpers import PASSWORD, SETTINGS, create_user, in_request

ISSUER = "https://id.example.com"
BROWSER = "b" * 43


def identity(subject: str = "subject-1", email: str | None = "grace@example.com",
             verified: bool = True, issuer: str = ISSUER) -> Identity:
    return Identity(provider="example", issuer=issuer, subject=subject, email=email,
                    email_verified=verified, name="Grace Hopper")


async def remember(database: Database, state: str = "state-1") -> None:
    authorization = Authorization("https://id.example.com/authorize", state, "nonce-1",
                                  "v" * 64)
    await in_request(database,
                     lambda s: sso_service.remember_login(s, "example", authorization, BROWSER))


async def claim(database: Database, state: str = "state-1") -> sso_service.PendingLogin:
    return await in_request(database, lambda s: sso_service.claim_login(s, state))


async def test_a_state_is_spent_once(database: Database) -> None:
    await remember(database)
    pending = await claim(database)
    assert pending == sso_service.PendingLogin("example", "nonce-1", "v" * 64, digest(BROWSER))
    with pytest.raises(SsoFailed) as refused:
        await claim(database)
    assert refused.value.reason == "invalid_state"


async def test_an_expired_state_is_refused_and_cleared(database: Database) -> None:
    await remember(database, "old")
    async with database.transaction() as session:
        await session.execute(update(OidcLogin).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(SsoFailed):
        await claim(database, "old")
    await remember(database, "new")  # a new sign-in clears out the expired ones
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OidcLogin)) == 1


def test_a_state_goes_on_only_in_its_browser_back_from_its_provider() -> None:
    pending = sso_service.PendingLogin("example", "nonce", "verifier", digest(BROWSER))
    sso_service.check_claim(pending, "example", BROWSER)
    for provider, browser in [("example", "c" * 43), ("example", ""), ("other", BROWSER)]:
        with pytest.raises(SsoFailed) as refused:
            sso_service.check_claim(pending, provider, browser)
        assert refused.value.reason == "invalid_state"


async def test_a_new_identity_makes_an_account_without_a_password(database: Database) -> None:
    user = await in_request(database, lambda s: sso_service.account_for(s, identity()))
    assert (user.email, user.name, user.password_hash) == (
        "grace@example.com", "Grace Hopper", None)
    with pytest.raises(Unauthorized):  # like a wrong password: it has none
        await in_request(database, lambda s: service.login(
            s, SETTINGS, email="grace@example.com", password=PASSWORD))
    with pytest.raises(BadRequest):
        await in_request(database, lambda s: service.change_password(
            s, SETTINGS, user, current=PASSWORD, new=PASSWORD + "!"))


async def test_the_issuer_and_subject_come_first(database: Database) -> None:
    first = await in_request(database, lambda s: sso_service.account_for(s, identity()))
    # The provider's email changed, even to an unverified one: it is still that person.
    moved = identity(email="hopper@example.net", verified=False)
    again = await in_request(database, lambda s: sso_service.account_for(s, moved))
    assert again.id == first.id
    # The same subject at another issuer is someone else, linked by verified email.
    elsewhere = identity(issuer="https://other.example.com", email="grace@example.com")
    linked = await in_request(database, lambda s: sso_service.account_for(s, elsewhere))
    assert linked.id == first.id
    async with database.sessions() as session:
        links = await session.scalar(select(func.count()).where(OidcIdentity.user_id == first.id))
    assert links == 2


async def test_a_verified_email_links_the_password_account(database: Database) -> None:
    account, _ = await create_user(database, email="ada@example.com")
    user = await in_request(database, lambda s: sso_service.account_for(
        s, identity(email="ADA@Example.com")))
    assert user.id == account.id
    _, pair = await in_request(database, lambda s: service.login(
        s, SETTINGS, email="ada@example.com", password=PASSWORD))
    assert pair.access_token  # the password still works


@pytest.mark.parametrize(("email", "verified", "reason"), [
    ("ada@example.com", False, "email_unverified"),
    (None, True, "email_missing"),
    ("not-an-address", True, "email_missing"),
])
async def test_an_email_the_provider_does_not_vouch_for_is_refused(
        database: Database, email: str | None, verified: bool, reason: str) -> None:
    account, _ = await create_user(database, email="ada@example.com")
    with pytest.raises(SsoFailed) as refused:
        await in_request(database, lambda s: sso_service.account_for(
            s, identity(email=email, verified=verified)))
    assert refused.value.reason == reason
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OidcIdentity)) == 0


async def test_a_handoff_code_is_spent_once_in_its_browser(database: Database) -> None:
    account, _ = await create_user(database)
    code = await in_request(database, lambda s: sso_service.hand_off(s, account.id, BROWSER))
    with pytest.raises(Unauthorized):
        await in_request(database, lambda s: sso_service.exchange(s, SETTINGS, code, "c" * 43))
    user, pair = await in_request(
        database, lambda s: sso_service.exchange(s, SETTINGS, code, BROWSER))
    assert user.id == account.id
    me = await in_request(
        database, lambda s: service.user_from_access_token(s, SETTINGS, pair.access_token))
    assert me.id == account.id
    with pytest.raises(Unauthorized):
        await in_request(database, lambda s: sso_service.exchange(s, SETTINGS, code, BROWSER))


async def test_an_expired_handoff_code_is_refused(database: Database) -> None:
    account, _ = await create_user(database)
    code = await in_request(database, lambda s: sso_service.hand_off(s, account.id, BROWSER))
    async with database.transaction() as session:
        await session.execute(
            update(OidcHandoff).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(Unauthorized):
        await in_request(database, lambda s: sso_service.exchange(s, SETTINGS, code, BROWSER))
