"""Access tokens (signed JWTs) and the opaque secrets stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

import jwt

from netra.db.base import utcnow
from netra.errors import Unauthorized
from netra.settings import Settings

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
API_KEY_PREFIX = "nak_"
# "sid": the login (refresh-token family) the token belongs to, so that revoking the
# login stops its access tokens too. Tokens from before it are refused and refreshed.
_REQUIRED_CLAIMS = ["sub", "sid", "iat", "exp", "type"]


class InvalidToken(Unauthorized):
    def __init__(self, message: str = "invalid or expired access token") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


# "amr" (RFC 8176): how the login was made, ["sso"] or ["pwd"]; organizations that
# require single sign-on admit only the first. A token without it counts as a password's.
SSO_METHOD, PASSWORD_METHOD = "sso", "pwd"


class AccessClaims(NamedTuple):
    user_id: str
    login_id: str
    via_sso: bool = False


def create_access_token(
    settings: Settings, user_id: str, login_id: str, *, now: datetime | None = None,
    via_sso: bool = False,
) -> str:
    issued = now or utcnow()
    claims = {
        "sub": user_id,
        "sid": login_id,
        "amr": [SSO_METHOD if via_sso else PASSWORD_METHOD],
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=settings.access_token_ttl_s)).timestamp()),
        "type": ACCESS_TYPE,
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """The user and login of a valid access token; InvalidToken for anything else."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],  # pinned: never let the token choose (alg=none attacks)
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError:
        raise InvalidToken() from None
    subject, login_id = claims.get("sub"), claims.get("sid")
    if claims.get("type") != ACCESS_TYPE or not isinstance(subject, str) \
            or not isinstance(login_id, str):
        raise InvalidToken()
    methods = claims.get("amr")
    return AccessClaims(subject, login_id, isinstance(methods, list) and SSO_METHOD in methods)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


def digest(secret: str) -> str:
    """SHA-256 hex: these secrets are 256-bit random, so a fast unsalted hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()
