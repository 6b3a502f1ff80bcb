"""The web page's budgets, in real headless Chromium against a real `netra serve`.

1. First render of the chat page on loopback: a signed-in person opens a thread holding a
   finished report, in a fresh browser context (cold cache); from navigation start to the
   page's `netra:chat-ready` mark (history and report drawn, composer usable). Baseline:
   loading the server's smallest page (`/health/live`) in the same browser.
2. Charts on a slow link: a person on 1.6 Mbps with 150 ms of latency (DevTools network
   emulation, cold cache) opens a thread holding a report; from its answer on screen to
   its first chart drawn. Baseline: the time to the answer itself on that link. The
   detail says how much JavaScript the page shipped (decoded, charts included).
3. A ~200-event run drawn live: the main thread's busy time (Chromium's performance
   timeline, `TaskDuration`) from the question to the final answer on screen, per event.
   Baseline: the same kind of run received while the page shows another screen (socket,
   parsing and bookkeeping, nothing drawn).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ApiUser, api_signup, sign_in
from tests.e2e.client import is_terminal
from tests.e2e.server import Server, running_server
from tests.fakes.openai_server import running_fake_openai

from bench._common import Figure, percentile

FIRST_RENDER_TARGET_MS = 1000.0
CHART_TARGET_MS = 1000.0
JS_TARGET_KB = 300.0
# A slow mobile link (DevTools' "Fast 3G" is 1.6 Mbps down, 750 kbps up, 150 ms).
SLOW_LINK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
             "uploadThroughput": 750_000 / 8}
# Records when the answer and the first chart reach the page (an init script: it runs
# before the page's own, and the page's CSP does not apply to it).
WATCH_DRAWING = """(() => {
  const CHART = "figure.chart .hbar-fill, figure.chart polyline";
  const check = () => {
    const now = performance.now();
    const w = window;
    if (w.__answerAt === undefined && document.querySelector(".answer p")) w.__answerAt = now;
    if (w.__chartAt === undefined && document.querySelector(CHART)) w.__chartAt = now;
    if (w.__chartAt === undefined || w.__answerAt === undefined) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();"""
PER_EVENT_TARGET_MS = 16.0
RUN_TIMEOUT_S = 120.0
WIDTH, HEIGHT = 1280, 900
# The model's answer, streamed word by word; the reporting agent sends it on in chunks
# of ≥ 48 characters (8 of these words), after the draft it was given.
WORD = "spend "
WORDS_PER_EVENT = 8

FIGURE_NAMES = (
    "chat page first render p95",
    "first chart after the answer, 1.6 Mbps link",
    "200-event run, main-thread time per event",
)


@dataclass(frozen=True)
class Sizes:
    loads: int
    run_events: int


FULL = Sizes(loads=7, run_events=200)
QUICK = Sizes(loads=2, run_events=60)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def signed_in(browser: Browser, user: ApiUser) -> Iterator[tuple[BrowserContext, Page]]:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(RUN_TIMEOUT_S * 1000)
    sign_in(context, user)
    try:
        yield context, context.new_page()
    finally:
        context.close()


def finished_thread(user: ApiUser, question: str) -> str:
    """A thread holding a question and its finished answer; returns the thread id."""
    thread = user.post("/api/threads", {"title": question})
    accepted = user.post(f"/api/threads/{thread['id']}/messages", {"content": question})
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while user.get(f"/api/runs/{accepted['run']['id']}")["status"] in ("queued", "running"):
        if time.monotonic() > deadline:
            raise RuntimeError("the set-up run did not finish")
        time.sleep(0.05)  # polling a status, bounded by the deadline
    return str(thread["id"])


# -- 1 and 2: first render, JavaScript shipped -------------------------------------------


# A promise evaluated over the DevTools protocol, not wait_for_function: Playwright turns a
# string predicate into code with eval, which the page's CSP (no 'unsafe-eval') refuses.
CHAT_READY = """() => new Promise((ready) => {
  const check = () => performance.getEntriesByName("netra:chat-ready").length > 0
    ? ready(true) : requestAnimationFrame(check);
  check();
})"""


def wait_chat_ready(page: Page) -> None:
    page.evaluate(CHAT_READY)


def first_render_ms(browser: Browser, user: ApiUser, url: str) -> float:
    with signed_in(browser, user) as (_, page):
        page.goto(url)
        wait_chat_ready(page)
        return float(page.evaluate(
            "performance.getEntriesByName('netra:chat-ready')[0].startTime"))


def blank_load_ms(browser: Browser, base_url: str) -> float:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base_url}/health/live")
        return float(page.evaluate(
            "performance.getEntriesByType('navigation')[0].loadEventEnd"))
    finally:
        context.close()


def chart_on_slow_link(browser: Browser, user: ApiUser, url: str) -> tuple[float, float, float]:
    """(ms from the answer on screen to the first chart, ms to the answer, KB of JavaScript
    shipped) for a cold page load over SLOW_LINK."""
    with signed_in(browser, user) as (context, page):
        context.add_init_script(WATCH_DRAWING)
        session = context.new_cdp_session(page)
        session.send("Network.enable")
        session.send("Network.emulateNetworkConditions", SLOW_LINK)
        page.goto(url)
        page.locator("figure.chart").first.wait_for(state="attached")
        times: dict[str, Any] = page.evaluate("""() => new Promise((done) => {
            const check = () => window.__chartAt !== undefined && window.__answerAt !== undefined
              ? done({answer: window.__answerAt, chart: window.__chartAt,
                      js: performance.getEntriesByType('resource')
                        .filter(r => new URL(r.name).pathname.endsWith('.js'))
                        .reduce((n, r) => n + r.decodedBodySize, 0)})
              : requestAnimationFrame(check);
            check();
        })""")
        answer, chart = float(times["answer"]), float(times["chart"])
        return max(0.0, chart - answer), answer, float(times["js"]) / 1024


def page_figures(browser: Browser, server: Server, sizes: Sizes) -> list[Figure]:
    user = api_signup(server.base_url, "bench-web")
    user.post("/api/datasets/demo", {"rows": 5000, "seed": 4})
    thread_id = finished_thread(user, "Where is our LLM spend going, and how can we cut it?")
    url = f"{server.base_url}/#/chat/{thread_id}"
    first_render_ms(browser, user, url)  # warm the server's caches, not the browser's
    renders = [first_render_ms(browser, user, url) for _ in range(sizes.loads)]
    blanks = [blank_load_ms(browser, server.base_url) for _ in range(sizes.loads)]
    slow = [chart_on_slow_link(browser, user, url) for _ in range(max(1, sizes.loads // 2))]
    delay, answer_ms, js_kb = max(slow)  # the worst load
    return [
        Figure(FIGURE_NAMES[0], percentile(renders, 95), "ms", target=FIRST_RENDER_TARGET_MS,
               baseline=percentile(blanks, 95), baseline_name="/health/live load p95",
               detail=f"cold cache, a thread with its report; n={len(renders)}, "
                      f"p50 {percentile(renders, 50):.0f} ms"),
        Figure(FIGURE_NAMES[1], delay, "ms", target=CHART_TARGET_MS, baseline=answer_ms,
               baseline_name="answer on screen, same link",
               detail=f"cold cache, worst of {len(slow)}; {js_kb:.0f} KB of JavaScript "
                      f"shipped (target ≤ {JS_TARGET_KB:.0f} KB)"),
    ]


# -- 3: a long run drawn live --------------------------------------------------------------


def task_seconds(page: Page, session: Any) -> float:
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    metrics = session.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def busy_during_run(page: Page, session: Any, user: ApiUser, thread_id: str,
                    frames: list[dict[str, Any]], shown: bool) -> tuple[float, int]:
    """(main-thread seconds from the question to the answer, events of the run)."""
    before = task_seconds(page, session)
    accepted = user.post(f"/api/threads/{thread_id}/messages",
                         {"content": "How can we cut our LLM costs?"})
    run_id = accepted["run"]["id"]
    if shown:
        page.locator(f"article.assistant[data-run-id='{run_id}'][data-finished]").wait_for(
            state="attached")
    else:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not any(f.get("run_id") == run_id and is_terminal(f) for f in frames):
            if time.monotonic() > deadline:
                raise RuntimeError("the page never received the end of the run")
            page.wait_for_timeout(10)  # lets Playwright deliver frames; bounded above
    busy = task_seconds(page, session) - before
    events = user.get(f"/api/runs/{run_id}/events")
    if events[-1]["type"] != "agent_completed":
        raise RuntimeError(f"the run ended with {events[-1]['type']}")
    return busy, len(events)


@dataclass
class Answer:
    """How many words the fake model answers with (set between runs)."""

    words: int = 100

    def __call__(self, body: dict[str, Any]) -> str:
        return (WORD * self.words).strip() if body.get("stream") else "optimize"


def run_figure(browser: Browser, server: Server, answer: Answer, sizes: Sizes) -> Figure:
    user = api_signup(server.base_url, "bench-run")
    user.post("/api/datasets/demo", {"rows": 2000, "seed": 6})
    # Two threads, so the drawn run's thread has no history to draw meanwhile.
    elsewhere, drawn = (str(user.post("/api/threads", {"title": t})["id"])
                        for t in ("off screen", "on screen"))
    with signed_in(browser, user) as (context, page):
        session = context.new_cdp_session(page)
        session.send("Performance.enable")
        frames: list[dict[str, Any]] = []
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda payload: frames.append(json.loads(payload))))
        page.goto(f"{server.base_url}/#/datasets")
        page.wait_for_selector("#conn[data-state=connected]")
        hidden_s, hidden_events = busy_during_run(page, session, user, elsewhere, frames,
                                                shown=False)
        # The draft's share of the answer depends on the data: size the drawn run's answer
        # from the first run so that it has about `run_events` events.
        answer.words = max(10, answer.words + (sizes.run_events - hidden_events) * WORDS_PER_EVENT)
        page.goto(f"{server.base_url}/#/chat/{drawn}")
        page.wait_for_selector("#conn[data-state=connected]")
        wait_chat_ready(page)
        shown_s, events = busy_during_run(page, session, user, drawn, frames, shown=True)
    return Figure(FIGURE_NAMES[2], 1000 * shown_s / events, "ms", target=PER_EVENT_TARGET_MS,
                  baseline=1000 * hidden_s / hidden_events,
                  baseline_name="same run, not on screen",
                  detail=f"{events} events, {1000 * shown_s:.0f} ms busy in all")


def run(args: argparse.Namespace) -> list[Figure]:
    sizes = QUICK if args.quick else FULL
    with (chromium() as browser,
          tempfile.TemporaryDirectory(prefix="netra-bench-web-") as tmp):
        with running_server(Path(tmp) / "page") as server:
            figures = page_figures(browser, server, sizes)
        with running_fake_openai() as fake:
            answer = Answer()
            fake.reply = answer
            with running_server(Path(tmp) / "run", NETRA_LLM_BASE_URL=fake.base_url,
                                NETRA_LLM_API_KEY="bench", NETRA_LLM_TIMEOUT_S="60") as server:
                figures.append(run_figure(browser, server, answer, sizes))
    return figures
