"""The golden path in a real browser: sign up, load the demo, ask the example question,
watch the agents work, read the report, reload and find it all still there."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.app_page import (
    FIVE_KINDS,
    ask,
    assert_each_step_once,
    expected_steps,
    load_demo,
    open_screen,
    run_id_of,
    shows_answer,
    sign_up,
    wait_finished,
    wait_live,
)
from tests.browser.conftest import ARTIFACTS, Tab, watch
from tests.e2e.server import Server


def check_timeline_details(turn: Locator, events: list[dict[str, Any]]) -> None:
    """A tool call shows its arguments, duration and summary; agents their end."""
    done = next(e for e in events if e["type"] == "tool_completed")
    tool = turn.locator(f"li.tool[data-end-seq='{done['seq']}']")
    expect(tool.locator(".tool-name")).to_have_text(done["payload"]["tool"])
    expect(tool.locator(".tool-state")).to_contain_text(re.compile(r"\d+(\.\d)? m?s"))
    expect(tool.locator(".tool-summary")).to_have_text(done["payload"]["summary"])
    started = next(e for e in events if e["type"] == "tool_executing"
                   and e["payload"]["tool_call_id"] == done["payload"]["tool_call_id"])
    args = tool.locator(".tool-args pre").text_content() or ""
    for key in started["payload"]["args"]:
        assert f'"{key}"' in args, f"argument {key} not shown in {args!r}"
    thinking = [e["payload"]["text"] for e in events if e["type"] == "agent_thinking"]
    expect(turn.locator("li.thinking")).to_have_text(thinking)


def check_report(page: Page, turn: Locator, message: dict[str, Any]) -> None:
    """Findings ranked by savings with their figures; evidence on demand; the charts."""
    report = message["report"]
    findings = sorted(report["findings"], key=lambda f: -f["savings_usd_month"])
    assert findings, "the demo data must yield findings"
    cards = turn.locator("article.finding")
    expect(cards).to_have_count(len(findings))
    expect(cards.locator("h3")).to_have_text([re.compile(re.escape(f["title"])) for f in findings])
    first = cards.first
    monthly = findings[0]["savings_usd_month"]
    expect(first.locator(".figures")).to_contain_text(f"${monthly:,.2f}")
    expect(first.locator(".figures")).to_contain_text(f"${monthly * 12:,.2f}")
    expect(first.locator(".figures")).to_contain_text(findings[0]["confidence"])
    evidence = first.locator("details.evidence")
    expect(evidence.locator("table")).to_be_hidden()
    evidence.locator(":scope > summary").click()
    expect(evidence.locator("table").first).to_be_visible()
    # Written for people: labels in words, no internal keys; the query folded apart.
    labels = evidence.locator("table.kv > tbody > tr > th").all_inner_texts()
    assert labels and not [x for x in labels if "_" in x or x.lower() in ("query", "sql")], labels
    if "query" in findings[0]["evidence"] or "sql" in findings[0]["evidence"]:
        expect(evidence.locator("details.query pre")).to_be_hidden()
    charts = turn.locator(".charts")
    charts.scroll_into_view_if_needed()
    chart_ids = [c["id"] for c in report["charts"]]
    assert {"spend_by_model", "spend_by_feature", "spend_by_day", "savings_by_finding"} <= set(
        chart_ids)
    figures = charts.locator("figure.chart")
    expect(figures).to_have_count(len(chart_ids))
    # The savings chart first (the answer in one picture), then the report's order.
    shown = figures.evaluate_all("fs => fs.map(f => f.dataset.chartId)")
    assert shown == ["savings_by_finding", *(i for i in chart_ids if i != "savings_by_finding")]
    savings = next(c for c in report["charts"] if c["id"] == "savings_by_finding")
    expect(figures.first.locator(".hbar-label")).to_have_text([str(x) for x in savings["labels"]])
    expect(figures.first.locator(".hbar-fill").first).to_be_visible()
    expect(charts.locator("figure[data-chart-id='spend_by_day'] polyline").first).to_be_attached()


def check_downloads(page: Page, turn: Locator, message: dict[str, Any]) -> None:
    buttons = turn.locator(".downloads button")
    names = buttons.evaluate_all("bs => bs.map(b => b.dataset.filename)")
    offered = [d["filename"] for d in message["report"].get("downloads") or []]
    assert names[0] == "netra-report.md" and set(offered) <= set(names), names
    with page.expect_download() as got:
        buttons.first.click()
    path = got.value.path()
    assert path is not None
    assert path.read_text() == message["content"]
    for name in offered:
        with page.expect_download() as got:
            turn.locator(f".downloads button[data-filename='{name}']").click()
        file = next(d for d in message["report"]["downloads"] if d["filename"] == name)
        assert got.value.suggested_filename == name
        saved = got.value.path()
        assert saved is not None and saved.read_text() == file["content"]


def save_report_screenshot(page: Page, turn: Locator) -> None:
    """The whole answer and report as a test artifact: the viewport is made tall enough
    for the log (the page's only scroller) to hold it without scrolling."""
    size = page.viewport_size
    assert size is not None
    height = int(turn.evaluate("el => el.getBoundingClientRect().height")) + 400
    page.set_viewport_size({"width": size["width"], "height": height})
    ARTIFACTS.mkdir(exist_ok=True)
    turn.screenshot(path=str(ARTIFACTS / "report.png"), animations="disabled")
    page.set_viewport_size(size)


def test_sign_up_demo_ask_report_and_reload(context: BrowserContext, server: Server) -> None:
    tab: Tab = watch(context.new_page(), server.base_url)
    page = tab.page
    sign_up(tab)
    wait_live(page)
    load_demo(page)
    open_screen(page, "Chat")
    box = page.get_by_label("Your question")
    expect(box).to_be_focused()
    expect(box).to_have_value(re.compile(r"\w.*\?$"))  # an example question, ready to send
    question = box.input_value()

    turn = ask(page)
    wait_finished(turn)
    run_id = run_id_of(turn)
    user = tab.api()
    events = user.get(f"/api/runs/{run_id}/events")
    assert events[-1]["type"] == "agent_completed"
    assert {f["type"] for f in tab.run_frames(run_id)} >= FIVE_KINDS
    assert_each_step_once(turn, events)
    check_timeline_details(turn, events)

    thread_id = events[0]["thread_id"]
    messages = user.get(f"/api/threads/{thread_id}/messages")
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == question
    answer = messages[1]
    assert shows_answer(turn, answer["content_html"])
    expect(page.locator("#thread-list li").first.locator("a")).to_have_text(question[:80])
    expect(page).to_have_url(re.compile(f"#/chat/{thread_id}$"))
    check_report(page, turn, answer)
    check_downloads(page, turn, answer)
    save_report_screenshot(page, turn)

    page.reload()
    wait_live(page)
    expect(page.locator(f"#thread-list a[href='#/chat/{thread_id}']")).to_have_attribute(
        "aria-current", "page")
    again = page.locator(f"article.assistant[data-run-id='{run_id}']")
    expect(again).to_have_count(1)
    expect(page.locator("article.user .bubble")).to_have_text([question])
    assert shows_answer(again, answer["content_html"])
    expect(again.locator("article.finding")).to_have_count(len(answer["report"]["findings"]))
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    again.locator(".steps > summary").click()  # the steps of a past run, on demand
    expect(again.locator("li.step")).to_have_count(len(expected_steps(events)[0]))
    assert_each_step_once(again, events)
    assert tab.errors == []
