"""The web page and its static files, served from the installed package (no CDN).

The app's own files change with every release and carry no hash in their names, so they
are served with `no-cache` (the browser revalidates with the ETag and gets a cheap 304).
The charting library is served from the installed `plotly` package, never copied into
the repository: it is 4-5 MB of JavaScript, so it is gzipped once, kept in memory, and
may be cached for a day.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.staticfiles import StaticFiles

from netra.errors import NotFound, Unavailable

STATIC = Path(__file__).parent / "static"
APP_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=86400"
JAVASCRIPT = "text/javascript; charset=utf-8"
router = APIRouter()


@dataclass(frozen=True)
class _Packed:
    """A vendored file as it is sent: raw, gzipped, and its ETag."""

    raw: bytes
    gzipped: bytes
    etag: str


def plotly_file() -> Path:
    """plotly.min.js inside the installed plotly package (found without importing it)."""
    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable("the charting library (the plotly package) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def _pack(path: Path) -> _Packed:
    raw = path.read_bytes()
    return _Packed(raw, gzip.compress(raw, compresslevel=6, mtime=0),
                   f'"{hashlib.sha256(raw).hexdigest()[:24]}"')


_app_files = StaticFiles(directory=STATIC)
_vendored: dict[str, _Packed] = {}


async def _plotly() -> _Packed:
    if "plotly" not in _vendored:  # on first use: start-up never reads or compresses it
        _vendored["plotly"] = await asyncio.to_thread(_pack, plotly_file())
    return _vendored["plotly"]


async def _serve(files: StaticFiles, path: str, request: Request, cache: str) -> Response:
    response = await files.get_response(path, request.scope)
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/", include_in_schema=False)
async def index(request: Request) -> Response:
    return await _serve(_app_files, "index.html", request, APP_CACHE)


@router.get("/static/vendor/plotly.min.js", include_in_schema=False)
async def plotly_js(request: Request) -> Response:
    packed = await _plotly()
    headers = {"Cache-Control": VENDOR_CACHE, "ETag": packed.etag, "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == packed.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed.gzipped, media_type=JAVASCRIPT, headers=headers)
    return Response(packed.raw, media_type=JAVASCRIPT, headers=headers)


@router.get("/static/{path:path}", include_in_schema=False)
async def static_file(path: str, request: Request) -> Response:
    if path.startswith("vendor/"):
        raise NotFound("no such file")
    return await _serve(_app_files, path, request, APP_CACHE)
