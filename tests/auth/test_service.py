import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from netra.auth import service
from netra.auth.models import ApiKey, RefreshToken, User
from netra.auth.tokens import digest
from netra.db import Database
from netra.db.base import utcnow
from netra.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from netra.orgs.service import personal_organization

from .helpers import PASSWORD, SETTINGS, create_user, in_request, refresh


async def test_signup_normalises_the_email_and_signs_in(database: Database) -> None:
    user, pair = await create_user(database, email="  Ada.Lovelace@Example.COM ")

    assert user.email == "ada.lovelace@example.com"
    assert user.name == "Ada"
    assert pair.expires_in == SETTINGS.access_token_ttl_s
    me = await in_request(
        database, lambda s: service.user_from_access_token(s, SETTINGS, pair.access_token)
    )
    assert me.id == user.id
    async with database.sessions() as session:
        stored = await session.scalar(select(RefreshToken).where(RefreshToken.user_id == user.id))
    assert stored is not None
    assert stored.token_hash == digest(pair.refresh_token) != pair.refresh_token


async def test_login_accepts_the_email_in_any_case(database: Database) -> None:
    user, _ = await create_user(database)

    logged_in, pair = await in_request(
        database,
        lambda s: service.login(s, SETTINGS, email=" ADA@example.com", password=PASSWORD),
    )

    assert logged_in.id == user.id
    assert pair.refresh_token


async def test_signup_with_a_taken_email_is_a_conflict(database: Database) -> None:
    await create_user(database, email="ada@example.com")

    with pytest.raises(Conflict):
        await create_user(database, email="ADA@example.com")


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@example.com", "7chars!"), ("not-an-email", PASSWORD), ("ada@", PASSWORD)],
)
async def test_signup_refuses_invalid_input(database: Database, email: str, password: str) -> None:
    with pytest.raises(ValidationFailed):
        await create_user(database, email=email, password=password)


async def test_wrong_password_and_unknown_email_fail_alike(database: Database) -> None:
    await create_user(database)

    async def login(email: str, password: str) -> Unauthorized:
        with pytest.raises(Unauthorized) as caught:
            await in_request(
                database, lambda s: service.login(s, SETTINGS, email=email, password=password)
            )
        return caught.value

    wrong_password = await login("ada@example.com", "not the password")
    unknown_email = await login("nobody@example.com", PASSWORD)
    assert type(wrong_password) is type(unknown_email) is Unauthorized
    assert wrong_password.message == unknown_email.message


async def test_refresh_rotates_and_the_old_token_stops_working(database: Database) -> None:
    user, first = await create_user(database)

    refreshed_user, second = await refresh(database, first.refresh_token)

    assert refreshed_user.id == user.id
    assert second.refresh_token != first.refresh_token
    assert second.access_token
    _, third = await refresh(database, second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_reusing_a_rotated_token_revokes_the_whole_login(database: Database) -> None:
    _, first = await create_user(database)
    _, second = await refresh(database, first.refresh_token)

    with pytest.raises(service.RefreshTokenReused) as caught:
        await refresh(database, first.refresh_token)

    assert caught.value.keeps_changes
    # The revocation was committed despite the 401: the thief's or victim's newer token
    # is dead too, so whoever holds it must sign in again.
    with pytest.raises(Unauthorized):
        await refresh(database, second.refresh_token)


async def test_reuse_leaves_other_logins_of_the_user_alone(database: Database) -> None:
    _, first = await create_user(database)
    _, other = await in_request(
        database,
        lambda s: service.login(s, SETTINGS, email="ada@example.com", password=PASSWORD),
    )
    await refresh(database, first.refresh_token)

    with pytest.raises(service.RefreshTokenReused):
        await refresh(database, first.refresh_token)

    _, still_valid = await refresh(database, other.refresh_token)
    assert still_valid.refresh_token


async def test_concurrent_refreshes_of_one_token_let_exactly_one_win(database: Database) -> None:
    _, pair = await create_user(database)

    outcomes = await asyncio.gather(
        refresh(database, pair.refresh_token),
        refresh(database, pair.refresh_token),
        return_exceptions=True,
    )

    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0], Unauthorized)


async def test_unknown_and_expired_refresh_tokens_are_refused(database: Database) -> None:
    user, pair = await create_user(database)
    async with database.transaction() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    with pytest.raises(Unauthorized) as expired:
        await refresh(database, pair.refresh_token)
    with pytest.raises(Unauthorized) as unknown:
        await refresh(database, "no-such-token")

    assert not expired.value.keeps_changes
    assert not unknown.value.keeps_changes


async def test_logout_revokes_the_login(database: Database) -> None:
    _, pair = await create_user(database)

    await in_request(database, lambda s: service.logout(s, pair.refresh_token))

    with pytest.raises(Unauthorized):
        await refresh(database, pair.refresh_token)


async def test_logout_with_an_unknown_token_is_a_no_op(database: Database) -> None:
    _, pair = await create_user(database)

    await in_request(database, lambda s: service.logout(s, "no-such-token"))

    _, rotated = await refresh(database, pair.refresh_token)
    assert rotated.refresh_token


async def test_access_token_of_a_deleted_user_is_refused(database: Database) -> None:
    user, pair = await create_user(database)
    async with database.transaction() as session:
        await session.delete(await session.get(User, user.id))

    with pytest.raises(Unauthorized):
        await in_request(
            database, lambda s: service.user_from_access_token(s, SETTINGS, pair.access_token)
        )


async def _personal(database: Database, user: User) -> str:
    organization = await in_request(database, lambda s: personal_organization(s, user))
    return organization.id


async def test_api_key_lifecycle(database: Database) -> None:
    user, _ = await create_user(database)
    org = await _personal(database, user)

    api_key, key = await in_request(
        database, lambda s: service.create_api_key(s, user.id, " ingest bot ",
                                                   organization_id=org)
    )

    assert key.startswith("nak_")
    assert api_key.name == "ingest bot"
    assert api_key.key_hash == digest(key)
    holder = await in_request(database, lambda s: service.user_from_api_key(s, key))
    assert (holder.user.id, holder.organization_id) == (user.id, org)
    listed = await in_request(database, lambda s: service.list_api_keys(s, org))
    assert [k.id for k in listed] == [api_key.id]
    assert listed[0].last_used_at is not None

    await in_request(database, lambda s: service.delete_api_key(s, org, api_key.id))

    assert await in_request(database, lambda s: service.list_api_keys(s, org)) == []
    with pytest.raises(Unauthorized):
        await in_request(database, lambda s: service.user_from_api_key(s, key))


@pytest.mark.parametrize("key", ["nak_not-a-real-key", "not-even-prefixed", ""])
async def test_unknown_api_keys_are_refused(database: Database, key: str) -> None:
    with pytest.raises(Unauthorized):
        await in_request(database, lambda s: service.user_from_api_key(s, key))


async def test_api_keys_are_isolated_between_organizations(database: Database) -> None:
    ada, _ = await create_user(database, email="ada@example.com")
    bob, _ = await create_user(database, email="bob@example.com")
    ada_org, bob_org = await _personal(database, ada), await _personal(database, bob)
    ada_key, ada_secret = await in_request(
        database, lambda s: service.create_api_key(s, ada.id, "ada's", organization_id=ada_org)
    )

    assert await in_request(database, lambda s: service.list_api_keys(s, bob_org)) == []
    with pytest.raises(NotFound):
        await in_request(database, lambda s: service.delete_api_key(s, bob_org, ada_key.id))
    holder = await in_request(database, lambda s: service.user_from_api_key(s, ada_secret))
    assert (holder.user.id, holder.organization_id) == (ada.id, ada_org)
    async with database.sessions() as session:
        assert await session.get(ApiKey, ada_key.id) is not None


async def test_ensure_user_is_idempotent_and_follows_the_configured_password(
    database: Database,
) -> None:
    async def ensure(password: str) -> User:
        return await in_request(
            database,
            lambda s: service.ensure_user(
                s, email="demo@netra.local", password=password, name="Demo"
            ),
        )

    first = await ensure("demo-password")
    again = await ensure("demo-password")
    changed = await ensure("a-new-demo-password")

    assert first.id == again.id == changed.id
    _, pair = await in_request(
        database,
        lambda s: service.login(
            s, SETTINGS, email="demo@netra.local", password="a-new-demo-password"
        ),
    )
    assert pair.access_token


async def _signed_in(database: Database, access_token: str) -> service.SignedIn:
    return await in_request(database, lambda s: service.signed_in(s, SETTINGS, access_token))


async def test_logout_revokes_the_logins_access_tokens_and_no_other_login(
    database: Database
) -> None:
    user, first = await create_user(database)
    _, rotated = await refresh(database, first.refresh_token)
    _, other = await in_request(
        database,
        lambda s: service.login(s, SETTINGS, email="ada@example.com", password=PASSWORD),
    )
    login = (await _signed_in(database, first.access_token)).login_id
    assert (await _signed_in(database, rotated.access_token)).login_id == login

    revoked = await in_request(database, lambda s: service.logout(s, rotated.refresh_token))

    assert revoked == service.RevokedLogin(user.id, login)
    for token in (first.access_token, rotated.access_token):  # every token of the login
        with pytest.raises(Unauthorized):
            await _signed_in(database, token)
    still = await _signed_in(database, other.access_token)
    assert still.user.id == user.id and still.login_id != login


async def test_refresh_reuse_revokes_the_logins_access_tokens(database: Database) -> None:
    user, first = await create_user(database)
    _, rotated = await refresh(database, first.refresh_token)
    login = (await _signed_in(database, rotated.access_token)).login_id

    with pytest.raises(service.RefreshTokenReused) as reused:
        await refresh(database, first.refresh_token)

    assert reused.value.revoked == service.RevokedLogin(user.id, login)
    with pytest.raises(Unauthorized):
        await _signed_in(database, rotated.access_token)


async def test_standing_logins_are_told_from_revoked_ones(database: Database) -> None:
    user, first = await create_user(database)
    _, second = await in_request(
        database,
        lambda s: service.login(s, SETTINGS, email="ada@example.com", password=PASSWORD),
    )
    gone = (await _signed_in(database, first.access_token)).login_id
    kept = (await _signed_in(database, second.access_token)).login_id
    await in_request(database, lambda s: service.logout(s, first.refresh_token))

    async with database.transaction() as session:
        standing = await service.standing_logins(
            session, {(user.id, gone), (user.id, kept), ("someone-else", kept)})
        assert await service.login_stands(session, user.id, kept)
        assert not await service.login_stands(session, user.id, gone)
        assert not await service.login_stands(session, "someone-else", kept)
    assert standing == {kept}
