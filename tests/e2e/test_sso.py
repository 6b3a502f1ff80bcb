"""Single sign-on against a real OpenID Connect provider (oidc-provider-mock in a thread)
and the real server: the browser's part is played by an HTTP client with its own cookies,
the person at the provider's page by `Provider.authorize`."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import jwt
import pytest

from tests.e2e.client import signup
from tests.e2e.oidc_provider import Provider, running_provider
from tests.e2e.server import Server, running_server

SECRET = "client-secret-that-must-not-leak"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def mixup() -> Iterator[Provider]:
    """A second provider whose ID tokens name another issuer than its discovery document."""
    with running_provider(tokens_from_another_issuer=True) as running:
        yield running


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory: pytest.TempPathFactory, provider: Provider,
               mixup: Provider) -> Iterator[Server]:
    providers = [
        {"name": "mock", "label": "Mock ID", "issuer": provider.issuer, "client_id": "netra",
         "client_secret": SECRET},
        {"name": "mixup", "label": "Mix-up", "issuer": mixup.issuer, "client_id": "netra",
         "client_secret": SECRET},
        # Its discovery document names the issuer without the trailing slash.
        {"name": "misconfigured", "label": "Misconfigured", "issuer": provider.issuer + "/",
         "client_id": "netra", "client_secret": SECRET},
        # Without the email scope: neither the ID token nor the userinfo tells an email.
        {"name": "no-email", "label": "No email", "issuer": provider.issuer,
         "client_id": "netra", "client_secret": SECRET, "scopes": ["openid", "profile"]},
    ]
    with running_server(tmp_path_factory.mktemp("sso"),
                        NETRA_OIDC_PROVIDERS=json.dumps(providers)) as running:
        yield running
        assert "Traceback" not in running.log(), running.log()[-5000:]


@pytest.fixture
async def browser(sso_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """One browser: its own cookie jar."""
    async with httpx.AsyncClient(base_url=sso_server.base_url, timeout=30) as client:
        yield client


def person(provider: Provider, *, verified: bool | None = True, email: str = "") -> tuple[str, str]:
    """A new subject at the provider with an email; returns (subject, email)."""
    subject = f"sub-{secrets.token_hex(6)}"
    email = email or f"{subject}@example.com"
    claims: dict[str, object] = {"email": email, "name": "Grace Hopper"}
    if verified is not None:
        claims["email_verified"] = verified
    provider.user(subject, **claims)
    return subject, email


async def start(browser: httpx.AsyncClient, name: str = "mock") -> str:
    """Click "Sign in with …": the provider's authorization URL."""
    response = await browser.get(f"/api/auth/oidc/{name}/login")
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def back(browser: httpx.AsyncClient, callback_url: str) -> dict[str, str]:
    """The provider sends the browser back; what the app's URL fragment then says."""
    response = await browser.get(callback_url)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == "/" and not location.query, location
    return {key: values[0] for key, values in parse_qs(location.fragment).items()}


async def sign_in(browser: httpx.AsyncClient, provider: Provider, subject: str,
                  name: str = "mock") -> dict[str, str]:
    return await back(browser, provider.authorize(await start(browser, name), subject))


async def exchange(browser: httpx.AsyncClient, fragment: dict[str, str]) -> httpx.Response:
    assert "sso" in fragment, fragment
    return await browser.post("/api/auth/oidc/exchange", json={"code": fragment["sso"]})


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_the_providers_list_gives_names_and_labels_only(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/api/auth/oidc/providers")
    assert response.status_code == 200
    assert response.json() == [
        {"name": "mock", "label": "Mock ID", "login_url": "/api/auth/oidc/mock/login"},
        {"name": "mixup", "label": "Mix-up", "login_url": "/api/auth/oidc/mixup/login"},
        {"name": "misconfigured", "label": "Misconfigured",
         "login_url": "/api/auth/oidc/misconfigured/login"},
        {"name": "no-email", "label": "No email", "login_url": "/api/auth/oidc/no-email/login"},
    ]
    assert SECRET not in response.text
    unknown = await browser.get("/api/auth/oidc/nobody/login")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


async def test_the_login_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
        browser: httpx.AsyncClient, provider: Provider, sso_server: Server) -> None:
    url = urlsplit(await start(browser))
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}" == provider.issuer
    assert query["response_type"] == ["code"] and query["client_id"] == ["netra"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 43 and len(query["nonce"][0]) >= 43
    assert query["redirect_uri"] == [f"{sso_server.base_url}/api/auth/oidc/mock/callback"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    cookie = next(c for c in browser.cookies.jar if c.name == "netra_sso")
    assert cookie.path == "/api/auth/oidc" and cookie.has_nonstandard_attr("HttpOnly")


async def test_a_first_sign_in_makes_an_account_without_a_password(
        browser: httpx.AsyncClient, provider: Provider) -> None:
    subject, email = person(provider, email=f"New-{secrets.token_hex(4)}@Example.com")
    answer = await exchange(browser, await sign_in(browser, provider, subject))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"]["email"] == email.lower() and body["user"]["name"] == "Grace Hopper"
    me = await browser.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == body["user"]["id"]
    refreshed = await browser.post("/api/auth/refresh",
                                   json={"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    no_password = await browser.post("/api/auth/login",
                                     json={"email": email, "password": "anything-at-all"})
    assert no_password.status_code == 401
    # The provider's account is the person: a new email there still signs in to this one.
    provider.user(subject, email=f"moved-{secrets.token_hex(4)}@example.com",
                  email_verified=True)
    again = await exchange(browser, await sign_in(browser, provider, subject))
    assert again.status_code == 200 and again.json()["user"]["id"] == body["user"]["id"]


async def test_a_verified_email_links_the_password_account(
        browser: httpx.AsyncClient, provider: Provider, sso_server: Server) -> None:
    account = await signup(browser, sso_server.ws_url, "linked")
    subject, _ = person(provider, email=account.email.upper())
    answer = await exchange(browser, await sign_in(browser, provider, subject))
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["id"] == account.id
    password = await browser.post("/api/auth/login",
                                  json={"email": account.email, "password": "correct horse"})
    assert password.status_code == 200  # linking takes nothing away


@pytest.mark.parametrize("verified", [False, None], ids=["unverified", "unsaid"])
async def test_an_unverified_email_is_refused(
        browser: httpx.AsyncClient, provider: Provider, sso_server: Server,
        verified: bool | None) -> None:
    # Someone's password account: an unverified claim to its email must not open it.
    account = await signup(browser, sso_server.ws_url, "victim")
    subject, _ = person(provider, verified=verified, email=account.email)
    fragment = await sign_in(browser, provider, subject)
    assert fragment == {"sso_error": "email_unverified", "provider": "mock"}
    # Nor does it make an account for a new address.
    subject, email = person(provider, verified=verified)
    assert (await sign_in(browser, provider, subject))["sso_error"] == "email_unverified"
    made = await browser.post("/api/auth/signup", json={"email": email, "password": "pw-123456"})
    assert made.status_code == 201, made.text


async def test_an_identity_without_an_email_is_refused(
        browser: httpx.AsyncClient, provider: Provider) -> None:
    subject, _ = person(provider)
    fragment = await sign_in(browser, provider, subject, name="no-email")
    assert fragment == {"sso_error": "email_missing", "provider": "no-email"}


async def test_a_wrong_state_is_refused(browser: httpx.AsyncClient, provider: Provider) -> None:
    subject, _ = person(provider)
    callback = provider.authorize(await start(browser), subject)
    forged = with_query(callback, state=secrets.token_urlsafe(32))
    assert await back(browser, forged) == {"sso_error": "invalid_state", "provider": "mock"}
    # Missing altogether, likewise.
    assert (await back(browser, with_query(callback, state="")))["sso_error"] == "invalid_state"
    assert "sso" in await back(browser, callback)  # the genuine one still stands


async def test_a_replayed_state_is_refused(browser: httpx.AsyncClient, provider: Provider) -> None:
    subject, _ = person(provider)
    callback = provider.authorize(await start(browser), subject)
    assert "sso" in await back(browser, callback)
    assert await back(browser, callback) == {"sso_error": "invalid_state", "provider": "mock"}


async def test_a_callback_in_another_browser_is_refused(
        browser: httpx.AsyncClient, provider: Provider, sso_server: Server) -> None:
    """Login CSRF: someone else's callback URL, opened in the victim's browser."""
    subject, _ = person(provider)
    callback = provider.authorize(await start(browser), subject)
    async with httpx.AsyncClient(base_url=sso_server.base_url, timeout=30) as victim:
        assert (await back(victim, callback))["sso_error"] == "invalid_state"
    assert (await back(browser, callback))["sso_error"] == "invalid_state"  # spent


async def test_a_wrong_nonce_is_refused(browser: httpx.AsyncClient, provider: Provider) -> None:
    subject, email = person(provider)
    # The authorization request is changed on its way: the ID token carries another nonce.
    tampered = with_query(await start(browser), nonce=secrets.token_urlsafe(32))
    fragment = await back(browser, provider.authorize(tampered, subject))
    assert fragment == {"sso_error": "invalid_token", "provider": "mock"}
    made = await browser.post("/api/auth/signup", json={"email": email, "password": "pw-123456"})
    assert made.status_code == 201  # no account was made


async def test_a_token_from_another_issuer_is_refused(
        browser: httpx.AsyncClient, mixup: Provider) -> None:
    subject, _ = person(mixup)
    fragment = await sign_in(browser, mixup, subject, name="mixup")
    assert fragment == {"sso_error": "invalid_token", "provider": "mixup"}


async def test_a_discovery_document_of_another_issuer_is_refused(
        browser: httpx.AsyncClient) -> None:
    response = await browser.get("/api/auth/oidc/misconfigured/login")
    assert response.status_code == 302
    assert response.headers["location"] == "/#sso_error=provider_error&provider=misconfigured"


async def test_a_declined_sign_in_says_so(browser: httpx.AsyncClient, provider: Provider) -> None:
    fragment = await back(browser, provider.deny(await start(browser)))
    assert fragment == {"sso_error": "denied", "provider": "mock"}


async def test_the_code_is_good_once_and_only_in_its_browser(
        browser: httpx.AsyncClient, provider: Provider, sso_server: Server) -> None:
    subject, _ = person(provider)
    fragment = await sign_in(browser, provider, subject)
    async with httpx.AsyncClient(base_url=sso_server.base_url, timeout=30) as other:
        stolen = await exchange(other, fragment)
    assert stolen.status_code == 401
    assert stolen.json()["error"]["message"] == "invalid, expired or used sign-in code"
    assert (await exchange(browser, fragment)).status_code == 200
    assert (await exchange(browser, fragment)).status_code == 401



async def test_single_sign_on_opens_organizations_that_require_it_and_maps_their_domain(
        browser: httpx.AsyncClient, provider: Provider, sso_server: Server) -> None:
    domain = f"acme-{secrets.token_hex(4)}.example"
    founder, founder_email = person(provider, email=f"olivia@{domain}")
    signed = await exchange(browser, await sign_in(browser, provider, founder))
    owner = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    org = (await browser.post("/api/organizations", headers=owner,
                              json={"name": "Acme"})).json()["id"]
    settings = await browser.patch(f"/api/organizations/{org}", headers=owner,
                                   json={"require_sso": True, "sso_domain": domain})
    assert settings.status_code == 200, settings.text
    # Someone invited who signs in with a password joins, and is refused in words.
    pat = await signup(browser, sso_server.ws_url, "pat")
    invited = await browser.post(f"/api/organizations/{org}/invitations", headers=owner,
                                 json={"email": pat.email})
    joined = await browser.post("/api/invitations/accept", headers=pat.auth,
                                json={"token": invited.json()["token"]})
    assert joined.status_code == 200, joined.text
    refused = await browser.get(f"/api/organizations/{org}/members", headers=pat.auth)
    assert refused.status_code == 403 and "single sign-on" in refused.json()["error"]["message"]
    subject, email = person(provider, email=f"kim@{domain}")
    answer = await exchange(browser, await sign_in(browser, provider, subject))
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["sso"]
    refreshed = await browser.post("/api/auth/refresh",
                                   json={"refresh_token": tokens["refresh_token"]})
    kim = {"Authorization": f"Bearer {refreshed.json()['access_token']}",
           "X-Netra-Organization": org}
    mine = await browser.get("/api/organizations", headers=kim)
    assert [(o["name"], o["role"]) for o in mine.json()] == [
        ("Grace Hopper's workspace", "owner"), ("Acme", "member")]
    members = await browser.get(f"/api/organizations/{org}/members", headers=kim)
    assert members.status_code == 200
    assert {m["email"]: m["role"] for m in members.json()} == {
        founder_email: "owner", pat.email: "member", email: "member"}
    assert (await browser.get("/api/datasets", headers=kim)).status_code == 200
