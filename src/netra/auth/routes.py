"""Auth HTTP routes: parse, call the service, answer."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from netra.auth import revocation, schemas
from netra.auth import service as auth_service
from netra.auth.deps import CurrentLogin, CurrentUser
from netra.auth.models import User
from netra.auth.tickets import TicketHolder
from netra.auth.tokens import digest
from netra.deps import AppComponents, DbSession

router = APIRouter(tags=["auth"])


def _address(request: Request) -> str:
    """The client's address (uvicorn's proxy_headers already applied X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


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
    await limiter.hit(limiter.signup_per_address, _address(request))
    user, pair = await auth_service.signup(
        session, components.settings, email=body.email, password=body.password, name=body.name
    )
    return _tokens(user, pair)


@router.post("/api/auth/login")
async def login(
    body: schemas.Login, request: Request, session: DbSession, components: AppComponents
) -> schemas.AuthTokens:
    """Sign in with email and password."""
    # Every attempt counts, right or wrong: counting failures only would need a second
    # round trip after the check, and parallel guesses would all slip in before it.
    limiter = components.limiter
    await limiter.hit(limiter.login_per_address, _address(request))
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
    body: schemas.ApiKeyCreate, user: CurrentUser, session: DbSession
) -> schemas.ApiKeyCreated:
    """Create an API key for ingestion; the key is shown only in this answer."""
    api_key, key = await auth_service.create_api_key(session, user.id, body.name)
    return schemas.ApiKeyCreated(
        id=api_key.id, name=api_key.name, created_at=api_key.created_at, key=key
    )


@router.get("/api/api-keys")
async def list_api_keys(user: CurrentUser, session: DbSession) -> list[schemas.ApiKey]:
    """The caller's API keys, newest first, without the keys themselves."""
    keys = await auth_service.list_api_keys(session, user.id)
    return [schemas.ApiKey.model_validate(key) for key in keys]


@router.delete("/api/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_key(key_id: str, user: CurrentUser, session: DbSession) -> Response:
    """Revoke an API key."""
    await auth_service.delete_api_key(session, user.id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
