"""A dataset's dashboard in the browser: opened from the datasets list, its tiles agree
with the API, a filter changes them (and survives a reload), the request table pages and
opens a row, "Ask about this dataset" starts a chat on it; at 360 px nothing but its
tables scrolls sideways, in either theme."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.app_page import open_screen, wait_live
from tests.browser.conftest import ApiUser, api_signup, signed_in_tab
from tests.browser.test_phone_and_toasts import SMALL_PHONE, check_fields, check_fits, phone_context
from tests.e2e.server import Server


def tile(page: Page, kpi: str) -> Any:
    return page.locator(f"#dash-kpis [data-kpi='{kpi}'] dd").first


def open_board(page: Page, user: ApiUser, dataset: dict[str, Any]) -> None:
    """From the datasets list, by clicking the dataset's row."""
    open_screen(page, "Datasets")
    page.locator(f"#dataset-list tr[data-dataset-id='{dataset['id']}'] td.period").click()
    expect(page).to_have_url(re.compile(f"#/datasets/{dataset['id']}$"))
    expect(page.get_by_role("heading", level=1, name=dataset["name"])).to_be_visible()
    expect(page.locator("#dashboard-view")).to_have_attribute("data-loaded", "true")


def test_the_dashboard_of_a_dataset(context: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "board")
    dataset = user.post("/api/datasets/demo", {"rows": 1200, "seed": 8})
    board = user.get(f"/api/datasets/{dataset['id']}/dashboard")
    tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    open_board(page, user, dataset)

    expect(tile(page, "requests")).to_have_text("1,200")
    expect(tile(page, "spend")).to_have_text(f"${board['totals']['spend_usd']:,.2f}")
    expect(page.locator("#dash-charts figure .plot[role='img']")).to_have_count(4)
    expect(page.locator("#dash-breakdowns table")).to_have_count(4)

    # A filter re-asks the server; its numbers are the API's for that slice.
    model = board["breakdowns"]["model"]["rows"][1]
    page.locator("#dash-filters").get_by_label("Model").select_option(model["key"])
    expect(tile(page, "requests")).to_have_text(f"{model['requests']:,}")
    expect(page).to_have_url(re.compile(r"\?model="))
    expect(page.locator("#dash-page")).to_have_text(f"1–50 of {model['requests']:,}")

    # The request table pages, and a row opens every field of its request.
    rows = page.locator("#dash-request-rows tr.request")
    expect(rows).to_have_count(50)
    first_time = rows.first.locator("button").inner_text()
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#dash-page")).to_have_text(f"51–100 of {model['requests']:,}")
    assert rows.first.locator("button").inner_text() <= first_time
    page.get_by_role("button", name="Previous").click()
    expect(page.locator("#dash-page")).to_have_text(f"1–50 of {model['requests']:,}")
    opener = rows.nth(2).locator("button")
    opener.focus()
    page.keyboard.press("Enter")
    expect(opener).to_have_attribute("aria-expanded", "true")
    detail = page.locator("#dash-request-rows tr.request-detail:not([hidden])")
    expect(detail).to_have_count(1)
    expect(detail).to_contain_text("Request id")
    expect(detail).to_contain_text(model["key"])

    # The slice is in the address: a reload shows it again.
    page.reload()
    expect(page.locator("#dashboard-view")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#dash-filters").get_by_label("Model")).to_have_value(model["key"])
    expect(tile(page, "requests")).to_have_text(f"{model['requests']:,}")
    page.get_by_role("button", name="Clear filters").click()
    expect(tile(page, "requests")).to_have_text("1,200")

    page.get_by_role("button", name="Ask about this dataset").click()
    expect(page.locator("#chat-view")).to_be_visible()
    expect(page.get_by_label("Dataset", exact=True)).to_have_value(dataset["id"])
    assert tab.errors == []


def test_the_dashboard_link_and_the_snippet(context: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "link")
    dataset = user.post("/api/datasets/demo", {"rows": 300, "seed": 2})
    tab = signed_in_tab(context, user)
    page = tab.page
    open_screen(page, "Datasets")
    page.get_by_role("link", name=f"Dashboard of {dataset['name']}").click()
    expect(page.locator("#dashboard-view")).to_have_attribute("data-loaded", "true")
    page.locator("#dash-ingest summary").click()
    expect(page.locator("#dash-id")).to_have_text(dataset["id"])
    snippet = page.locator("#dash-snippet")
    expect(snippet).to_contain_text(f"/api/ingest/{dataset['id']}/records")
    expect(snippet).to_contain_text("Authorization: Bearer $NETRA_API_KEY")
    # An unknown dataset sends the reader back to the list, saying why.
    page.goto(f"{server.base_url}/#/datasets/nope")
    expect(page).to_have_url(re.compile("#/datasets$"))
    expect(page.locator(".toast")).to_contain_text("Could not open the dashboard")
    assert [e for e in tab.errors if "404" not in e] == []


@pytest.fixture
def small_phone(browser: Browser) -> Iterator[BrowserContext]:
    context = phone_context(browser, SMALL_PHONE)
    yield context
    context.close()


def test_the_dashboard_fits_a_small_phone(small_phone: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "narrow")
    dataset = user.post("/api/datasets/demo", {"rows": 400, "seed": 6})
    tab = signed_in_tab(small_phone, user)
    page = tab.page
    wait_live(page)
    assert page.evaluate("innerWidth") == 360
    page.goto(f"{server.base_url}/#/datasets/{dataset['id']}")
    expect(page.locator("#dashboard-view")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#dash-request-rows tr.request")).to_have_count(50)
    page.locator("#dash-request-rows tr.request").first.locator("button").click()
    page.locator("#dash-ingest summary").click()
    for theme in ("dark", "light"):  # the phone context starts dark
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        check_fits(page, f"dashboard, {theme}")
        check_fields(page, f"dashboard, {theme}")
        page.locator("#theme-btn").click()
    # the wide tables scroll inside their own box, not the page
    wide = page.locator("#dash-requests .dash-scroll")
    assert wide.evaluate("el => el.scrollWidth > el.clientWidth")
    assert tab.errors == []


def test_an_admin_deletes_the_requests_of_a_slice(context: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "prune")
    dataset = user.post("/api/datasets/demo", {"rows": 600, "seed": 4})
    board = user.get(f"/api/datasets/{dataset['id']}/dashboard")
    model = board["breakdowns"]["model"]["rows"][0]
    tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    open_board(page, user, dataset)
    delete = page.get_by_role("button", name="Delete these requests")
    expect(delete).to_be_hidden()  # the whole dataset is deleted from Datasets

    page.locator("#dash-filters").get_by_label("Model").select_option(model["key"])
    expect(tile(page, "requests")).to_have_text(f"{model['requests']:,}")
    delete.click()
    expect(page.locator("#dialog-text")).to_contain_text(f"Delete {model['requests']:,} requests")
    page.locator("#dialog-ok").click()
    left = 600 - model["requests"]
    expect(tile(page, "requests")).to_have_text(f"{left:,}")  # the whole dataset, now
    expect(page).to_have_url(re.compile(f"#/datasets/{dataset['id']}$"))
    after = user.get(f"/api/datasets/{dataset['id']}")
    assert (after["rows"], after["version"]) == (left, dataset["version"] + 1)
    assert model["key"] not in [r["key"] for r in
                                user.get(f"/api/datasets/{dataset['id']}/dashboard")
                                ["breakdowns"]["model"]["rows"]]
    assert tab.errors == []
