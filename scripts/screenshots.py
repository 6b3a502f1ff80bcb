"""The README's screenshots, taken from a real server in headless Chromium:
`.venv/bin/python scripts/screenshots.py` rewrites docs/images/*.png."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.app_page import ask, open_screen, wait_finished, wait_live  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, api_signup, signed_in_tab  # noqa: E402
from tests.e2e.server import running_server  # noqa: E402

IMAGES = ROOT / "docs" / "images"


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data, running_server(Path(data)) as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        user = api_signup(server.base_url, "screens")
        user.post("/api/datasets/demo", {"rows": 20000, "seed": 42})
        page = signed_in_tab(context, user).page
        wait_live(page)
        turn = ask(page, "How can we cut our LLM costs?")
        wait_finished(turn)
        turn.locator(".answer").scroll_into_view_if_needed()
        page.screenshot(path=str(IMAGES / "chat.png"), animations="disabled")
        open_screen(page, "Datasets")
        page.screenshot(path=str(IMAGES / "datasets.png"), animations="disabled")
        page.locator("#dataset-list tr td.period").first.click()  # its dashboard
        page.locator("#dashboard-view[data-loaded='true']").wait_for()
        page.screenshot(path=str(IMAGES / "dashboard.png"), animations="disabled")
        browser.close()


if __name__ == "__main__":
    main()
