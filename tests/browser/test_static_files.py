"""What the server sends the browser: the page, the app's files revalidated on every use,
the charting library from the installed plotly package (gzipped, cacheable), nothing else."""

from __future__ import annotations

import httpx

from netra.web.routes import plotly_file
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


def test_the_charting_library_comes_from_the_plotly_package(server: Server) -> None:
    url = f"{server.base_url}/static/vendor/plotly.min.js"
    raw = httpx.get(url, headers={"Accept-Encoding": "identity"}, timeout=30)
    assert raw.status_code == 200
    assert raw.content == plotly_file().read_bytes()
    packed = httpx.get(url, headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(raw.content) / 2
    assert packed.content == raw.content  # httpx decoded it: the same file
    assert "max-age" in packed.headers["cache-control"]
    cached = httpx.get(url, headers={"If-None-Match": packed.headers["etag"]}, timeout=30)
    assert cached.status_code == 304


def test_nothing_outside_the_static_folder(server: Server) -> None:
    for path in ("/static/vendor/plotly.js", "/static/../routes.py", "/static/%2e%2e/routes.py",
                 "/static/js/missing.js"):
        response = httpx.get(server.base_url + path, timeout=10)
        assert response.status_code == 404, path
