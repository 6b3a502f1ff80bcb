"""What the CLI does in-process: the demo login, and asking a question with live events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rich.console import Console
from rich.markdown import Markdown

from netra.auth import service as auth_service
from netra.chat import conversation
from netra.chat import service as chat_service
from netra.components import Components
from netra.orgs import service as orgs_service
from netra.realtime.events import is_terminal
from netra.realtime.hub import Connection
from netra.telemetry import service as dataset_service
from netra.telemetry.models import Dataset

DEMO_NAME = "Demo workload"


async def ensure_demo(components: Components, *, rows: int = 20000, seed: int = 42) -> Dataset:
    """The demo user and one demo dataset; running it again changes nothing."""
    settings = components.settings
    async with components.db.transaction() as session:
        user = await auth_service.ensure_user(session, email=settings.demo_email,
                                              password=settings.demo_password, name="Demo")
        personal = await orgs_service.personal_organization(session, user)
        for existing in await dataset_service.list_datasets(session, personal.id):
            if existing.name == DEMO_NAME:
                return existing
        return await dataset_service.create_demo(
            session, components.analytics, dataset_service.Owner(personal.id, user.id),
            rows=rows, seed=seed, name=DEMO_NAME)


class _ConsoleSocket:
    """A hub connection that prints events instead of writing to a WebSocket."""

    def __init__(self, console: Console, as_json: bool) -> None:
        self.console = console
        self.as_json = as_json
        self.done = asyncio.Event()
        self.final: dict[str, Any] | None = None

    async def send_text(self, data: str) -> None:
        event = json.loads(data)
        if self.as_json:
            print(data, flush=True)
        else:
            self._show(event)
        if "seq" in event and is_terminal(event):
            self.final = event
            self.done.set()

    def _show(self, event: dict[str, Any]) -> None:
        kind, agent, payload = event.get("type"), event.get("agent"), event.get("payload", {})
        if kind == "agent_started":
            self.console.print(f"[bold cyan]▶ {agent}[/]")
        elif kind == "agent_thinking":
            self.console.print(f"  [dim]{payload['text']}[/]")
        elif kind == "tool_executing":
            self.console.print(f"  [yellow]⚙ {payload['tool']}[/] {json.dumps(payload['args'])}")
        elif kind == "tool_completed":
            mark = "✓" if payload["ok"] else "✗"
            self.console.print(f"  [green]{mark}[/] {payload['tool']} "
                               f"({payload['duration_ms']:.0f} ms): {payload['summary']}")
        elif kind == "agent_completed" and agent != "supervisor":
            self.console.print(f"[cyan]■ {agent}[/] {payload.get('summary', '')}")
        elif kind == "agent_error":
            self.console.print(f"[bold red]✗ {agent}: {payload['message']}[/]")
        elif kind == "run_cancelled":
            self.console.print("[bold red]cancelled[/]")

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.done.set()


async def ask_in_process(components: Components, question: str, dataset_id: str | None,
                         console: Console, as_json: bool) -> int:
    await ensure_demo(components)
    async with components.db.transaction() as session:
        user = await auth_service.ensure_user(
            session, email=components.settings.demo_email,
            password=components.settings.demo_password, name="Demo")
        thread = await chat_service.create_thread(session, user.id, question[:80])
        personal = await orgs_service.personal_organization(session, user)
    socket = _ConsoleSocket(console, as_json)
    connection = Connection(socket, user.id, 100_000, _no_gaps)
    components.hub.add(connection)
    writer = asyncio.create_task(connection.write_forever())
    try:
        await conversation.send_message(components, user.id, thread_id=thread.id,
                                        content=question, organization_id=personal.id,
                                        dataset_id=dataset_id)
        await socket.done.wait()
    finally:
        components.hub.remove(connection)
        connection.stop()
        await writer
    final = socket.final or {}
    if final.get("type") == "agent_completed" and not as_json:
        console.print(Markdown(final["payload"]["content"]))
    return 0 if final.get("type") == "agent_completed" else 1


async def _no_gaps(run_id: str, after: int, before: int | None) -> list[dict[str, Any]]:
    return []  # in-process delivery never loses an event
