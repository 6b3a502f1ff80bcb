"""What a person does on the page, as small functions the browser tests share.

Selectors are the page's ids and its accessible names, so a test reads like the steps a
user takes. Waits are Playwright's own (auto-waiting locators, wait_for_function): no
sleeps.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PASSWORD, Tab

RUN_TIMEOUT_MS = 60_000
# Events drawn as a timeline step of their own (data-seq); the others end one (data-end-seq)
# or stream into the answer.
STEP_TYPES = {"agent_started", "agent_thinking", "tool_executing"}
FIVE_KINDS = {"agent_started", "agent_thinking", "tool_executing", "tool_completed",
              "partial_result"}


def sign_up(tab: Tab, name: str = "web") -> str:
    """Create an account through the sign-in screen; returns its email."""
    page = tab.page
    page.goto(tab.base_url + "/")
    page.get_by_role("button", name="Sign up").click()
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    page.locator("#auth-name").fill(name)
    page.locator("#auth-email").fill(email)
    page.locator("#auth-password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#who")).to_have_text(email)
    return email


def wait_live(page: Page) -> None:
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")


def open_screen(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Screens").get_by_role("link", name=name).click()


def load_demo(page: Page) -> None:
    open_screen(page, "Datasets")
    page.get_by_role("button", name="Load demo data").click()
    expect(page.locator("#upload-status")).to_contain_text("Demo data loaded")
    expect(page.locator("#dataset-list tr")).to_have_count(1)


def ask(page: Page, question: str | None = None) -> Locator:
    """Send a question with the Enter key; returns the new assistant turn."""
    box = page.get_by_label("Your question")
    if question is not None:
        box.fill(question)
    before = page.locator("article.assistant").count()
    box.press("Enter")
    turn = page.locator("article.assistant").nth(before)
    expect(turn).to_be_attached()
    return turn


def run_id_of(turn: Locator) -> str:
    run_id = turn.get_attribute("data-run-id")
    assert run_id, "the assistant turn has no run id"
    return run_id


def wait_finished(turn: Locator) -> None:
    expect(turn).to_have_attribute("data-finished", "true", timeout=RUN_TIMEOUT_MS)


def wait_agent(turn: Locator, agent: str) -> None:
    """Until the timeline shows `agent` at work (the run is then mid-way)."""
    expect(turn.locator(f"li.agent[data-agent='{agent}']")).to_be_attached(
        timeout=RUN_TIMEOUT_MS)


def wait_drafting(turn: Locator) -> None:
    """Until the model's draft is streaming into the answer, rendered (the run is then
    mid-way)."""
    expect(turn.locator(".answer.draft p")).not_to_be_empty(timeout=RUN_TIMEOUT_MS)


def same_html(element: Locator, html: str) -> bool:
    """The element shows exactly this HTML (both sides normalised by the same parser)."""
    return bool(element.evaluate(
        "(el, html) => { const t = document.createElement('template'); t.innerHTML = html;"
        " return t.innerHTML.trim() === el.innerHTML.trim(); }", html))


_SECTION = re.compile(r"<h2[\s>]")
_FINDINGS = re.compile(r"<h2>Findings, ranked by savings</h2>.*?(?=<h2[\s>]|$)", re.S)


def shows_answer(turn: Locator, html: str) -> bool:
    """The turn shows the stored answer: with finding cards and several sections, its
    first section up front and the rest folded under the cards, less the findings'
    section (the cards are it); else all of it as the answer."""
    starts = [m.start() for m in _SECTION.finditer(html)]
    if turn.locator(".finding").count() == 0 or len(starts) < 2:
        return turn.locator(".full-report").count() == 0 and same_html(
            turn.locator(".answer"), html)
    lead, rest = html[:starts[1]], _FINDINGS.sub("", html[starts[1]:])
    fold = turn.locator(".full-report")
    return same_html(turn.locator(".answer"), lead) and bool(fold.evaluate(
        "(el, html) => { const t = document.createElement('template'); t.innerHTML = html;"
        " const shown = [...el.childNodes].filter(n => n.nodeName !== 'SUMMARY')"
        "   .map(n => n.outerHTML ?? n.textContent).join('');"
        " return t.innerHTML.trim() === shown.trim(); }", rest))


def drawn_steps(turn: Locator) -> tuple[list[int], list[int]]:
    """(seq of every step drawn, seq of every step end drawn), in page order."""
    seqs = turn.evaluate(
        "el => [...el.querySelectorAll('li.step')].map(li => [li.dataset.seq,"
        " li.dataset.endSeq || null])")
    starts = [int(s) for s, _ in seqs]
    ends = [int(e) for _, e in seqs if e is not None]
    return starts, ends


def expected_steps(events: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """What the timeline must show for these stored events, each exactly once."""
    terminal = events[-1]
    starts = [e["seq"] for e in events if e["type"] in STEP_TYPES] + [terminal["seq"]]
    ends = [e["seq"] for e in events
            if e["type"] == "tool_completed"
            or (e["type"] in ("agent_completed", "agent_error") and e["agent"] != "supervisor")]
    return sorted(starts), sorted(ends)


def assert_each_step_once(turn: Locator, events: list[dict[str, Any]]) -> None:
    starts, ends = drawn_steps(turn)
    want_starts, want_ends = expected_steps(events)
    assert sorted(starts) == want_starts, f"steps drawn {starts}, events {want_starts}"
    assert sorted(ends) == want_ends, f"step ends drawn {ends}, events {want_ends}"
    chunks = sum(e["type"] == "partial_result" for e in events)
    shown = turn.locator(".answer").get_attribute("data-chunks")
    assert int(shown or 0) == chunks, f"{shown} answer chunks applied, {chunks} sent"
    assert turn.get_attribute("data-last-seq") == str(events[-1]["seq"])
