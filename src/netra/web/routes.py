"""The web page and its static files, served from the installed package (no CDN).

The app's own files change with every release and carry no hash in their names, so they
are served with `no-cache` (the browser revalidates with the ETag and gets a cheap 304).
The page needs no third-party script: its charts are its own (js/charts.js).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
APP_CACHE = "no-cache"
router = APIRouter()
_app_files = StaticFiles(directory=STATIC)


async def _serve(path: str, request: Request) -> Response:
    response = await _app_files.get_response(path, request.scope)
    response.headers["Cache-Control"] = APP_CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/", include_in_schema=False)
async def index(request: Request) -> Response:
    return await _serve("index.html", request)


@router.get("/static/{path:path}", include_in_schema=False)
async def static_file(path: str, request: Request) -> Response:
    return await _serve(path, request)
