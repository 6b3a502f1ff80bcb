"""`make run` = `netra demo` then `netra serve`: the printed login opens a chat with the
demo data picked and an example question ready to send."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.app_page import ask, wait_finished, wait_live
from tests.browser.conftest import watch
from tests.e2e.server import Server, running_server, server_env

LOGIN = re.compile(r"open (http\S+) and log in as (\S+) / (\S+)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    data_dir = tmp_path_factory.mktemp("demo")
    printed = subprocess.run([sys.executable, "-m", "netra.cli", "demo", "--rows", "1000"],
                             env=server_env(data_dir), cwd=data_dir, capture_output=True,
                             text=True, timeout=180)
    assert printed.returncode == 0, printed.stdout + printed.stderr
    found = LOGIN.search(" ".join(printed.stdout.split()))
    assert found, f"no login printed:\n{printed.stdout}"
    with running_server(Path(data_dir)) as server:
        yield server, found.group(2), found.group(3)


def test_the_demo_login_opens_a_question_ready_to_send(
    context: BrowserContext, demo: tuple[Server, str, str]
) -> None:
    server, email, password = demo
    tab = watch(context.new_page(), server.base_url)
    page = tab.page
    page.goto(server.base_url + "/")
    page.locator("#auth-email").fill(email)
    page.locator("#auth-password").fill(password)
    page.locator("#auth-submit").click()
    wait_live(page)
    box = page.get_by_label("Your question")
    expect(box).to_be_focused()
    expect(box).to_have_value(re.compile(r"\w.*\?$"))
    expect(page.locator("#dataset-select option:checked")).to_contain_text("Demo")
    turn = ask(page)
    wait_finished(turn)
    expect(turn.locator("article.finding").first).to_be_visible()
    assert tab.errors == []
