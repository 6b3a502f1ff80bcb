"""What a request may send, bounded before the app reads or parses any of it.

Every HTTP body has a limit: JSON `NETRA_MAX_JSON_BYTES`, the ingestion route
`NETRA_MAX_INGEST_BYTES`, the upload route `NETRA_MAX_UPLOAD_BYTES` plus its multipart
envelope (the route streams the file to disk and checks the file itself), the upload's
preview the head it reads plus that envelope. A declared
Content-Length over the limit is answered `413 too_large` at once, unread; a body
streamed past it is cut off there. JSON bodies (small by then) are read here and their
nesting depth checked without recursion before anything parses them, so neither a big
body nor a deep one reaches `json.loads`. The ingestion route checks its credentials
before it reads a body: a bad key never gets 16 MB read on its behalf.

FastAPI's own `max_body_size` is not used: a per-route limit goes on each route's
decorator (routes of other domains), and a body it cuts off early is answered in plain
text, outside PROTOCOL.md's envelope; the depth check needs the bytes here anyway.
"""

from __future__ import annotations

import asyncio
import re
from itertools import accumulate
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netra.auth import service as auth_service
from netra.auth.tokens import is_api_key
from netra.errors import NetraError, TooLarge, Unauthorized, ValidationFailed
from netra.settings import Settings
from netra.telemetry.preview import PREVIEW_BYTES

if TYPE_CHECKING:
    from netra.components import Components

MAX_JSON_DEPTH = 64
MULTIPART_ENVELOPE = 1024 * 1024  # multipart headers and form fields around an upload
_INGEST = re.compile(r"^/api/ingest/[^/]+/records/?$")
_UPLOAD = re.compile(r"^/api/datasets/?$")
_PREVIEW = re.compile(r"^/api/datasets/preview/?$")
IN_THREAD_BYTES = 1024 * 1024  # bodies this big are checked off the event loop
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [1 if b in b"[{" else -1 for b in range(256)]


def too_deep(document: bytes | str) -> bool:
    """Whether a JSON document nests arrays and objects deeper than MAX_JSON_DEPTH,
    found without recursion or parsing, in C-speed passes (an invalid document gets an
    answer too, and fails its parse later)."""
    raw = document.encode() if isinstance(document, str) else document
    # Drop escaped backslashes, then escaped quotes: every quote left opens or closes a
    # string, and the brackets that count are those outside strings.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= MAX_JSON_DEPTH:
        return False
    return max(accumulate(map(_STEP.__getitem__, brackets))) > MAX_JSON_DEPTH


class RequestLimits:
    """ASGI middleware: the body limits, the JSON depth limit and the ingestion route's
    credentials first (see the module's docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def limit(self, method: str, path: str) -> int:
        if method == "POST" and _INGEST.match(path):
            return self.settings.max_ingest_bytes
        if method == "POST" and _UPLOAD.match(path):
            return self.settings.max_upload_bytes + MULTIPART_ENVELOPE
        if method == "POST" and _PREVIEW.match(path):
            return PREVIEW_BYTES + MULTIPART_ENVELOPE
        return self.settings.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit(scope["method"], scope["path"])
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, _too_large(limit))
            return
        if scope["method"] == "POST" and _INGEST.match(scope["path"]):
            refusal = await _ingest_credentials(scope["app"].state.components, headers)
            if refusal is not None:
                await _refuse(scope, receive, send, refusal)
                return
        if not _is_json(headers):
            await self.app(scope, _counted(receive, limit), send)
            return
        body = await _read(receive, limit)
        if isinstance(body, NetraError):
            await _refuse(scope, receive, send, body)
        elif body is not None:
            await self.app(scope, _replay(body, receive), send)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the request body is over this route's limit of {limit} bytes")


def _is_json(headers: Headers) -> bool:
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


async def _read(receive: Receive, limit: int) -> bytes | NetraError | None:
    """The whole body, or the error to answer; None if the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    deep = await asyncio.to_thread(too_deep, body) if size > IN_THREAD_BYTES else too_deep(body)
    if deep:
        return ValidationFailed(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    return body


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # the client's disconnect, when it comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _counted(receive: Receive, limit: int) -> Receive:
    """Passes a streamed body through, and stops it at the limit (the route's own error
    handling answers the 413: an HTTPException is never taken for a parse error)."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise HTTPException(413, _too_large(limit).message)
        return message

    return counted


async def _ingest_credentials(components: Components, headers: Headers) -> NetraError | None:
    """The ingestion route's key or token, checked before its body is read (the route
    checks it again, with the rate limit, as usual)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Unauthorized("missing bearer token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        async with components.db.transaction() as session:
            if is_api_key(token):
                await auth_service.user_from_api_key(session, token)
            else:
                await auth_service.user_from_access_token(session, components.settings, token)
    except NetraError as error:
        return error
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, error: NetraError) -> None:
    response = JSONResponse(error.body(), status_code=error.status, headers=error.headers)
    await response(scope, receive, send)
