"""Single sign-on, start to finish: send the browser to its provider, take it back, and
hand the page a one-time code for the tokens (`POST /api/auth/oidc/exchange`).

Each database step is its own short transaction and the provider's round trip lies
between them, outside any: on SQLite a transaction holding the write lock across a
network call would stall every other writer.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.exc import IntegrityError

from netra.auth import sso_service
from netra.auth.oidc import Identity, OidcClients, SsoFailed
from netra.db import Database
from netra.settings import Settings


class SsoParts(Protocol):
    """The parts of the running application single sign-on uses (`Components` has them)."""

    settings: Settings
    db: Database
    sso: OidcClients


async def begin(parts: SsoParts, provider: str, redirect_uri: str, browser_key: str) -> str:
    """A new sign-in at `provider` for this browser: the URL to send it to."""
    authorization = await parts.sso.authorization(provider, redirect_uri)
    async with parts.db.transaction() as session:
        await sso_service.remember_login(session, provider, authorization, browser_key)
    return authorization.url


async def finish(parts: SsoParts, provider: str, *, state: str, code: str, error: str,
                 redirect_uri: str, browser_key: str) -> str:
    """The provider sent the browser back: check it, verify who signed in, find or make
    their account. A one-time code for the page; SsoFailed with the reason otherwise."""
    if error:  # the person declined, or the provider could not sign them in
        # Said whatever the state: some providers leave it out of a refusal, and a forged
        # one only shows a message.
        raise SsoFailed("denied", f"{provider} answered {error}")
    async with parts.db.transaction() as session:
        pending = await sso_service.claim_login(session, state)
    # Checked once the claim is committed: a state presented where it does not belong is
    # spent too.
    sso_service.check_claim(pending, provider, browser_key)
    if not code:
        raise SsoFailed("invalid_token", f"{provider} sent no code")
    identity = await parts.sso.identity(provider, code=code, redirect_uri=redirect_uri,
                                        code_verifier=pending.code_verifier,
                                        nonce=pending.nonce)
    try:
        return await _sign_in(parts, identity, browser_key)
    except IntegrityError:  # a sign-in of the same person made the account meanwhile
        return await _sign_in(parts, identity, browser_key)


async def _sign_in(parts: SsoParts, identity: Identity, browser_key: str) -> str:
    async with parts.db.transaction() as session:
        user = await sso_service.account_for(session, identity)
        return await sso_service.hand_off(session, user.id, browser_key)
