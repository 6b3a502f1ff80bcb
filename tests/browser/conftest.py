"""Real headless Chromium (Debian's /usr/bin/chromium) driving the real server.

Each test gets its own browser context (own storage, own user). Console errors and
uncaught page errors are collected per page so a test can assert there were none.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("playwright")
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    WebSocket,
    sync_playwright,
)

from tests.e2e.server import Server, running_server
from tests.fakes.openai_server import Answer, FakeOpenAI, ToolCall, running_fake_openai

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery"
# Words only: the numbers guard drops an opening paragraph with a number no tool produced.
SLOW_PARAGRAPH = " ".join(["Costs are concentrated in a few features."] * 14)
# The slow model's plan: one tool of each sub-agent the tests watch for, then the answer.
SLOW_PLAN = [ToolCall("dataset_profile", {}), ToolCall("dataset_overview", {}),
             ToolCall("find_savings", {})]


def slow_model(body: dict[str, Any]) -> Answer:
    """Call the tools first; once their results are in the conversation, write slowly."""
    if any(m.get("role") == "tool" for m in body.get("messages") or []):
        return SLOW_PARAGRAPH
    return SLOW_PLAN


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


# Package scope, not session: sync_playwright keeps its event loop running until it
# exits, and the async tests after this package need a thread without one.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The default server: offline model, so a run completes in well under a second."""
    with running_server(tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture(scope="package")
def fake_llm() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as fake:
        fake.reply = slow_model
        fake.chunk_interval_s = 0.04  # ~100 words streamed: a run lasts a few seconds
        yield fake


@pytest.fixture(scope="package")
def slow_server(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeOpenAI) -> Iterator[Server]:
    """A server whose answers stream slowly, so a test can act while a run is going."""
    with running_server(tmp_path_factory.mktemp("web-slow"), NETRA_LLM_BASE_URL=fake_llm.base_url,
                        NETRA_LLM_API_KEY="test-key", NETRA_LLM_TIMEOUT_S="60") as running:
        yield running


@dataclass
class Tab:
    """A page plus what its console said and every WebSocket frame it received."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)

    def run_frames(self, run_id: str) -> list[dict[str, Any]]:
        """The run events this page received over its sockets, duplicates included."""
        return [f for f in self.frames if f.get("run_id") == run_id and "seq" in f]

    def auth(self) -> dict[str, Any]:
        """The login the page holds (as the app stores it)."""
        stored = self.page.evaluate("localStorage.getItem('netra.auth')")
        assert stored, "the page holds no login"
        return dict(json.loads(stored))

    def api(self) -> ApiUser:
        """The page's user, for checks through the API."""
        auth = self.auth()
        return ApiUser(self.base_url, auth["user"]["email"], auth)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def watch(page: Page, base_url: str) -> Tab:
    tab = Tab(page, base_url)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.errors.append(f"console: {message.text}")

    def socket(ws: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            tab.frames.append(json.loads(payload))

        ws.on("framereceived", received)

    page.on("console", console)
    page.on("pageerror", lambda error: tab.errors.append(f"pageerror: {error}"))
    page.on("websocket", socket)
    return tab


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@dataclass
class ApiUser:
    base_url: str
    email: str
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    def get(self, path: str) -> Any:
        response = httpx.get(self.base_url + path, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        response = httpx.post(self.base_url + path, json=body, headers=self.headers, timeout=60)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()


def api_signup(base_url: str, name: str = "web") -> ApiUser:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    response = httpx.post(f"{base_url}/api/auth/signup",
                          json={"email": email, "password": PASSWORD, "name": name}, timeout=30)
    assert response.status_code == 201, response.text
    return ApiUser(base_url, email, response.json())


def signed_in_tab(context: BrowserContext, user: ApiUser) -> Tab:
    """A page already signed in as `user`, the way the app stores a login."""
    sign_in(context, user)
    tab = watch(context.new_page(), user.base_url)
    tab.page.goto(user.base_url + "/")
    return tab


def sign_in(context: BrowserContext, user: ApiUser) -> None:
    """Every page of the context starts signed in as `user` (unless it signed out)."""
    body = user.tokens
    stored = {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
              "expires_at_in": body["expires_in"], "user": body["user"]}
    context.add_init_script(
        f"(() => {{ if (location.origin !== {json.dumps(user.base_url)}) return;"
        f" const a = {json.dumps(stored)};"
        " if (!localStorage.getItem('netra.auth')) {"
        " a.expires_at = Date.now() + a.expires_at_in * 1000;"
        " localStorage.setItem('netra.auth', JSON.stringify(a)); } })();")
