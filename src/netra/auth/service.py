"""Auth logic: sign-up, login, refresh-token rotation with reuse detection, API keys.

No HTTP here and no commits: the caller (request dependency, CLI) owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.expression import Exists

from netra.auth.models import ApiKey, RefreshToken, User
from netra.auth.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)
from netra.auth.tokens import (
    InvalidToken,
    create_access_token,
    decode_access_token,
    digest,
    is_api_key,
    new_api_key,
    new_refresh_token,
)
from netra.db.base import new_id, utcnow
from netra.errors import BadRequest, Conflict, NotFound, Unauthorized, ValidationFailed
from netra.settings import Settings

MAX_NAME_LENGTH = 200
# One message for unknown email and wrong password: the answer must not reveal accounts.
BAD_CREDENTIALS = "wrong email or password"
BAD_REFRESH_TOKEN = "invalid, expired or revoked refresh token"
# Recording every API-key use would make each ingestion request a write; a minute is
# precise enough to tell a live key from a forgotten one.
_LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class SignedIn:
    """The caller of an authenticated request: the user, and the login their token is of."""

    user: User
    login_id: str
    via_sso: bool = False  # the login was made by single sign-on, not a password


@dataclass(frozen=True)
class RevokedLogin:
    user_id: str
    login_id: str


class RefreshTokenReused(Unauthorized):
    """A rotated refresh token came back: it was stolen or replayed."""

    # The login's revocation must be committed even though the request fails.
    keeps_changes = True

    def __init__(self, message: str, revoked: RevokedLogin) -> None:
        super().__init__(message)
        self.revoked = revoked


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validated_email(email: str) -> str:
    try:
        return validate_email(normalize_email(email), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValidationFailed(f"invalid email: {error}") from None


def _validated_name(name: str | None, fallback: str) -> str:
    cleaned = (name or "").strip()
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"name must be at most {MAX_NAME_LENGTH} characters")
    return cleaned or fallback


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    user: User | None = await session.scalar(select(User).where(User.email == email))
    return user


async def _issue_tokens(
    session: AsyncSession, settings: Settings, user_id: str, login_id: str, *, sso: bool = False
) -> TokenPair:
    now = utcnow()
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user_id,
            login_id=login_id,
            token_hash=digest(refresh_token),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
            sso=sso,
        )
    )
    await session.flush()
    access_token = create_access_token(settings, user_id, login_id, now=now, via_sso=sso)
    return TokenPair(access_token, refresh_token, settings.access_token_ttl_s)


async def signup(
    session: AsyncSession, settings: Settings, *, email: str, password: str, name: str | None = None
) -> tuple[User, TokenPair]:
    """Create an account and start its first login. Conflict if the email is taken."""
    address = validated_email(email)
    check_password_policy(password)
    display_name = _validated_name(name, fallback=address.split("@")[0])
    if await user_by_email(session, address) is not None:
        raise Conflict("an account with this email already exists")
    user = User(email=address, name=display_name, password_hash=await hash_password(password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent sign-up with the same email won the race
        raise Conflict("an account with this email already exists") from None
    return user, await _issue_tokens(session, settings, user.id, login_id=new_id())


async def login(
    session: AsyncSession, settings: Settings, *, email: str, password: str
) -> tuple[User, TokenPair]:
    user = await user_by_email(session, normalize_email(email))
    # An account made by single sign-on has no password: the same answer as an unknown one.
    if user is None or user.password_hash is None:
        await verify_against_dummy(password)  # same cost as a real check: no timing oracle
        raise Unauthorized(BAD_CREDENTIALS)
    if not await verify_password(user.password_hash, password):
        raise Unauthorized(BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    return user, await start_login(session, settings, user.id)


async def start_login(session: AsyncSession, settings: Settings, user_id: str, *,
                      sso: bool = False) -> TokenPair:
    """A new login of the user (a password, or with `sso` a single sign-on, proved who
    it is)."""
    return await _issue_tokens(session, settings, user_id, login_id=new_id(), sso=sso)


async def _revoke_login(session: AsyncSession, login_id: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.login_id == login_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def _refusal(session: AsyncSession, token_hash: str, now: datetime) -> Unauthorized:
    """The 401 for a token that could not be claimed; a rotated one revokes its login."""
    token = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == token_hash)
        .execution_options(populate_existing=True)
    )
    if token is not None and token.rotated_at is not None:
        await _revoke_login(session, token.login_id, now)
        return RefreshTokenReused("refresh token reused; every token of this login is revoked",
                                  RevokedLogin(token.user_id, token.login_id))
    return Unauthorized(BAD_REFRESH_TOKEN)


async def refresh(
    session: AsyncSession, settings: Settings, refresh_token: str
) -> tuple[User, TokenPair]:
    """Rotate: the presented token is spent and a new pair of the same login is issued."""
    now = utcnow()
    token_hash = digest(refresh_token)
    # Claim with one conditional UPDATE rather than read-then-write: of two concurrent
    # refreshes with the same token exactly one wins, on SQLite and PostgreSQL alike.
    claimed = (
        await session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.rotated_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(rotated_at=now)
            .returning(RefreshToken.user_id, RefreshToken.login_id, RefreshToken.sso)
        )
    ).one_or_none()
    if claimed is None:
        raise await _refusal(session, token_hash, now)
    user = await session.get(User, claimed.user_id)
    if user is None:
        raise Unauthorized(BAD_REFRESH_TOKEN)
    return user, await _issue_tokens(session, settings, user.id, login_id=claimed.login_id,
                                     sso=claimed.sso)


async def logout(session: AsyncSession, refresh_token: str) -> RevokedLogin | None:
    """Revoke the whole login the token belongs to; an unknown token is a no-op."""
    row = (await session.execute(
        select(RefreshToken.user_id, RefreshToken.login_id)
        .where(RefreshToken.token_hash == digest(refresh_token))
    )).one_or_none()
    if row is None:
        return None
    await _revoke_login(session, row.login_id, utcnow())
    return RevokedLogin(row.user_id, row.login_id)


async def change_password(
    session: AsyncSession, settings: Settings, user: User, *, current: str, new: str
) -> tuple[list[RevokedLogin], TokenPair]:
    """Set a new password: every login of the user is revoked (a thief's included) and
    this client gets a fresh one. Unauthorized if `current` is wrong."""
    if user.password_hash is None:
        raise BadRequest("this account signs in with single sign-on and has no password")
    if not await verify_password(user.password_hash, current):
        raise Unauthorized("the current password is wrong")
    check_password_policy(new)
    user.password_hash = await hash_password(new)
    now = utcnow()
    logins = (await session.scalars(
        select(RefreshToken.login_id).distinct()
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
    )).all()
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    pair = await _issue_tokens(session, settings, user.id, login_id=new_id())
    return [RevokedLogin(user.id, login_id) for login_id in logins], pair


def _login_stands(user_id: str | InstrumentedAttribute[str], login_id: str) -> Exists:
    """The user's login has not been revoked (logout, refresh-token reuse)."""
    # Revoking a login stamps every one of its refresh tokens, and a revoked login gets no
    # new ones: one unstamped token means it stands. EXISTS stops at the first (indexed).
    return exists().where(RefreshToken.login_id == login_id, RefreshToken.user_id == user_id,
                          RefreshToken.revoked_at.is_(None))


async def signed_in(session: AsyncSession, settings: Settings, token: str) -> SignedIn:
    """Who an access token speaks for, if its login still stands (no logout, no reuse).

    Checked on every request in the user lookup's own query: no extra round trip and no
    cache, so a revocation holds at once on every instance."""
    claims = decode_access_token(settings, token)
    user = await session.scalar(
        select(User).where(User.id == claims.user_id, _login_stands(User.id, claims.login_id))
    )
    if user is None:  # deleted, or its login revoked, since the token was issued
        raise InvalidToken()
    return SignedIn(user, claims.login_id, claims.via_sso)


async def user_from_access_token(session: AsyncSession, settings: Settings, token: str) -> User:
    return (await signed_in(session, settings, token)).user


async def login_via_sso(session: AsyncSession, login_id: str) -> bool:
    """Whether this login was made by single sign-on (for a socket, which has no token)."""
    return bool(await session.scalar(
        select(RefreshToken.sso).where(RefreshToken.login_id == login_id).limit(1)))


async def login_stands(session: AsyncSession, user_id: str, login_id: str) -> bool:
    """Whether this login of this user has not been revoked."""
    return bool(await session.scalar(select(_login_stands(user_id, login_id))))


async def standing_logins(session: AsyncSession, logins: set[tuple[str, str]]) -> set[str]:
    """Of these (user id, login id) pairs, the login ids not revoked (one query)."""
    if not logins:
        return set()
    login_ids = {login_id for _, login_id in logins}
    rows = await session.execute(
        select(RefreshToken.user_id, RefreshToken.login_id).distinct()
        .where(RefreshToken.login_id.in_(login_ids), RefreshToken.revoked_at.is_(None))
    )
    return {login_id for user_id, login_id in rows.tuples() if (user_id, login_id) in logins}


@dataclass(frozen=True)
class KeyHolder:
    """Who an API key speaks for: the organization it writes into, and who made it."""

    user: User
    organization_id: str


async def user_from_api_key(session: AsyncSession, key: str) -> KeyHolder:
    if not is_api_key(key):
        raise InvalidToken("invalid API key")
    row = (
        await session.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == digest(key))
        )
    ).one_or_none()
    if row is None:
        raise InvalidToken("invalid API key")
    api_key, user = row._tuple()
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at >= _LAST_USED_PRECISION:
        api_key.last_used_at = now
    return KeyHolder(user, api_key.organization_id)


async def create_api_key(session: AsyncSession, user_id: str, name: str, *,
                         organization_id: str) -> tuple[ApiKey, str]:
    """A new key of the organization, made by the user; the plain key is returned only
    here (only its digest is stored)."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"API key name must be 1 to {MAX_NAME_LENGTH} characters")
    key = new_api_key()
    api_key = ApiKey(user_id=user_id, organization_id=organization_id, name=cleaned,
                     key_hash=digest(key), created_at=utcnow())
    session.add(api_key)
    await session.flush()
    return api_key, key


async def list_api_keys(session: AsyncSession, organization_id: str) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.organization_id == organization_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return list(rows)


async def delete_api_key(session: AsyncSession, organization_id: str, key_id: str) -> ApiKey:
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
    )
    if api_key is None:  # another organization's key is indistinguishable from a missing one
        raise NotFound("API key not found")
    await session.delete(api_key)
    await session.flush()
    return api_key


async def ensure_user(session: AsyncSession, *, email: str, password: str, name: str) -> User:
    """The account exists with exactly these credentials (the demo login).

    The address comes from the operator's settings, not a visitor, so it is only
    normalised: the default demo address uses the special-use `.local` domain that
    strict email validation refuses.
    """
    address = normalize_email(email)
    check_password_policy(password)
    user = await user_by_email(session, address)
    if user is None:
        user = User(email=address, name=name, password_hash=await hash_password(password))
        session.add(user)
        await session.flush()
    elif user.password_hash is None or not await verify_password(user.password_hash, password):
        user.password_hash = await hash_password(password)  # settings changed the password
    return user
