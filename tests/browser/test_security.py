"""The page under its Content-Security-Policy, enforced by real Chromium: the whole golden
path (sign-up, demo data, a question, the streamed answer, the charts, a theme switch,
a download) works, and the browser reports no violation of the policy."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from tests.browser.app_page import ask, load_demo, open_screen, sign_up, wait_finished, wait_live
from tests.browser.conftest import Tab, watch
from tests.e2e.server import Server

# Every violation the page sees, whatever reports it (the console may not).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
                           + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_the_page_works_under_its_csp_without_violations(
    context: BrowserContext, server: Server
) -> None:
    context.add_init_script(RECORD_VIOLATIONS)
    tab: Tab = watch(context.new_page(), server.base_url)
    page = tab.page
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(server.base_url + "/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy

    sign_up(tab, "csp")
    wait_live(page)
    load_demo(page)
    open_screen(page, "Chat")
    turn = ask(page, "How can we cut our LLM costs?")
    wait_finished(turn)
    turn.locator(".full-report > summary").click()  # the written report, folded
    expect(turn.locator(".full-report table").first).to_be_visible()  # server-rendered Markdown
    charts = turn.locator(".charts")
    charts.scroll_into_view_if_needed()
    expect(charts.locator(".hbar-fill").first).to_be_visible()  # widths set under the policy
    page.get_by_role("button", name="Switch to dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    with page.expect_download():  # a blob: URL built in the page
        turn.locator(".downloads button").first.click()
    page.reload()  # the theme, from the script that runs before first paint
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    wait_live(page)

    violations = page.evaluate("window.__violations")
    assert violations == [], violations
    assert [m for m in console if "Content Security Policy" in m] == []
    assert tab.errors == []
