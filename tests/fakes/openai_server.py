"""A fake OpenAI-compatible server speaking the real Chat Completions wire protocol.

A real HTTP server (uvicorn, in a background thread, on a free 127.0.0.1 port), so the
code under test runs its real client, connection handling, SSE parsing and timeouts.
Register the `fake_openai` fixture with `pytest_plugins = ["tests.fakes.openai_server"]`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass(frozen=True)
class ToolCall:
    """A tool call the scripted model makes (`arguments` as a dict; sent as JSON text)."""

    name: str
    arguments: dict[str, Any]


# What the model answers: text, or tool calls (the function sees the request body).
Answer = str | list[ToolCall]
Reply = Answer | Callable[[dict[str, Any]], Answer]
_STARTUP_LIMIT_S = 10.0
_TICK_S = 0.02


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None


@dataclass
class FakeOpenAI:
    """The knobs, read by the server on every request; set them from the test."""

    base_url: str = ""
    # The assistant's text, or a function of the request body that returns it.
    reply: Reply = "OK"
    models: list[str] = field(default_factory=lambda: ["gpt-4o-mini"])
    # Seconds to wait before the first byte of the response (headers included).
    delay_s: float = 0.0
    # Seconds to go silent after the first chunk (headers + first SSE event, or the
    # first half of a non-streamed body) has been sent.
    stall_s: float = 0.0
    # Seconds between streamed events: a slow drip that never trips a per-read timeout.
    chunk_interval_s: float = 0.0
    # Answer every chat completion with this HTTP status and an OpenAI error body.
    fail_status: int | None = None
    fail_message: str = "The server had an error while processing your request."
    # Send a stream whose events are not JSON.
    malformed_stream: bool = False
    # When set, requests must carry `Authorization: Bearer <api_key>` or get a 401.
    api_key: str | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat completion requests received, in order."""
        return [r.json or {} for r in self.requests if r.path.endswith("/chat/completions")]

    async def wait(self, seconds: float) -> None:
        """Sleep server-side, but wake at once when the server is stopping."""
        if seconds > 0:
            await asyncio.to_thread(self._stopping.wait, seconds)

    def answer_for(self, body: dict[str, Any]) -> Answer:
        return self.reply(body) if callable(self.reply) else self.reply


def _error_body(message: str, status: int) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _usage(body: dict[str, Any], answer: Answer) -> dict[str, int]:
    prompt_tokens = len(json.dumps(body.get("messages", []))) // 4
    shown = answer if isinstance(answer, str) else json.dumps([vars(c) for c in answer])
    completion_tokens = max(1, len(shown) // 4)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def _tool_calls(answer: list[ToolCall], completion_id: str) -> list[dict[str, Any]]:
    return [{"id": f"call_{completion_id[-8:]}_{i}", "type": "function",
             "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
            for i, call in enumerate(answer)]


def _completion(body: dict[str, Any], answer: Answer, completion_id: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer, "refusal": None}
    finish = "stop"
    if not isinstance(answer, str):
        message = {"role": "assistant", "content": None, "refusal": None,
                   "tool_calls": _tool_calls(answer, completion_id)}
        finish = "tool_calls"
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(body, answer),
    }


def _chunk(body: dict[str, Any], completion_id: str, delta: dict[str, Any],
           finish: str | None) -> bytes:  # fmt: skip
    event = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return f"data: {json.dumps(event)}\n\n".encode()


def _sse_events(body: dict[str, Any], answer: Answer, completion_id: str) -> Iterator[bytes]:
    yield _chunk(body, completion_id, {"role": "assistant", "content": ""}, None)
    if isinstance(answer, str):
        for piece in re.findall(r"\s*\S+\s*|\s+", answer):
            yield _chunk(body, completion_id, {"content": piece}, None)
        finish = "stop"
    else:
        for index, call in enumerate(_tool_calls(answer, completion_id)):
            opening = {"index": index, "id": call["id"], "type": "function",
                       "function": {"name": call["function"]["name"], "arguments": ""}}
            yield _chunk(body, completion_id, {"tool_calls": [opening]}, None)
            arguments = call["function"]["arguments"]
            for start in range(0, len(arguments), 40):  # arguments arrive in pieces
                piece = {"index": index, "function": {"arguments": arguments[start:start + 40]}}
                yield _chunk(body, completion_id, {"tool_calls": [piece]}, None)
        finish = "tool_calls"
    yield _chunk(body, completion_id, {}, finish)
    if (body.get("stream_options") or {}).get("include_usage"):
        event = {"id": completion_id, "object": "chat.completion.chunk",
                 "created": int(time.time()), "model": body.get("model", ""),
                 "choices": [], "usage": _usage(body, answer)}  # fmt: skip
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _build_app(fake: FakeOpenAI) -> Starlette:
    async def record(request: Request) -> dict[str, Any] | None:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        fake.requests.append(
            ReceivedRequest(request.method, request.url.path, dict(request.headers), body)
        )
        return body if isinstance(body, dict) else None

    def unauthorised(request: Request) -> Response | None:
        if fake.api_key is None or request.headers.get("authorization") == f"Bearer {fake.api_key}":
            return None
        return JSONResponse(_error_body("Incorrect API key provided.", 401), status_code=401)

    async def models(request: Request) -> Response:
        await record(request)
        denied = unauthorised(request)
        if denied:
            return denied
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "netra-tests"}
                for m in fake.models]  # fmt: skip
        return JSONResponse({"object": "list", "data": data})

    async def chat_completions(request: Request) -> Response:
        body = await record(request)
        await fake.wait(fake.delay_s)
        denied = unauthorised(request)
        if denied:
            return denied
        if fake.fail_status is not None:
            return JSONResponse(
                _error_body(fake.fail_message, fake.fail_status), status_code=fake.fail_status
            )
        if body is None:
            return JSONResponse(_error_body("We could not parse the JSON body.", 400), 400)
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        answer = fake.answer_for(body)
        if body.get("stream"):
            return StreamingResponse(
                _stream(body, answer, completion_id), media_type="text/event-stream"
            )
        payload = json.dumps(_completion(body, answer, completion_id)).encode()
        return StreamingResponse(_halves(payload), media_type="application/json")

    async def _stream(
        body: dict[str, Any], answer: Answer, completion_id: str
    ) -> AsyncIterator[bytes]:
        for index, event in enumerate(_sse_events(body, answer, completion_id)):
            if fake.malformed_stream and index > 0:
                event = b"data: {this is not json\n\n"
            yield event
            if index == 0:
                await fake.wait(fake.stall_s)
            await fake.wait(fake.chunk_interval_s)

    async def _halves(payload: bytes) -> AsyncIterator[bytes]:
        middle = len(payload) // 2
        yield payload[:middle]
        await fake.wait(fake.stall_s)
        yield payload[middle:]

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
    )


@contextmanager
def running_fake_openai() -> Iterator[FakeOpenAI]:
    """Start the fake on a free port in a background thread; stop it on exit."""
    fake = FakeOpenAI()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    config = uvicorn.Config(
        _build_app(fake), lifespan="off", log_level="warning", http="h11",
        loop="asyncio", timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield fake
    finally:
        fake._stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _STARTUP_LIMIT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake OpenAI server did not start")
        time.sleep(_TICK_S)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running fake OpenAI-compatible server; `.base_url` ends in /v1."""
    with running_fake_openai() as fake:
        yield fake
