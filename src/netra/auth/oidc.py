"""OpenID Connect providers, spoken to through Authlib: discovery, the authorization URL
(code flow with PKCE S256, state and nonce), the code exchange, and the ID token verified
against the provider's published keys (signature, iss, aud, exp, iat, nonce).

No HTTP routes and no database here: `auth/sso.py` keeps the flow's state and decides
who signs in. Only Authlib's client (its Starlette flavour, without its session
helpers: the state lives in our database, see `sso_service.py`) is used.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any, Literal, cast

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError

from netra.errors import BadRequest, NotFound
from netra.settings import OidcProvider

try:  # Authlib speaks httpx2 when it is installed (openai brings it), else httpx
    from httpx2 import HTTPError as _HttpError
except ImportError:  # pragma: no cover
    from httpx import HTTPError as _HttpError  # type: ignore[assignment]

log = logging.getLogger(__name__)
_TIMEOUT_S = 10.0  # each call to a provider: a sign-in must not hang on one
_LEEWAY_S = 60  # clock skew allowed on the ID token's exp and iat
_MAX_SUBJECT = 255  # OpenID Connect Core §2: `sub` is at most 255 ASCII characters
# Anything a provider that is down or broken can make Authlib raise while we fetch.
_UNREACHABLE = (_HttpError, OSError, ValueError, KeyError, TypeError)

Reason = Literal["provider_unavailable", "provider_error", "denied", "invalid_state",
                 "invalid_token", "email_missing", "email_unverified"]


class SsoFailed(BadRequest):
    """A single sign-on that cannot go on. `reason` is what the page is told (it words
    it); the message, for the log, may say more."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Authorization:
    """Where to send the browser, and the secrets its callback must match."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, from a verified ID token (and its userinfo)."""

    provider: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery 1.0 §4: the issuer, less a trailing slash, and the path."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _verified(value: object) -> bool:
    # Some providers (Cognito among them) send the boolean as a string.
    return value is True or (isinstance(value, str) and value.lower() == "true")


class OidcClients:
    """One Authlib client per configured provider; each keeps its discovery document and
    keys once fetched (the keys are fetched again when a token names an unknown one)."""

    def __init__(self, providers: list[OidcProvider]) -> None:
        self._providers = {provider.name: provider for provider in providers}
        self._oauth = OAuth()
        for provider in providers:
            secret = provider.client_secret.get_secret_value()
            self._oauth.register(
                provider.name, client_id=provider.client_id, client_secret=secret or None,
                server_metadata_url=discovery_url(provider.issuer),
                client_kwargs={"scope": " ".join(provider.scopes),
                               "code_challenge_method": "S256", "timeout": _TIMEOUT_S,
                               # no secret: a public client, proved by PKCE alone
                               "token_endpoint_auth_method":
                                   "client_secret_basic" if secret else "none"})

    @property
    def providers(self) -> list[OidcProvider]:
        return list(self._providers.values())

    def provider(self, name: str) -> OidcProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise NotFound(f"no single sign-on provider named {name!r}")
        return provider

    def _client(self, name: str) -> Any:
        self.provider(name)
        return self._oauth.create_client(name)

    async def _metadata(self, name: str) -> dict[str, Any]:
        """The discovery document, checked to be the configured issuer's."""
        provider, client = self.provider(name), self._client(name)
        try:
            metadata = cast(dict[str, Any], await client.load_server_metadata())
        except _UNREACHABLE as error:
            raise SsoFailed("provider_unavailable",
                            f"{provider.name}: discovery failed: {error!r}") from None
        # Discovery §4.3: the document must name exactly the issuer it was asked of, or
        # tokens from another issuer could be taken for this one's.
        if metadata.get("issuer") != provider.issuer or \
                not metadata.get("authorization_endpoint") or not metadata.get("token_endpoint"):
            client.server_metadata.clear()  # ask again next time: it may be fixed
            raise SsoFailed("provider_error", f"{provider.name}: the discovery document names "
                            f"issuer {metadata.get('issuer')!r}, configured "
                            f"{provider.issuer!r} (or lacks its endpoints)")
        return metadata

    async def authorization(self, name: str, redirect_uri: str) -> Authorization:
        """The provider's authorization URL for a new sign-in, with fresh secrets."""
        await self._metadata(name)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # RFC 7636: 43 to 128 characters
        made = await self._client(name).create_authorization_url(
            redirect_uri, state=state, nonce=nonce, code_verifier=verifier)
        return Authorization(str(made["url"]), state, nonce, verifier)

    async def identity(self, name: str, *, code: str, redirect_uri: str, code_verifier: str,
                       nonce: str) -> Identity:
        """Trade the code for tokens and verify the ID token; who it says signed in."""
        provider, client = self.provider(name), self._client(name)
        await self._metadata(name)
        try:
            token = await client.fetch_access_token(
                redirect_uri=redirect_uri, code=code, code_verifier=code_verifier)
        except OAuthError as error:
            raise SsoFailed("invalid_token", f"{name}: the code was refused: "
                            f"{error.error} {error.description or ''}") from None
        except _UNREACHABLE as error:
            raise SsoFailed("provider_unavailable",
                            f"{name}: the token endpoint failed: {error!r}") from None
        claims = await self._id_token(provider, client, token, nonce)
        if len(str(claims["sub"])) > _MAX_SUBJECT:
            raise SsoFailed("invalid_token", f"{name}: a subject over {_MAX_SUBJECT} characters")
        if not claims.get("email"):  # some providers keep it for their userinfo endpoint
            info = await self._userinfo(provider, client, token, claims)
            claims |= {key: info[key] for key in ("email", "email_verified", "name")
                       if claims.get(key) in (None, "") and key in info}
        return Identity(provider=name, issuer=provider.issuer, subject=str(claims["sub"]),
                        email=str(claims["email"]) if claims.get("email") else None,
                        email_verified=_verified(claims.get("email_verified")),
                        name=str(claims.get("name") or ""))

    async def _id_token(self, provider: OidcProvider, client: Any, token: dict[str, Any],
                        nonce: str) -> dict[str, Any]:
        if not isinstance(token, dict) or "id_token" not in token:
            raise SsoFailed("invalid_token", f"{provider.name}: no ID token in the answer")
        # Every claim that makes the token ours, required: Authlib alone checks the
        # issuer, and the audience only when told to.
        options = {"iss": {"essential": True, "value": provider.issuer},
                   "aud": {"essential": True, "value": provider.client_id},
                   "sub": {"essential": True}, "exp": {"essential": True},
                   "iat": {"essential": True}}
        try:
            claims = await client.parse_id_token(token, nonce=nonce, claims_options=options,
                                                 leeway=_LEEWAY_S)
        except JoseError as error:
            raise SsoFailed("invalid_token", f"{provider.name}: the ID token was refused: "
                            f"{error.error} {error.description or ''}") from None
        except _UNREACHABLE as error:
            raise SsoFailed("provider_unavailable",
                            f"{provider.name}: the provider's keys failed: {error!r}") from None
        return dict(claims)

    async def _userinfo(self, provider: OidcProvider, client: Any, token: dict[str, Any],
                        claims: dict[str, Any]) -> dict[str, Any]:
        """The userinfo claims, for a provider whose ID token leaves the email out."""
        metadata = await self._metadata(provider.name)
        if not metadata.get("userinfo_endpoint"):
            return {}
        try:
            info = dict(await client.userinfo(token=token))
        except (OAuthError, *_UNREACHABLE) as error:
            raise SsoFailed("provider_unavailable",
                            f"{provider.name}: userinfo failed: {error!r}") from None
        if info.get("sub") != claims["sub"]:  # Core §5.3.2: it must be the same person
            raise SsoFailed("invalid_token", f"{provider.name}: userinfo names another subject")
        return info
