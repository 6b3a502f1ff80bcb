"""Signing in and out, the server's refusals shown in its own words, and tokens that are
refreshed without the person noticing."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import BrowserContext, expect

from tests.browser.app_page import sign_up, wait_live
from tests.browser.conftest import PASSWORD, api_signup, signed_in_tab, watch
from tests.e2e.server import Server


def refresh_works(base_url: str, refresh_token: str) -> bool:
    response = httpx.post(f"{base_url}/api/auth/refresh", json={"refresh_token": refresh_token},
                          timeout=10)
    return response.status_code == 200


def test_wrong_password_and_taken_email_are_explained(
    context: BrowserContext, server: Server
) -> None:
    user = api_signup(server.base_url, "taken")
    tab = watch(context.new_page(), server.base_url)
    page = tab.page
    page.goto(server.base_url + "/")
    page.locator("#auth-email").fill(user.email)
    page.locator("#auth-password").fill("not the password")
    page.get_by_role("button", name="Log in", exact=True).last.click()
    refused = httpx.post(f"{server.base_url}/api/auth/login",
                         json={"email": user.email, "password": "not the password"}, timeout=10)
    expect(page.get_by_role("alert").filter(has_text=refused.json()["error"]["message"])
           ).to_be_visible()

    page.get_by_role("button", name="Sign up").click()
    page.locator("#auth-password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    taken = httpx.post(f"{server.base_url}/api/auth/signup",
                       json={"email": user.email, "password": PASSWORD}, timeout=10)
    assert taken.status_code == 409
    expect(page.locator("#auth-error")).to_have_text(taken.json()["error"]["message"])
    expect(page.locator("#app")).to_be_hidden()


def test_log_out_then_log_in_again(context: BrowserContext, server: Server) -> None:
    tab = watch(context.new_page(), server.base_url)
    page = tab.page
    email = sign_up(tab)
    wait_live(page)
    page.get_by_role("button", name="New chat").click()
    refresh_token = tab.auth()["refresh_token"]
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#auth-screen")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('netra.auth')") is None
    assert not refresh_works(server.base_url, refresh_token)

    page.locator("#auth-email").fill(email)
    page.locator("#auth-password").fill(PASSWORD)
    page.locator("#auth-submit").click()
    expect(page.locator("#who")).to_have_text(email)
    wait_live(page)
    assert tab.errors == []


def test_tokens_are_refreshed_silently(context: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "refresh")
    user.post("/api/threads", {"title": "Still here"})
    tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    first = tab.auth()["refresh_token"]

    # The access token is about to expire: the page rotates the pair before using it.
    page.evaluate("""() => { const a = JSON.parse(localStorage.getItem('netra.auth'));
        a.expires_at = Date.now() + 8000;
        localStorage.setItem('netra.auth', JSON.stringify(a)); }""")
    page.reload()
    expect(page.locator("#thread-list a")).to_have_text(["Still here"])
    wait_live(page)
    second = tab.auth()["refresh_token"]
    assert second != first

    # The server refuses the access token (401): the page refreshes and retries.
    page.evaluate("""() => { const a = JSON.parse(localStorage.getItem('netra.auth'));
        a.access_token = 'revoked'; localStorage.setItem('netra.auth', JSON.stringify(a)); }""")
    page.reload()
    expect(page.locator("#thread-list a")).to_have_text(["Still here"])
    wait_live(page)
    assert tab.auth()["refresh_token"] != second
    expect(page.locator("#app")).to_be_visible()
    # Rotated: the first token is spent (and reusing it now ends that login everywhere).
    assert not refresh_works(server.base_url, first)
    assert [e for e in tab.errors if "401" not in e] == []


def test_another_account_signing_in_in_another_tab_takes_this_tab_over(
    context: BrowserContext, server: Server
) -> None:
    """Nothing of the first account stays on screen under the second one's login."""
    ada, bob = api_signup(server.base_url, "ada"), api_signup(server.base_url, "bob")
    ada.post("/api/threads", {"title": "Ada's thread"})
    bob.post("/api/threads", {"title": "Bob's thread"})
    tab = signed_in_tab(context, ada)
    page = tab.page
    expect(page.locator("#who")).to_have_text(ada.email)
    expect(page.locator("#thread-list a")).to_have_text(["Ada's thread"])

    # Another tab of the same browser finishes a sign-in as Bob (a single sign-on, say)
    # without signing Ada out: the login the app keeps changes under this tab.
    other = context.new_page()
    other.goto(server.base_url + "/")
    login = {"access_token": bob.tokens["access_token"],
             "refresh_token": bob.tokens["refresh_token"],
             "expires_at": int(time.time() * 1000) + bob.tokens["expires_in"] * 1000,
             "user": bob.tokens["user"]}
    other.evaluate("a => localStorage.setItem('netra.auth', JSON.stringify(a))", login)

    expect(page.locator("#who")).to_have_text(bob.email)
    expect(page.locator("#thread-list a")).to_have_text(["Bob's thread"])
    wait_live(page)
    assert tab.errors == []
