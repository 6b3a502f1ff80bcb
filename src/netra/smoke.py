"""`netra smoke URL`: the golden path against any deployment, over HTTP and the WebSocket.

Signs up a throw-away user (or logs in), loads a small demo dataset, opens a thread,
asks a question over the WebSocket, watches the agents work (the five event kinds of the
golden path), checks that the answer is stored, and cleans up (the dataset and the
thread; the API has no way to delete an account, so a throw-away user remains). Each
step prints its time; the first failure stops the run and says what failed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

T = TypeVar("T")
FIVE_KINDS = ("agent_started", "agent_thinking", "tool_executing", "tool_completed",
              "agent_completed")
TERMINAL = ("agent_completed", "agent_error", "run_cancelled")
QUESTION = "How can we cut our LLM costs?"
DEMO_ROWS = 2000
HTTP_TIMEOUT_S = 30.0


class SmokeFailed(Exception):
    """A step did not do what it should; the message says what happened instead."""


def websocket_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}[parts.scheme]
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


def _refusal(response: httpx.Response, wanted: int) -> str:
    try:
        error = response.json()["error"]
        detail = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        detail = response.text[:200] or "(empty body)"
    return f"{response.request.method} {response.request.url.path} answered " \
           f"{response.status_code} (wanted {wanted}): {detail}"


@dataclass
class Smoke:
    base_url: str
    say: Callable[[str], None]
    email: str | None = None
    password: str | None = None
    run_timeout_s: float = 120.0
    http: httpx.AsyncClient = field(init=False)
    token: str = ""
    dataset_id: str | None = None
    thread_id: str | None = None

    async def step(self, name: str, action: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            result = await action()
        except SmokeFailed as error:
            self.say(f"FAIL {name}: {error}")
            raise SmokeFailed(f"{name}: {error}") from None
        except (httpx.HTTPError, WebSocketException, OSError, TimeoutError) as error:
            reason = f"{type(error).__name__}: {error}".rstrip(": ")
            self.say(f"FAIL {name}: {reason}")
            raise SmokeFailed(f"{name}: {reason}") from error
        except (ValueError, KeyError, TypeError) as error:  # not a Netra Apex answer
            reason = f"unexpected answer ({type(error).__name__}: {error})"
            self.say(f"FAIL {name}: {reason}")
            raise SmokeFailed(f"{name}: {reason}") from error
        shown = f" ({result})" if isinstance(result, str) and result else ""
        self.say(f"ok   {name}{shown}  [{(time.perf_counter() - started) * 1000:.0f} ms]")
        return result

    async def call(self, method: str, path: str, wanted: int, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.request(method, path, json=body, headers=headers)
        if response.status_code != wanted:
            raise SmokeFailed(_refusal(response, wanted))
        return response.json() if response.content else None

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=HTTP_TIMEOUT_S) as http:
            self.http = http
            failed: SmokeFailed | None = None
            try:
                await self._golden_path()
            except SmokeFailed as error:
                failed = error
            failed = await self._clean_up() or failed  # the first failure is the one told
            if failed is not None:
                raise failed

    async def _golden_path(self) -> None:
        await self.step("server ready", self._ready)
        await self.step("signed in", self._sign_in)
        await self.step("demo dataset loaded", self._demo_dataset)
        await self.step("thread opened", self._thread)
        ticket = await self.step("WebSocket ticket", self._ticket)
        socket = await self.step("WebSocket connected",
                                 lambda: self._connect(str(ticket["ticket"])))
        try:
            run = await self.step("question accepted", lambda: self._ask(socket))
            final = await self._watch(socket, run.removeprefix("run "))
        finally:
            await socket.close()
        await self.step("answer stored", lambda: self._stored(final))

    async def _ready(self) -> str:
        response = await self.http.get("/health/ready")
        if response.status_code != 200:
            raise SmokeFailed(f"/health/ready answered {response.status_code}: "
                              f"{response.text[:300]}")
        return str(response.json().get("status", ""))

    async def _sign_in(self) -> str:
        if self.email and self.password:
            body = await self.call("POST", "/api/auth/login", 200,
                                   {"email": self.email, "password": self.password})
        else:
            email = f"smoke-{secrets.token_hex(6)}@example.com"
            body = await self.call("POST", "/api/auth/signup", 201, {
                "email": email, "password": secrets.token_urlsafe(18), "name": "netra smoke"})
        self.token = str(body["access_token"])
        return str(body["user"]["email"])

    async def _demo_dataset(self) -> str:
        body = await self.call("POST", "/api/datasets/demo", 201, {
            "rows": DEMO_ROWS, "seed": 7, "name": f"netra smoke {secrets.token_hex(3)}"})
        self.dataset_id = str(body["id"])
        return f"{body['rows']} rows"

    async def _thread(self) -> str:
        body = await self.call("POST", "/api/threads", 201, {"title": "netra smoke"})
        self.thread_id = str(body["id"])
        return self.thread_id

    async def _ticket(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.call("POST", "/api/auth/ws-ticket", 200)
        return body  # not printed: a ticket opens a socket

    async def _connect(self, ticket: str) -> ClientConnection:
        url = f"{websocket_url(self.base_url)}?ticket={ticket}"
        try:
            socket = await asyncio.wait_for(connect(url, max_size=2**24), HTTP_TIMEOUT_S)
        except InvalidStatus as error:
            raise SmokeFailed(f"handshake refused with HTTP {error.response.status_code}") \
                from None
        hello = json.loads(await asyncio.wait_for(socket.recv(), HTTP_TIMEOUT_S))
        if hello.get("type") != "connected":
            await socket.close()
            raise SmokeFailed(f"first frame was {hello!r}, not connected")
        return socket

    async def _ask(self, socket: ClientConnection) -> str:
        client_msg_id = secrets.token_hex(8)
        await socket.send(json.dumps({"type": "user_message", "thread_id": self.thread_id,
                                      "content": QUESTION, "dataset_id": self.dataset_id,
                                      "client_msg_id": client_msg_id}))
        async with asyncio.timeout(HTTP_TIMEOUT_S):
            while True:
                frame = json.loads(await socket.recv())
                if frame.get("client_msg_id") != client_msg_id:
                    continue
                if frame.get("type") == "error":
                    raise SmokeFailed(f"{frame.get('code')}: {frame.get('message')}")
                return f"run {frame['run_id']}"

    async def _watch(self, socket: ClientConnection, run_id: str) -> dict[str, Any]:
        """Reads the run's events to its end; each of the five kinds is a step."""
        started, seen = time.perf_counter(), set[str]()
        try:
            async with asyncio.timeout(self.run_timeout_s):
                while True:
                    event = json.loads(await socket.recv())
                    if event.get("run_id") != run_id or "seq" not in event:
                        continue
                    kind = event.get("type")
                    ends = kind in TERMINAL and (kind == "run_cancelled"
                                                 or event.get("agent") == "supervisor")
                    if kind == "agent_completed" and not ends:
                        continue  # a sub-agent's: the supervisor's is the answer
                    if kind in FIVE_KINDS and kind not in seen:
                        seen.add(kind)
                        self.say(f"ok   event {kind} ({event.get('agent')})  "
                                 f"[+{(time.perf_counter() - started) * 1000:.0f} ms]")
                    if ends:
                        break
        except TimeoutError:
            raise self._failed("run finished", f"no terminal event within "
                               f"{self.run_timeout_s:g} s; saw {sorted(seen)}") from None
        except (WebSocketException, OSError, ValueError) as error:
            raise self._failed("run finished", f"{type(error).__name__}: {error}") from None
        if kind != "agent_completed":
            raise self._failed("run finished", f"it ended with {kind}: {event.get('payload')}")
        missing = [k for k in FIVE_KINDS if k not in seen]
        if missing:
            raise self._failed("run finished", f"never saw {', '.join(missing)}")
        final: dict[str, Any] = event
        return final

    def _failed(self, name: str, reason: str) -> SmokeFailed:
        self.say(f"FAIL {name}: {reason}")
        return SmokeFailed(f"{name}: {reason}")

    async def _stored(self, final: dict[str, Any]) -> str:
        messages = await self.call("GET", f"/api/threads/{self.thread_id}/messages", 200)
        answer = next((m for m in messages if m["id"] == final["payload"]["message_id"]), None)
        if answer is None or answer["role"] != "assistant":
            raise SmokeFailed("the thread's messages do not hold the answer")
        if answer["content"] != final["payload"]["content"]:
            raise SmokeFailed("the stored answer differs from the streamed one")
        return f"{len(answer['content'])} characters"

    async def _clean_up(self) -> SmokeFailed | None:
        """Deletes what the run created, whatever happened before; the first failure."""
        failed: SmokeFailed | None = None
        for name, path in (("dataset deleted", f"/api/datasets/{self.dataset_id}"),
                           ("thread deleted", f"/api/threads/{self.thread_id}")):
            if path.endswith("/None"):
                continue
            try:
                await self.step(name, self._deleting(path))
            except SmokeFailed as error:
                failed = failed or error
        return failed

    def _deleting(self, path: str) -> Callable[[], Awaitable[Any]]:
        return lambda: self.call("DELETE", path, 204)


async def smoke(base_url: str, say: Callable[[str], None], *, email: str | None = None,
                password: str | None = None, run_timeout_s: float = 120.0) -> bool:
    """Run the golden path; True if every step passed (each printed through `say`)."""
    started = time.perf_counter()
    check = Smoke(base_url.rstrip("/"), say, email, password, run_timeout_s)
    try:
        await check.run()
    except SmokeFailed as error:
        say(f"smoke test FAILED against {base_url}: {error}")
        return False
    say(f"smoke test passed against {base_url} in {time.perf_counter() - started:.1f} s")
    return True
