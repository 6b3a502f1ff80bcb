"""axe-core (the axe-playwright-python wheel) on every screen of the page, on a desktop in
the light theme and on a phone in the dark one: zero violations. Each screen is kept as
a screenshot in test-artifacts/ (CI's artifacts), so a reviewer sees what was checked.

The screens hold real content: an answer with its report (a finding's evidence and the
written report unfolded), a dataset with an upload report, its dashboard, API keys,
the members of an organization with an invitation and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.browser.app_page import open_screen, wait_finished, wait_live
from tests.browser.conftest import ARTIFACTS, ApiUser, api_signup, signed_in_tab, watch
from tests.e2e.server import Server

DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
QUESTION = "How can we cut our LLM costs?"
AXE = Axe()


@pytest.fixture(params=["desktop-light", "phone-dark"])
def device(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    phone = request.param == "phone-dark"
    context = browser.new_context(
        viewport=PHONE if phone else DESKTOP, is_mobile=phone, has_touch=phone,
        color_scheme="dark" if phone else "light")
    context.set_default_timeout(30_000)
    yield context
    context.close()


def check(page: Page, screen: str, device: str, within: str | None = None) -> None:
    """No axe violation on the page as it is (or in `within`); a screenshot either way."""
    page.evaluate("document.fonts.ready")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{screen}-{device}.png"), full_page=True,
                    animations="disabled")
    results = AXE.run(page, context=within)
    assert results.violations_count == 0, f"{screen} ({device}):\n{results.generate_report()}"


def asked(user: ApiUser) -> str:
    """A thread holding a finished answer with its report; its id."""
    thread = user.post("/api/threads", {"title": QUESTION})
    user.post(f"/api/threads/{thread['id']}/messages", {"content": QUESTION})
    return str(thread["id"])


def test_every_screen_has_no_accessibility_violation(
    request: pytest.FixtureRequest, device: BrowserContext, server: Server
) -> None:
    name = request.node.callspec.params["device"]
    signed_out = watch(device.new_page(), server.base_url)
    signed_out.page.goto(server.base_url + "/")
    expect(signed_out.page.locator("#auth-submit")).to_be_visible()
    check(signed_out.page, "sign-in", name)
    signed_out.page.close()

    user = api_signup(server.base_url, "axe")
    dataset: dict[str, Any] = user.post("/api/datasets/demo", {"rows": 2000, "seed": 9})
    thread_id = asked(user)
    tab = signed_in_tab(device, user)
    page = tab.page
    wait_live(page)

    page.goto(f"{server.base_url}/#/chat/{thread_id}")
    turn = page.locator("article.assistant").first
    wait_finished(turn)
    expect(turn.locator("article.finding").first).to_be_visible()
    turn.locator("article.finding").first.locator("details.evidence > summary").click()
    turn.locator(".full-report > summary").click()
    check(page, "chat-answer", name)

    open_screen(page, "Datasets")
    page.locator("#upload-file").set_input_files(files=[{
        "name": "export.csv", "mimeType": "text/csv",
        "buffer": (b"timestamp,model,input_tokens,output_tokens,latency_ms,feature\n"
                   b"2026-11-01T10:00:00Z,gpt-4o,1200,300,900,search\n"
                   b"2026-11-01T10:01:00Z,claude-sonnet-4-5,800,200,1100,chat\n"
                   b"not a time,gpt-4o,1,1,1,search\n")}])
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_contain_text("2 rows imported")
    expect(page.locator("#dataset-list tr")).to_have_count(2)
    check(page, "datasets", name)

    page.goto(f"{server.base_url}/#/datasets/{dataset['id']}")
    expect(page.locator("#dashboard-view")).to_have_attribute("data-loaded", "true")
    page.locator("#dash-request-rows tr.request").first.locator("button").click()
    check(page, "dashboard", name)

    open_screen(page, "API keys")
    page.get_by_label("Key name").fill("gateway")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#key-created")).to_be_visible()
    check(page, "api-keys", name)

    open_screen(page, "Members")  # its owner's view: members, an invitation, the audit log
    expect(page.locator("#member-list tr")).to_have_count(1)
    page.locator("#invite-form").get_by_label("Email").fill("new.colleague@example.com")
    page.get_by_role("button", name="Invite").click()
    expect(page.locator("#invite-created")).to_be_visible()
    expect(page.locator("#audit-list tr").first).to_be_visible()
    check(page, "members", name)

    if name == "phone-dark":  # the drawer, open: the page behind it is inert meanwhile
        page.get_by_role("button", name="Show threads").click()  # (no main, no h1 to find)
        expect(page.locator("#thread-list")).to_be_visible()
        check(page, "drawer", name, within="#sidebar")
    assert tab.errors == []
