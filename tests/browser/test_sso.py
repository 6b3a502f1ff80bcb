"""Single sign-on in the browser: "Sign in with …" on the sign-in screen, the real
provider's own page (oidc-provider-mock), and back in the app, signed in; a refusal is
explained on the sign-in screen."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.app_page import wait_live
from tests.browser.conftest import Tab, watch
from tests.e2e.oidc_provider import Provider, running_provider
from tests.e2e.server import Server, running_server

LABEL = "Mock ID"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory: pytest.TempPathFactory, provider: Provider) -> Iterator[Server]:
    providers = [{"name": "mockid", "label": LABEL, "issuer": provider.issuer,
                  "client_id": "netra-web", "client_secret": "web-secret"}]
    with running_server(tmp_path_factory.mktemp("web-sso"),
                        NETRA_OIDC_PROVIDERS=json.dumps(providers)) as running:
        yield running


def at_provider(context: BrowserContext, server: Server, provider: Provider) -> Tab:
    """The sign-in screen, then "Sign in with Mock ID": the provider's page is showing."""
    # The provider's page asks a CDN for its stylesheet; there is no network here.
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    tab = watch(context.new_page(), server.base_url)
    tab.page.goto(server.base_url + "/")
    tab.page.get_by_role("link", name=f"Sign in with {LABEL}").click()
    expect(tab.page).to_have_url(re.compile("^" + re.escape(provider.issuer + "/oauth2/authorize")))
    return tab


def authorize(page: Page, subject: str) -> None:
    """What the person does on the provider's page: say who they are, authorize."""
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()


def own_errors(tab: Tab) -> list[str]:
    return [error for error in tab.errors if "Failed to load resource" not in error]


def test_sign_in_with_a_provider_lands_in_the_app_signed_in(
        context: BrowserContext, sso_server: Server, provider: Provider) -> None:
    subject = f"web-{secrets.token_hex(4)}"
    email = f"{subject}@example.com"
    provider.user(subject, email=email, email_verified=True, name="Web Person")
    tab = at_provider(context, sso_server, provider)
    authorize(tab.page, subject)
    expect(tab.page.locator("#app")).to_be_visible()
    expect(tab.page.locator("#who")).to_have_text(email)
    wait_live(tab.page)
    assert urlsplit(tab.page.url).fragment == ""  # the one-time code left the address bar
    assert tab.auth()["user"]["email"] == email
    assert tab.api().get("/api/me")["name"] == "Web Person"
    assert own_errors(tab) == []
    tab.screenshot("sso-signed-in.png")


def test_an_unverified_email_is_explained_on_the_sign_in_screen(
        context: BrowserContext, sso_server: Server, provider: Provider) -> None:
    subject = f"web-{secrets.token_hex(4)}"
    provider.user(subject, email=f"{subject}@example.com", email_verified=False)
    tab = at_provider(context, sso_server, provider)
    authorize(tab.page, subject)
    expect(tab.page.get_by_role("alert")).to_have_text(
        f"{LABEL} has not verified your email address. Verify it there, then try again.")
    expect(tab.page.locator("#app")).to_be_hidden()
    expect(tab.page.get_by_role("link", name=f"Sign in with {LABEL}")).to_be_visible()
    assert tab.page.evaluate("localStorage.getItem('netra.auth')") is None
    assert own_errors(tab) == []
