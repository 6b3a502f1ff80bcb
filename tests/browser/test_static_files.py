"""What the server sends the browser: the page and the app's files, revalidated on every
use; nothing else (no third-party script: the charts are the page's own)."""

from __future__ import annotations

import httpx

from tests.e2e.server import Server


def test_the_page_and_its_files(server: Server) -> None:
    page = httpx.get(f"{server.base_url}/", timeout=10)
    assert page.status_code == 200 and "Netra Apex" in page.text
    script = httpx.get(f"{server.base_url}/static/js/main.js", timeout=10)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "no-cache"
    again = httpx.get(f"{server.base_url}/static/js/main.js", timeout=10,
                      headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304


def test_nothing_outside_the_static_folder(server: Server) -> None:
    for path in ("/static/vendor/plotly.min.js", "/static/../routes.py", "/static/%2e%2e/routes.py",
                 "/static/js/missing.js"):
        response = httpx.get(server.base_url + path, timeout=10)
        assert response.status_code == 404, path
