"""Who is calling: `CurrentUser` / `CurrentLogin` (access token of a login that stands).
The ingestion API's caller (an API key or an access token) is `netra.orgs.deps`'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from netra.auth import service as auth_service
from netra.auth.models import User
from netra.deps import AppComponents, DbSession
from netra.errors import Unauthorized

# auto_error=False: a missing header must produce our error envelope, not FastAPI's.
_bearer = HTTPBearer(auto_error=False, description="access token, or API key on ingestion")

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized(
            "missing bearer token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


async def current_login(
    session: DbSession, components: AppComponents, credentials: Credentials
) -> auth_service.SignedIn:
    return await auth_service.signed_in(session, components.settings, bearer_token(credentials))


CurrentLogin = Annotated[auth_service.SignedIn, Depends(current_login)]


async def current_user(login: CurrentLogin) -> User:
    return login.user


CurrentUser = Annotated[User, Depends(current_user)]
