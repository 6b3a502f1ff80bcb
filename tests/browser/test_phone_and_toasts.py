"""The page on a phone and the page's manners when something goes wrong: the thread
drawer, nothing wider than a small screen, fields iOS does not zoom into, numbers that
never break; toasts that leave by themselves, never cover the buttons and say each thing
once; a thread's history by question; a message typed offline sent once on reconnect;
a running turn that says it goes on while the connection is lost."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Route,
    ViewportSize,
    WebSocketRoute,
    expect,
)

from tests.browser.app_page import (
    ask,
    assert_each_step_once,
    open_screen,
    run_id_of,
    wait_agent,
    wait_finished,
    wait_live,
)
from tests.browser.conftest import ApiUser, Tab, api_signup, signed_in_tab, watch
from tests.e2e.server import Server

PHONE: ViewportSize = {"width": 390, "height": 844}
SMALL_PHONE: ViewportSize = {"width": 360, "height": 740}
TOAST_GONE_MS = 12_000  # an error toast leaves after 8 s: this bounds the wait for it


def phone_context(browser: Browser, viewport: ViewportSize = PHONE) -> BrowserContext:
    context = browser.new_context(viewport=viewport, is_mobile=True, has_touch=True,
                                  color_scheme="dark")
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = phone_context(browser)
    yield context
    context.close()


@pytest.fixture
def small_phone(browser: Browser) -> Iterator[BrowserContext]:
    context = phone_context(browser, SMALL_PHONE)
    yield context
    context.close()


def focus_path(page: Page, presses: int) -> list[dict[str, Any]]:
    """Where the Tab key takes the focus, press after press."""
    page.locator("a.skip").focus()  # from the top of the page
    path = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        path.append(page.evaluate("""() => { const el = document.activeElement;
            return {tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 30),
                    inDrawer: !!el.closest('#sidebar')}; }"""))
    return path


def drawer_settled(page: Page) -> None:
    """Until the drawer has finished sliding (in or out)."""
    page.wait_for_function("""() => { const s = document.getElementById('sidebar');
        return !s.getAnimations().length; }""")


def on_top(locator: Locator) -> bool:
    """Nothing covers the middle of the element: a tap there reaches it."""
    return bool(locator.evaluate("""el => { const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!hit && (hit === el || el.contains(hit)); }"""))


# -- the drawer ------------------------------------------------------------------------


def test_the_drawer_closes_by_its_button_escape_and_a_tap_outside(
    phone: BrowserContext, server: Server
) -> None:
    user = api_signup(server.base_url, "drawer")
    user.post("/api/threads", {"title": "Drawer thread"})
    tab = signed_in_tab(phone, user)
    page = tab.page
    wait_live(page)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    menu = page.locator("#menu-btn")
    sidebar = page.locator("#sidebar")
    link = sidebar.get_by_role("link", name="Drawer thread")

    # Shut: inert, so the Tab key never goes into it.
    assert sidebar.evaluate("el => el.inert") is True
    path = focus_path(page, 16)  # the header: ☰, brand, 4 screens, organization, …
    assert not any(stop["inDrawer"] for stop in path), path
    assert any(stop["id"] == "composer-input" for stop in path), path  # Tab does move

    # ☰ opens it (the focus goes in; a toast does not cover it) and ☰ closes it.
    page.evaluate("() => import('/static/js/dom.js').then(m => m.showError("
                  "new Error('a test error'), 'Something to say'))")
    expect(page.locator("#toasts .toast")).to_have_count(1)
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(link).to_be_in_viewport()
    assert sidebar.evaluate("el => el.inert") is False
    expect(page.locator("#new-thread")).to_be_focused()
    drawer_settled(page)
    assert on_top(page.locator("#new-thread")) and on_top(link)
    assert on_top(menu)  # the button stays reachable over the open drawer
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(link).not_to_be_in_viewport()
    assert sidebar.evaluate("el => el.inert") is True

    # Escape closes it, and the focus returns to ☰.
    menu.click()
    expect(link).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(link).not_to_be_in_viewport()
    expect(menu).to_be_focused()
    assert sidebar.evaluate("el => el.inert") is True

    # A tap outside closes it, and does nothing else: not even to the composer under it.
    menu.click()
    expect(link).to_be_in_viewport()
    drawer_settled(page)
    box = page.get_by_label("Your question")
    target = box.bounding_box()
    assert target is not None
    drawer = sidebar.bounding_box()
    assert drawer is not None and target["x"] + target["width"] > drawer["x"] + drawer["width"]
    page.touchscreen.tap(target["x"] + target["width"] - 10, target["y"] + target["height"] / 2)
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(link).not_to_be_in_viewport()
    expect(box).not_to_be_focused()
    assert sidebar.evaluate("el => el.inert") is True
    assert tab.errors == []


# -- narrow screens ----------------------------------------------------------------------


def wide_things(page: Page) -> dict[str, Any]:
    """How wide the page and the screen shown are, and any visible element past the edge
    (outside a scroller of its own, such as an answer's wide table)."""
    return dict(page.evaluate("""() => {
        const view = [...document.querySelectorAll('.view')].find(v => !v.hidden);
        const within = (el) => {
            for (let p = el.parentElement; p && p !== view; p = p.parentElement) {
                const o = getComputedStyle(p).overflowX;
                if (o === 'auto' || o === 'scroll') return true;
            }
            return false; };
        const past = [...view.querySelectorAll('*')].filter(el => el.offsetParent !== null
            && !within(el) && el.getBoundingClientRect().right > innerWidth + 0.5)
            .map(el => el.outerHTML.slice(0, 80));
        return {page: document.documentElement.scrollWidth, screen: innerWidth,
                view: view.scrollWidth, viewBox: view.clientWidth, past};
    }"""))


def check_fits(page: Page, screen: str) -> None:
    sizes = wide_things(page)
    assert sizes["page"] <= sizes["screen"], f"{screen}: page {sizes}"
    assert sizes["view"] <= sizes["viewBox"], f"{screen}: the screen scrolls sideways {sizes}"
    assert sizes["past"] == [], f"{screen}: past the edge {sizes['past']}"


def check_fields(page: Page, screen: str) -> None:
    """Every visible input, select and textarea at 16 px or more (iOS zooms into less)."""
    small = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.offsetParent !== null || el.type === 'file' && el.getClientRects().length)
        .map(el => [el.id || el.name || el.type, parseFloat(getComputedStyle(el).fontSize)])
        .filter(([, size]) => size < 16)""")
    assert small == [], f"{screen}: fields under 16 px {small}"


def check_numbers_unbroken(cells: Locator) -> None:
    """Each number (or date) lies on one line."""
    lines = cells.evaluate_all("""cells => cells.map(cell => {
        const range = document.createRange(); range.selectNodeContents(cell);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        return [cell.textContent, tops.size, getComputedStyle(cell).whiteSpace]; })""")
    assert lines, "no cells to check"
    for text, count, white_space in lines:
        assert count == 1 and white_space == "nowrap", (text, count, white_space)


def test_nothing_wider_than_a_small_phone(small_phone: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "narrow")
    dataset = user.post("/api/datasets/demo", {"rows": 300, "seed": 4})
    user.post("/api/datasets/demo", {"rows": 200, "seed": 5})
    user.post("/api/api-keys", {"name": "a gateway key with a fairly long name"})
    tab = signed_in_tab(small_phone, user)
    page = tab.page
    wait_live(page)
    assert page.evaluate("innerWidth") == 360

    check_fits(page, "chat")
    check_fields(page, "chat")
    turn = ask(page, "Where does our spend go, by model and by feature?")
    wait_finished(turn)
    check_fits(page, "chat with an answer")

    open_screen(page, "Datasets")
    rows = page.locator("#dataset-list tr")
    expect(rows).to_have_count(2)
    check_fits(page, "datasets")
    check_fields(page, "datasets")
    delete = page.get_by_role("button", name=f"Delete dataset {dataset['name']}")
    delete.scroll_into_view_if_needed()
    expect(delete).to_be_in_viewport(ratio=1)
    assert on_top(delete)
    check_numbers_unbroken(page.locator("#dataset-list td.num, #dataset-list td.period .nowrap"))

    open_screen(page, "API keys")
    expect(page.locator("#key-list tr")).to_have_count(1)
    check_fits(page, "keys")
    check_fields(page, "keys")
    revoke = page.get_by_role("button", name=re.compile("^Revoke key"))
    expect(revoke).to_be_in_viewport(ratio=1)
    assert tab.errors == []


def test_the_sign_in_fields_are_not_zoomed_into(
    small_phone: BrowserContext, server: Server
) -> None:
    tab = watch(small_phone.new_page(), server.base_url)
    tab.page.goto(server.base_url + "/")
    expect(tab.page.locator("#auth-email")).to_be_visible()
    small = tab.page.evaluate("""() => [...document.querySelectorAll('#auth-screen input')]
        .filter(el => el.offsetParent !== null)
        .map(el => parseFloat(getComputedStyle(el).fontSize)).filter(size => size < 16)""")
    assert small == []
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360


# -- toasts ------------------------------------------------------------------------------


def refuse_key_creation(route: Route) -> None:
    if route.request.method != "POST":
        route.fallback()
        return
    route.fulfill(status=500, content_type="application/json", body=json.dumps(
        {"error": {"code": "internal_error", "message": "internal error; it has been logged"}}))


def test_a_toast_leaves_by_itself_says_a_thing_once_and_covers_no_button(
    phone: BrowserContext, server: Server
) -> None:
    user = api_signup(server.base_url, "toast")
    user.post("/api/datasets/demo", {"rows": 200, "seed": 6})
    phone.route("**/api/api-keys", refuse_key_creation)
    tab = signed_in_tab(phone, user)
    page = tab.page
    wait_live(page)
    toasts = page.locator("#toasts .toast")

    open_screen(page, "API keys")
    page.get_by_label("Key name").fill("gateway")
    create = page.get_by_role("button", name="Create key")
    create.click()
    expect(toasts).to_have_count(1)
    text = toasts.first.text_content() or ""
    assert text.startswith("Could not create the key. Something went wrong on the server"), text
    assert "internal_error" not in text
    create.click()
    create.click()
    expect(toasts).to_have_count(1)  # the same error again is not a second toast
    # Under the header, not over the form's button.
    header = page.locator(".topbar").bounding_box()
    toast_box = toasts.first.bounding_box()
    assert header and toast_box and toast_box["y"] >= header["y"] + header["height"]
    assert on_top(create)
    expect(toasts).to_have_count(0, timeout=TOAST_GONE_MS)  # gone by itself

    # Moving to another screen clears what was said about this one (long before 8 s).
    create.click()
    expect(toasts).to_have_count(1)
    open_screen(page, "Datasets")
    expect(toasts).to_have_count(0, timeout=2_000)

    # The buttons a person needs stay clickable under a toast: Delete here, Send and Stop
    # on the chat.
    page.evaluate("() => import('/static/js/dom.js').then(m => m.showError("
                  "new Error('a test error'), 'Something to say'))")
    expect(toasts).to_have_count(1)
    delete = page.get_by_role("button", name=re.compile("^Delete dataset"))
    delete.scroll_into_view_if_needed()  # below the upload form on a phone
    assert on_top(delete)
    open_screen(page, "Chat")
    page.evaluate("() => import('/static/js/dom.js').then(m => m.showError("
                  "new Error('a test error'), 'Something to say'))")
    expect(toasts).to_have_count(1)
    assert on_top(page.get_by_role("button", name="Send"))
    assert tab.errors == [] or all("500" in e for e in tab.errors), tab.errors


def test_hovering_a_toast_keeps_it_and_info_leaves_sooner(
    context: BrowserContext, server: Server
) -> None:
    user = api_signup(server.base_url, "hover")
    context.clock.install()  # time runs as usual until the test pauses it
    tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    toasts = page.locator("#toasts .toast")
    now = page.evaluate("Date.now()")
    page.clock.pause_at(now + 1000)
    page.evaluate("() => import('/static/js/dom.js').then(m => m.showError("
                  "new Error('the thing failed'), 'Could not do the thing'))")
    expect(toasts).to_have_text(["Could not do the thing. The thing failed.×"])
    toasts.first.hover()
    expect(toasts.first).to_have_attribute("data-paused", "true")
    page.clock.run_for(30_000)  # far past its 8 s: kept while the pointer is on it
    expect(toasts).to_have_count(1)
    page.mouse.move(5, 600)
    expect(toasts.first).not_to_have_attribute("data-paused", "true")
    page.clock.run_for(9_000)
    expect(toasts).to_have_count(0)

    # Keyboard focus keeps it too; an info toast leaves after about 4 s.
    page.evaluate("() => import('/static/js/dom.js').then(m => m.showInfo('Saved.'))")
    info = toasts.filter(has_text="Saved.")
    expect(info).to_have_count(1)
    info.get_by_role("button", name="Dismiss").focus()
    page.clock.run_for(10_000)
    expect(info).to_have_count(1)
    page.get_by_label("Your question").focus()
    page.clock.run_for(3_000)
    expect(info).to_have_count(1)  # its time starts again: not yet
    page.clock.run_for(2_000)
    expect(info).to_have_count(0)
    assert tab.errors == []


def test_the_composer_counts_toward_the_limit(context: BrowserContext, server: Server) -> None:
    tab = signed_in_tab(context, api_signup(server.base_url, "counter"))
    page = tab.page
    wait_live(page)
    count = page.locator("#composer-count")
    box = page.get_by_label("Your question")
    box.fill("short question?")
    expect(count).to_be_hidden()
    box.fill("é" * 7_000)  # two bytes each: 14,000 bytes
    expect(count).to_be_visible()
    expect(count).to_have_attribute("data-level", "near")
    expect(count).to_have_text("14,000 / 16,384 bytes: close to the limit")
    box.fill("y" * 16_385)
    expect(count).to_have_attribute("data-level", "over")
    expect(count).to_contain_text("too long to send")
    box.fill("")
    expect(count).to_be_hidden()
    assert tab.errors == []


# -- history, offline, reconnecting -----------------------------------------------------


def ready_user(server: Server, name: str) -> ApiUser:
    user = api_signup(server.base_url, name)
    user.post("/api/datasets/demo", {"rows": 500, "seed": 8})
    return user


def log_order(page: Page) -> list[tuple[str, str]]:
    """The conversation as drawn: ("user", question) and ("assistant", run id)."""
    return [(kind, value) for kind, value in page.locator("#log > article").evaluate_all(
        """arts => arts.map(a => a.classList.contains('user')
            ? ['user', a.querySelector('.bubble').textContent]
            : ['assistant', a.dataset.runId])""")]


def test_overlapping_questions_come_back_each_answer_under_its_question(
    context: BrowserContext, slow_server: Server
) -> None:
    user = ready_user(slow_server, "overlap")
    thread = user.post("/api/threads", {"title": "Two at once"})
    path = f"/api/threads/{thread['id']}/messages"
    first = user.post(path, {"content": "Which model costs the most?"})
    second = user.post(path, {"content": "Which feature costs the most?"})
    tab = signed_in_tab(context, user)
    page = tab.page
    page.goto(f"{slow_server.base_url}/#/chat/{thread['id']}")
    for accepted in (first, second):
        wait_finished(page.locator(f"article.assistant[data-run-id='{accepted['run']['id']}']"))

    stored = user.get(path)
    by_time = sorted(stored, key=lambda m: m["created_at"])
    # The questions did overlap: the second was asked before the first was answered.
    assert [m["role"] for m in by_time] == ["user", "user", "assistant", "assistant"], by_time
    assert [(m["role"], m["run_id"]) for m in stored] == [
        ("user", first["run"]["id"]), ("assistant", first["run"]["id"]),
        ("user", second["run"]["id"]), ("assistant", second["run"]["id"])]
    assert set(stored[0]) == set(by_time[0])  # the same fields as ever

    page.reload()
    wait_live(page)
    expect(page.locator("#log > article")).to_have_count(4)
    assert log_order(page) == [
        ("user", "Which model costs the most?"), ("assistant", first["run"]["id"]),
        ("user", "Which feature costs the most?"), ("assistant", second["run"]["id"])]
    assert tab.errors == []


def cable(context: BrowserContext) -> tuple[list[WebSocketRoute], list[dict[str, Any]]]:
    """Route the page's sockets through the test: the open ones can be cut, and every
    frame the page sends is recorded on its way to the server."""
    sockets: list[WebSocketRoute] = []
    sent: list[dict[str, Any]] = []

    def through(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            sent.append(json.loads(message))
            server.send(message)

        ws.on_message(from_page)
        sockets.append(ws)

    context.route_web_socket(re.compile(r"/ws\?ticket="), through)
    return sockets, sent


def go_offline(context: BrowserContext, page: Page, sockets: list[WebSocketRoute]) -> None:
    context.set_offline(True)
    sockets[-1].close(code=4001, reason="cable cut")
    lost = re.compile("offline|reconnecting")
    expect(page.locator("#conn")).to_have_attribute("data-state", lost)


def test_a_message_typed_offline_is_sent_once_when_the_connection_returns(
    context: BrowserContext, server: Server
) -> None:
    user = ready_user(server, "offline")
    thread = user.post("/api/threads", {"title": "On a train"})
    sockets, sent = cable(context)
    tab = signed_in_tab(context, user)
    page = tab.page
    page.goto(f"{server.base_url}/#/chat/{thread['id']}")
    wait_live(page)
    expect(page.locator("#thread-title")).to_have_text("On a train")

    go_offline(context, page, sockets)
    question = "What did we spend on the train?"
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")
    bubble = page.locator("article.user")
    expect(bubble.locator(".pending-note")).to_contain_text("Waiting for the connection")
    expect(bubble.locator(".error")).to_have_count(0)
    assert user.get(f"/api/threads/{thread['id']}/messages") == []

    context.set_offline(False)
    wait_live(page)
    turn = page.locator("article.assistant")
    expect(turn).to_have_count(1)
    wait_finished(turn)
    expect(bubble.locator(".pending-note")).to_have_count(0)
    frames = [f for f in sent if f.get("type") == "user_message"]
    assert len(frames) == 1, frames  # sent once, on the socket that came back
    assert frames[0]["content"] == question and frames[0]["client_msg_id"]
    stored = user.get(f"/api/threads/{thread['id']}/messages")
    assert [(m["role"], m["content"] if m["role"] == "user" else "") for m in stored] == [
        ("user", question), ("assistant", "")]
    assert stored[0]["run_id"] == run_id_of(turn)
    expect(page.locator("article.user")).to_have_count(1)
    assert not [e for e in tab.errors if "ERR_INTERNET_DISCONNECTED" not in e], tab.errors


def test_a_running_turn_says_it_goes_on_while_the_connection_is_lost(
    context: BrowserContext, slow_server: Server
) -> None:
    user = ready_user(slow_server, "lost")
    sockets, _ = cable(context)
    tab: Tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    turn = ask(page, "How can we cut our LLM costs?")
    wait_agent(turn, "data")
    run_id = run_id_of(turn)

    go_offline(context, page, sockets)
    note = turn.locator(".reconnecting")
    expect(note).to_have_text("Reconnecting — the analysis continues on the server.")
    context.set_offline(False)
    wait_live(page)
    expect(note).to_have_count(0)
    wait_finished(turn)
    expect(turn.locator(".reconnecting")).to_have_count(0)
    events = user.get(f"/api/runs/{run_id}/events")
    assert events[-1]["type"] == "agent_completed"
    assert_each_step_once(turn, events)
    assert not [e for e in tab.errors if "ERR_INTERNET_DISCONNECTED" not in e], tab.errors
