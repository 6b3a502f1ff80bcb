"""Auth HTTP routes: parse, call the service, answer."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from netra.auth import revocation, schemas, sso, sso_service
from netra.auth import service as auth_service
from netra.auth.deps import CurrentLogin, CurrentUser
from netra.auth.models import User
from netra.auth.oidc import SsoFailed
from netra.auth.tickets import TicketHolder
from netra.auth.tokens import digest
from netra.deps import AppComponents, DbSession
from netra.orgs import audit
from netra.orgs import service as orgs_service
from netra.orgs.deps import CurrentAccess, CurrentActor, client_address
from netra.settings import Settings

router = APIRouter(tags=["auth"])
log = logging.getLogger(__name__)

# Single sign-on binds a sign-in to the browser that started it with this cookie (only
# its digest is stored): a callback or hand-off code arriving in another browser is
# refused, so no one can sign a victim in to the attacker's account (login CSRF).
SSO = "/api/auth/oidc"
SSO_COOKIE = "netra_sso"
_BROWSER_KEY = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32)
_SSO_COOKIE_AGE = int((sso_service.LOGIN_TTL + sso_service.HANDOFF_TTL).total_seconds())
Responses = dict[int | str, dict[str, Any]]
_TO_PROVIDER: Responses = {302: {"description": "to the provider's sign-in page; a failure "
                                 "goes to the app, with `#sso_error=<reason>&provider=<name>`"}}
_TO_APP: Responses = {302: {"description": "to the app with `#sso=<one-time code>`, or "
                            "`#sso_error=<reason>&provider=<name>`"}}
CallbackParameter = Annotated[str, Query(max_length=2048)]


def _tokens(user: User, pair: auth_service.TokenPair) -> schemas.AuthTokens:
    return schemas.AuthTokens(
        user=schemas.User.model_validate(user),
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post("/api/auth/signup", status_code=status.HTTP_201_CREATED)
async def signup(
    body: schemas.Signup, request: Request, session: DbSession, components: AppComponents
) -> schemas.AuthTokens:
    """Create an account and sign in."""
    limiter = components.limiter
    await limiter.hit(limiter.signup_per_address, client_address(request))
    user, pair = await auth_service.signup(
        session, components.settings, email=body.email, password=body.password, name=body.name
    )
    await orgs_service.personal_organization(session, user)
    return _tokens(user, pair)


@router.post("/api/auth/login")
async def login(
    body: schemas.Login, request: Request, session: DbSession, components: AppComponents
) -> schemas.AuthTokens:
    """Sign in with email and password."""
    # Every attempt counts, right or wrong: counting failures only would need a second
    # round trip after the check, and parallel guesses would all slip in before it.
    limiter = components.limiter
    await limiter.hit(limiter.login_per_address, client_address(request))
    account = digest(auth_service.normalize_email(body.email))  # no addresses in Redis
    await limiter.hit(limiter.login_per_account, account)
    user, pair = await auth_service.login(
        session, components.settings, email=body.email, password=body.password
    )
    return _tokens(user, pair)


@router.post("/api/auth/refresh")
async def refresh(body: schemas.RefreshTokenBody, components: AppComponents) -> schemas.AuthTokens:
    """Trade a refresh token for a new pair; the presented one stops working."""
    user, pair = await revocation.refresh(components, body.refresh_token)
    return _tokens(user, pair)


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: schemas.RefreshTokenBody, components: AppComponents) -> Response:
    """Revoke the login the refresh token belongs to; its open WebSockets are closed."""
    await revocation.logout(components, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/auth/password")
async def change_password(
    body: schemas.PasswordChange, caller: CurrentLogin, components: AppComponents
) -> schemas.AuthTokens:
    """Change the password: every login of the account (this one too) is revoked and its
    sockets closed; the answer is a fresh login for this client."""
    limiter = components.limiter  # a stolen access token must not guess the password
    await limiter.hit(limiter.login_per_account, digest(caller.user.email))
    user, pair = await revocation.change_password(
        components, caller.user.id, body.current_password, body.new_password)
    return _tokens(user, pair)


@router.get("/api/me")
async def me(user: CurrentUser) -> schemas.User:
    """The signed-in user."""
    return schemas.User.model_validate(user)


@router.post("/api/auth/ws-ticket")
async def ws_ticket(caller: CurrentLogin, components: AppComponents) -> schemas.WsTicket:
    """A single-use ticket for opening the WebSocket (`/ws?ticket=`)."""
    await components.limiter.hit(components.limiter.tickets_per_user, caller.user.id)
    ticket = await components.tickets.issue(TicketHolder(caller.user.id, caller.login_id))
    return schemas.WsTicket(ticket=ticket, expires_in=components.settings.ws_ticket_ttl_s)


@router.post("/api/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: schemas.ApiKeyCreate, access: CurrentAccess, actor: CurrentActor, session: DbSession
) -> schemas.ApiKeyCreated:
    """Create an API key for ingestion into the organization (admin or owner); the key is
    shown only in this answer."""
    access.require("admin", "creating API keys")
    api_key, key = await auth_service.create_api_key(
        session, access.user_id, body.name, organization_id=access.organization_id)
    audit.record(session, access.organization_id, actor, "key_created", api_key.name,
                 key_id=api_key.id)
    return schemas.ApiKeyCreated(
        id=api_key.id, name=api_key.name, created_at=api_key.created_at, key=key
    )


@router.get("/api/api-keys")
async def list_api_keys(access: CurrentAccess, session: DbSession) -> list[schemas.ApiKey]:
    """The organization's API keys, newest first, without the keys themselves (admin or
    owner)."""
    access.require("admin", "reading API keys")
    keys = await auth_service.list_api_keys(session, access.organization_id)
    return [schemas.ApiKey.model_validate(key) for key in keys]


@router.delete("/api/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_key(
    key_id: str, access: CurrentAccess, actor: CurrentActor, session: DbSession
) -> Response:
    """Revoke an API key (admin or owner)."""
    access.require("admin", "revoking API keys")
    gone = await auth_service.delete_api_key(session, access.organization_id, key_id)
    audit.record(session, access.organization_id, actor, "key_revoked", gone.name,
                 key_id=gone.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(f"{SSO}/providers")
async def oidc_providers(components: AppComponents) -> list[schemas.OidcProvider]:
    """The single sign-on providers, for the sign-in screen's buttons."""
    return [schemas.OidcProvider(name=p.name, label=p.label, login_url=f"{SSO}/{p.name}/login")
            for p in components.sso.providers]


@router.get(f"{SSO}/{{name}}/login", status_code=status.HTTP_302_FOUND,
            response_class=RedirectResponse, responses=_TO_PROVIDER)
async def oidc_login(name: str, request: Request, components: AppComponents) -> Response:
    """Start a single sign-on: the browser goes to the provider (PKCE, state, nonce)."""
    components.sso.provider(name)  # 404 for a name that is not configured
    limiter, settings = components.limiter, components.settings
    await limiter.hit(limiter.login_per_address, client_address(request))
    # One key per browser, kept across sign-ins: two tabs signing in both finish.
    key = _browser_key(request) or secrets.token_urlsafe(32)
    try:
        url = await sso.begin(components, name, _callback_url(request, settings, name), key)
    except SsoFailed as failure:
        return _failed(settings, name, failure)
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(SSO_COOKIE, key, max_age=_SSO_COOKIE_AGE, path=SSO, httponly=True,
                        samesite="lax", secure=_secure(settings))
    return response


@router.get(f"{SSO}/{{name}}/callback", status_code=status.HTTP_302_FOUND,
            response_class=RedirectResponse, responses=_TO_APP)
async def oidc_callback(name: str, request: Request, components: AppComponents,
                        state: CallbackParameter = "", code: CallbackParameter = "",
                        error: CallbackParameter = "") -> Response:
    """The provider sends the browser back here; it goes on to the app with a one-time
    code (never the tokens themselves) for `POST /api/auth/oidc/exchange`."""
    components.sso.provider(name)
    settings = components.settings
    try:
        handoff = await sso.finish(components, name, state=state, code=code, error=error,
                                   redirect_uri=_callback_url(request, settings, name),
                                   browser_key=_browser_key(request) or "")
    except SsoFailed as failure:
        return _failed(settings, name, failure)
    return _to_app(settings, sso=handoff)


@router.post(f"{SSO}/exchange")
async def oidc_exchange(body: schemas.SsoCode, request: Request, response: Response,
                        session: DbSession, components: AppComponents) -> schemas.AuthTokens:
    """Trade the callback's one-time code for a login, as `POST /api/auth/login` answers
    (once, from the browser that signed in)."""
    user, pair = await sso_service.exchange(session, components.settings, body.code,
                                            _browser_key(request) or "")
    await orgs_service.personal_organization(session, user)
    joined = await orgs_service.join_by_sso_domain(session, user)
    if joined is not None:
        audit.record(session, joined.id, audit.Actor(user.id, client_address(request)),
                     "joined_by_sso", user.email, role="member")
    response.delete_cookie(SSO_COOKIE, path=SSO, httponly=True, samesite="lax",
                           secure=_secure(components.settings))
    return _tokens(user, pair)


def _browser_key(request: Request) -> str | None:
    key = request.cookies.get(SSO_COOKIE, "")
    return key if _BROWSER_KEY.fullmatch(key) else None


def _secure(settings: Settings) -> bool:
    # The cookie is SameSite=Lax, not Strict: the provider's redirect back is a cross-site
    # navigation, and the cookie must come with it.
    return settings.env == "production" or settings.hsts


def _public_base(request: Request, settings: Settings) -> str:
    """Where users reach the app: NETRA_PUBLIC_URL, else the address this request came to."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


def _callback_url(request: Request, settings: Settings, name: str) -> str:
    return f"{_public_base(request, settings)}{SSO}/{name}/callback"


def _to_app(settings: Settings, **fragment: str) -> RedirectResponse:
    # In the fragment: the browser never sends it to a server, nor in a Referer.
    base = (settings.public_url or "").rstrip("/")
    return RedirectResponse(f"{base}/#{urlencode(fragment)}", status_code=status.HTTP_302_FOUND)


def _failed(settings: Settings, name: str, failure: SsoFailed) -> RedirectResponse:
    log.info("single sign-on with %s refused (%s): %s", name, failure.reason, failure.message)
    return _to_app(settings, sso_error=failure.reason, provider=name)
