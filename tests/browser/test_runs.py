"""Runs that outlive the page: reload mid-run, a second tab, a run that ends while no page
is open, and the stop button. The server here writes with a slowly streaming model (the
OpenAI-compatible fake), so a run is reliably still going while the test acts."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import BrowserContext, WebSocketRoute, expect

from tests.browser.app_page import (
    RUN_TIMEOUT_MS,
    ask,
    assert_each_step_once,
    run_id_of,
    shows_answer,
    wait_agent,
    wait_drafting,
    wait_finished,
    wait_live,
)
from tests.browser.conftest import ApiUser, Tab, api_signup, signed_in_tab, watch
from tests.e2e.client import check_run_invariants
from tests.e2e.server import Server

QUESTION = "How can we cut our LLM costs?"


def ready_user(server: Server) -> ApiUser:
    user = api_signup(server.base_url, "runs")
    user.post("/api/datasets/demo", {"rows": 1000, "seed": 3})
    return user


def wait_run_over(user: ApiUser, run_id: str) -> dict[str, Any]:
    """Poll the run until it has ended (bounded by the run timeout)."""
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        run: dict[str, Any] = user.get(f"/api/runs/{run_id}")
        if run["status"] in ("completed", "failed", "cancelled"):
            return run
        time.sleep(0.1)  # polling a status, bounded by the deadline
    raise AssertionError(f"run {run_id} still going after {RUN_TIMEOUT_MS} ms")


def test_reload_mid_run_continues_and_shows_each_step_once(
    context: BrowserContext, slow_server: Server
) -> None:
    user = ready_user(slow_server)
    tab = signed_in_tab(context, user)
    wait_live(tab.page)
    turn = ask(tab.page, QUESTION)
    wait_drafting(turn)  # the answer is streaming now
    run_id = run_id_of(turn)
    assert user.get(f"/api/runs/{run_id}")["status"] == "running"

    tab.page.reload()
    again = tab.page.locator(f"article.assistant[data-run-id='{run_id}']")
    expect(again).to_have_count(1)
    expect(tab.page.get_by_role("button", name="Stop")).to_be_visible()
    wait_finished(again)
    events = user.get(f"/api/runs/{run_id}/events")
    check_run_invariants(events)
    assert events[-1]["type"] == "agent_completed"
    assert_each_step_once(again, events)
    answer = user.get(f"/api/threads/{events[0]['thread_id']}/messages")[-1]
    assert shows_answer(again, answer["content_html"])
    expect(tab.page.locator("article.assistant")).to_have_count(1)
    expect(tab.page.locator("article.user")).to_have_count(1)
    assert tab.errors == []


def test_second_tab_follows_the_same_run(context: BrowserContext, slow_server: Server) -> None:
    user = ready_user(slow_server)
    first = signed_in_tab(context, user)
    wait_live(first.page)
    turn = ask(first.page, QUESTION)
    wait_agent(turn, "data")
    run_id = run_id_of(turn)
    thread_url = first.page.url

    second = watch(context.new_page(), slow_server.base_url)
    second.page.goto(thread_url)
    other = second.page.locator(f"article.assistant[data-run-id='{run_id}']")
    expect(other).to_have_count(1)
    wait_finished(other)
    wait_finished(turn)
    events = user.get(f"/api/runs/{run_id}/events")
    assert_each_step_once(turn, events)
    assert_each_step_once(other, events)
    assert first.errors == [] and second.errors == []


def test_run_finished_while_away_appears_complete(
    context: BrowserContext, slow_server: Server
) -> None:
    user = ready_user(slow_server)
    tab = signed_in_tab(context, user)
    wait_live(tab.page)
    turn = ask(tab.page, QUESTION)
    wait_agent(turn, "triage")
    run_id = run_id_of(turn)
    thread_url = tab.page.url
    tab.page.goto("about:blank")  # the page is gone; the run must not care
    assert wait_run_over(user, run_id)["status"] == "completed"

    tab.page.goto(thread_url)
    back = tab.page.locator(f"article.assistant[data-run-id='{run_id}']")
    expect(back).to_have_attribute("data-finished", "true")
    answer = user.get(f"/api/threads/{user.get(f'/api/runs/{run_id}')['thread_id']}/messages")[-1]
    assert shows_answer(back, answer["content_html"])
    expect(back.locator("article.finding")).to_have_count(len(answer["report"]["findings"]))
    expect(tab.page.get_by_role("button", name="Stop")).to_be_hidden()
    assert tab.errors == []


def test_stop_button_cancels_the_run(context: BrowserContext, slow_server: Server) -> None:
    user = ready_user(slow_server)
    tab: Tab = signed_in_tab(context, user)
    wait_live(tab.page)
    turn = ask(tab.page, QUESTION)
    wait_drafting(turn)
    run_id = run_id_of(turn)
    tab.page.get_by_role("button", name="Stop").click()
    wait_finished(turn)
    expect(turn.locator(".run-cancelled")).to_contain_text("Stopped")
    expect(turn.locator(".run-status")).to_have_text("Stopped")
    expect(tab.page.get_by_role("button", name="Stop")).to_be_hidden()
    assert user.get(f"/api/runs/{run_id}")["status"] == "cancelled"
    events = user.get(f"/api/runs/{run_id}/events")
    assert events[-1]["type"] == "run_cancelled"
    assert_each_step_once(turn, events)
    assert tab.errors == []


def test_connection_loss_mid_run_reconnects_and_resumes(
    context: BrowserContext, slow_server: Server
) -> None:
    user = ready_user(slow_server)
    sockets: list[WebSocketRoute] = []

    def through_a_cable_we_can_cut(ws: WebSocketRoute) -> None:
        ws.connect_to_server()  # frames pass both ways untouched
        sockets.append(ws)

    context.route_web_socket(re.compile(r"/ws\?ticket="), through_a_cable_we_can_cut)
    tab = signed_in_tab(context, user)
    wait_live(tab.page)
    turn = ask(tab.page, QUESTION)
    wait_agent(turn, "optimization")
    run_id = run_id_of(turn)
    sockets[-1].close(code=4001, reason="cable cut")  # as the page sees a dropped link

    conn = tab.page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "reconnecting")
    expect(conn).to_contain_text("Reconnecting")
    wait_live(tab.page)
    wait_finished(turn)
    assert len(sockets) == 2
    events = user.get(f"/api/runs/{run_id}/events")
    assert events[-1]["type"] == "agent_completed"
    assert_each_step_once(turn, events)
    answer = user.get(f"/api/threads/{events[0]['thread_id']}/messages")[-1]
    assert shows_answer(turn, answer["content_html"])
    assert tab.errors == []
