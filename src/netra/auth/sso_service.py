"""Single sign-on's rules over the database: sign-ins waiting for their provider, which
account an identity signs in to, and the one-time codes the page trades for tokens.

No HTTP and no commits here: the caller owns the transaction (`auth/sso.py` keeps the
provider's round trip outside any). Every secret is stored as its digest.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.auth import service as auth_service
from netra.auth.models import OidcHandoff, OidcIdentity, OidcLogin, User
from netra.auth.oidc import Authorization, Identity, SsoFailed
from netra.auth.tokens import digest
from netra.db.base import utcnow
from netra.errors import Unauthorized
from netra.settings import Settings

# Long enough to type a password and pass a second factor at the provider.
LOGIN_TTL = timedelta(minutes=10)
# The page trades its code as soon as it loads.
HANDOFF_TTL = timedelta(seconds=60)
BAD_HANDOFF = "invalid, expired or used sign-in code"
_MAX_EMAIL = 320


@dataclass(frozen=True)
class PendingLogin:
    """What the callback of a sign-in needs to finish it."""

    provider: str
    nonce: str
    code_verifier: str
    browser_hash: str


async def remember_login(session: AsyncSession, provider: str, authorization: Authorization,
                         browser_key: str) -> None:
    """Keep a new sign-in's secrets until its callback (and clear out expired ones)."""
    now = utcnow()
    await session.execute(delete(OidcLogin).where(OidcLogin.expires_at <= now))
    session.add(OidcLogin(state_hash=digest(authorization.state), provider=provider,
                          nonce=authorization.nonce, code_verifier=authorization.code_verifier,
                          browser_hash=digest(browser_key), expires_at=now + LOGIN_TTL))
    await session.flush()


async def claim_login(session: AsyncSession, state: str) -> PendingLogin:
    """Spend the sign-in this state names, once. SsoFailed (`invalid_state`) if there is
    none (unknown, expired, or spent); `check_claim` says whether it may go on."""
    # One DELETE … RETURNING: of two callbacks with the same state exactly one wins.
    row = (await session.execute(
        delete(OidcLogin)
        .where(OidcLogin.state_hash == digest(state), OidcLogin.expires_at > utcnow())
        .returning(OidcLogin.provider, OidcLogin.nonce, OidcLogin.code_verifier,
                   OidcLogin.browser_hash)
    )).one_or_none()
    if row is None:
        raise SsoFailed("invalid_state", "unknown, expired or already used state")
    return PendingLogin(row.provider, row.nonce, row.code_verifier, row.browser_hash)


def check_claim(pending: PendingLogin, provider: str, browser_key: str) -> None:
    """A sign-in goes on only in the browser that started it, back from the provider it
    was sent to. Another browser presenting its state is a login CSRF (someone else's
    callback URL); the caller has spent the sign-in all the same."""
    if not hmac.compare_digest(pending.browser_hash, digest(browser_key)):
        raise SsoFailed("invalid_state", "the state belongs to another browser")
    if pending.provider != provider:
        raise SsoFailed("invalid_state", f"the state was sent to {pending.provider}")


async def account_for(session: AsyncSession, identity: Identity) -> User:
    """The user this identity signs in as: the one it is linked to; else the account with
    its email, which the provider must have verified (the identity is linked to it);
    else a new account without a password."""
    linked = (await session.execute(
        select(User, OidcIdentity).join(OidcIdentity, OidcIdentity.user_id == User.id)
        .where(OidcIdentity.issuer == identity.issuer, OidcIdentity.subject == identity.subject)
    )).one_or_none()
    if linked is not None:
        user, link = linked._tuple()
        link.last_login_at = utcnow()
        return user
    address = _verified_address(identity)
    user = await auth_service.user_by_email(session, address) \
        or await _new_account(session, address, identity.name)
    session.add(OidcIdentity(user_id=user.id, provider=identity.provider,
                             issuer=identity.issuer, subject=identity.subject, email=address))
    await session.flush()
    return user


async def _new_account(session: AsyncSession, address: str, name: str) -> User:
    """An account without a password: it signs in through its provider."""
    shown = (name.strip() or address.split("@")[0])[:auth_service.MAX_NAME_LENGTH]
    user = User(email=address, name=shown, password_hash=None)
    session.add(user)
    await session.flush()
    return user


def _verified_address(identity: Identity) -> str:
    """The identity's email, if the provider vouches for it: an unverified one could be
    anyone's, and linking by it would hand them that account."""
    if not identity.email or len(identity.email) > _MAX_EMAIL or "@" not in identity.email:
        raise SsoFailed("email_missing", "the provider gave no usable email address")
    if not identity.email_verified:
        raise SsoFailed("email_unverified",
                        f"the provider has not verified {identity.email}")
    return auth_service.normalize_email(identity.email)


async def hand_off(session: AsyncSession, user_id: str, browser_key: str) -> str:
    """A one-time code for this browser's page to trade for the user's tokens."""
    now = utcnow()
    await session.execute(delete(OidcHandoff).where(OidcHandoff.expires_at <= now))
    code = secrets.token_urlsafe(32)
    session.add(OidcHandoff(code_hash=digest(code), user_id=user_id,
                            browser_hash=digest(browser_key), expires_at=now + HANDOFF_TTL))
    await session.flush()
    return code


async def exchange(session: AsyncSession, settings: Settings, code: str,
                   browser_key: str) -> tuple[User, auth_service.TokenPair]:
    """Trade a hand-off code (once, from the browser it was made for) for a new login."""
    user_id = await session.scalar(
        delete(OidcHandoff)
        .where(OidcHandoff.code_hash == digest(code),
               OidcHandoff.browser_hash == digest(browser_key),
               OidcHandoff.expires_at > utcnow())
        .returning(OidcHandoff.user_id)
    )
    user = await session.get(User, user_id) if user_id else None
    if user is None:
        raise Unauthorized(BAD_HANDOFF)
    return user, await auth_service.start_login(session, settings, user.id, sso=True)
