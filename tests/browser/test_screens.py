"""The other screens and the page's manners: the thread list, API keys, the keyboard,
focus, labels, themes, a phone-width screen, and server refusals shown in words."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.app_page import ask, open_screen, run_id_of, wait_finished, wait_live
from tests.browser.conftest import api_signup, signed_in_tab
from tests.e2e.server import Server


def answer_dialog(page: Page, button: str, value: str | None = None) -> None:
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    if value is not None:
        dialog.get_by_role("textbox").fill(value)
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(dialog).to_be_hidden()


def test_thread_list_new_rename_delete(context: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "threads")
    first = user.post("/api/threads", {"title": "First"})
    user.post("/api/threads", {"title": "Second"})
    tab = signed_in_tab(context, user)
    page = tab.page
    links = page.locator("#thread-list a")
    expect(links).to_have_text(["Second", "First"])  # newest first

    links.nth(1).click()
    expect(page.locator("#thread-title")).to_have_text("First")
    expect(links.nth(1)).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="Rename thread First").click()
    answer_dialog(page, "Rename", "Renamed")
    expect(links).to_have_text(["Second", "Renamed"])
    expect(page.locator("#thread-title")).to_have_text("Renamed")
    assert user.get(f"/api/threads/{first['id']}")["title"] == "Renamed"

    page.get_by_role("button", name="Delete thread Second").click()
    answer_dialog(page, "Delete")
    expect(links).to_have_text(["Renamed"])
    assert [t["title"] for t in user.get("/api/threads")] == ["Renamed"]

    page.get_by_role("button", name="Delete thread Renamed").click()
    answer_dialog(page, "Cancel")
    expect(links).to_have_text(["Renamed"])

    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#thread-title")).to_have_text("New chat")
    turn = ask(page, "A question in a new thread?")
    wait_finished(turn)
    expect(links).to_have_text(["A question in a new thread?", "Renamed"])
    assert tab.errors == []


def test_api_keys_create_use_revoke(context: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "keys")
    dataset = user.post("/api/datasets/demo", {"rows": 200, "seed": 5})
    tab = signed_in_tab(context, user)
    page = tab.page
    open_screen(page, "API keys")
    page.get_by_label("Key name").fill("gateway")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#key-created")).to_be_visible()
    key = page.locator("#key-value").text_content() or ""
    assert len(key) > 16, key
    expect(page.locator("#key-list tr td:first-child")).to_have_text(["gateway"])
    record = {"ts": "2026-11-20T10:00:00Z", "provider": "openai", "model": "gpt-4o",
              "input_tokens": 100, "output_tokens": 10}
    ingest = f"{server.base_url}/api/ingest/{dataset['id']}/records"
    sent = httpx.post(ingest, json=[record], headers={"Authorization": f"Bearer {key}"})
    assert sent.status_code == 202, sent.text

    page.get_by_role("button", name="Revoke key gateway").click()
    answer_dialog(page, "Revoke")
    expect(page.locator("#key-list tr")).to_have_count(0)
    expect(page.locator("#key-created")).to_be_hidden()
    refused = httpx.post(ingest, json=[record], headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401
    assert tab.errors == []


def test_keyboard_focus_and_labels(context: BrowserContext, server: Server) -> None:
    tab = signed_in_tab(context, api_signup(server.base_url, "keyboard"))
    page = tab.page
    wait_live(page)
    box = page.get_by_label("Your question")
    box.fill("line one")
    box.press("Shift+Enter")
    box.press_sequentially("line two")
    expect(box).to_have_value("line one\nline two")
    expect(page.locator("article.user")).to_have_count(0)  # Shift+Enter did not send
    box.press("Enter")
    expect(page.locator("article.user .bubble")).to_have_text(["line one\nline two"])
    expect(box).to_have_value("")

    # Keyboard focus is always visible.
    page.locator("body").click(position={"x": 5, "y": 300})
    for _ in range(4):
        page.keyboard.press("Tab")
        outline = page.evaluate("""() => { const el = document.activeElement;
            const s = getComputedStyle(el);
            return [el.tagName, s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
        assert outline[1] != "none" and outline[2] >= 2, outline

    # Every visible control has a name a screen reader can say.
    unnamed = page.evaluate("""() => [...document.querySelectorAll(
        'button, input, select, textarea, a[href]')].filter(el => el.offsetParent !== null)
        .filter(el => !(el.getAttribute('aria-label') || el.textContent.trim()
                        || (el.labels && el.labels.length) || el.getAttribute('title')))
        .map(el => el.outerHTML.slice(0, 80))""")
    assert unnamed == []
    assert tab.errors == []


def test_themes(context: BrowserContext, server: Server) -> None:
    tab = signed_in_tab(context, api_signup(server.base_url, "theme"))
    page = tab.page
    wait_live(page)
    html = page.locator("html")
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    expect(html).to_have_attribute("data-theme", "light")
    page.get_by_role("button", name="Switch to dark theme").click()
    expect(html).to_have_attribute("data-theme", "dark")
    dark = page.evaluate(background)
    assert dark != light
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")  # remembered
    expect(page.get_by_role("button", name="Switch to light theme")).to_be_visible()
    assert tab.errors == []


def test_usable_on_a_phone(browser: Browser, server: Server) -> None:
    user = api_signup(server.base_url, "phone")
    user.post("/api/datasets/demo", {"rows": 300, "seed": 9})
    thread = user.post("/api/threads", {"title": "On the go"})
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(20_000)
    try:
        tab = signed_in_tab(context, user)
        page = tab.page
        wait_live(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px screen"
        sidebar = page.locator("#sidebar")
        assert (sidebar.bounding_box() or {"x": 0})["x"] < 0  # tucked away
        menu = page.get_by_role("button", name="Show threads")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        link = sidebar.get_by_role("link", name="On the go")
        expect(link).to_be_in_viewport()
        link.click()
        expect(page.locator("#thread-title")).to_have_text(thread["title"])
        expect(link).not_to_be_in_viewport()
        turn = ask(page, "How can we cut costs?")
        wait_finished(turn)
        assert run_id_of(turn)
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the answer made the page {width}px wide"
        assert tab.errors == []
    finally:
        context.close()


def test_a_refused_message_is_explained(context: BrowserContext, server: Server) -> None:
    tab = signed_in_tab(context, api_signup(server.base_url, "refused"))
    page = tab.page
    wait_live(page)
    box = page.get_by_label("Your question")
    box.fill("x" * (17 * 1024))  # over the 16 KiB content limit
    count = page.locator("#composer-count")
    expect(count).to_have_attribute("data-level", "over")  # warned before sending
    expect(count).to_contain_text("17,408 / 16,384 bytes")
    box.press("Enter")
    bubble = page.locator("article.user")
    # in words, with the limit and what to do, not an error code
    expect(bubble.locator(".error")).to_have_text(
        "Not sent: Your message is 17,408 bytes; the limit is 16,384 bytes (16 KiB)."
        " Shorten it, or split it into several questions.")
    # said once, where it belongs: under the message, not again as a toast
    expect(page.locator(".toast")).to_have_count(0)
    expect(box).to_have_value("x" * (17 * 1024))  # the text is not lost
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    assert tab.errors == [] or all("413" in e for e in tab.errors), tab.errors
