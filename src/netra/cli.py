"""The `netra` command: serve, worker, ask, demo, ingest, migrate, check-config, smoke."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from netra.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    help="Netra Apex: find and fix what your LLM traffic costs.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        err.print(f"[bold red]netra:[/] {error}", highlight=False)
        raise typer.Exit(2) from None


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )


def _server_process(settings: Settings) -> None:
    """What a long-running process (`serve`, `worker`) sets up before any thread starts."""
    from netra import cores

    _logging(settings)
    try:
        cores.keep_python_threads(settings.python_core, embedded=settings.database_url is None)
    except ValueError as error:
        err.print(f"[bold red]netra:[/] {error}", highlight=False)
        raise typer.Exit(2) from None


async def _started(settings: Settings, role: str = "serve", *, runs: bool = True) -> Any:
    from netra import startup

    try:
        return await startup.start(settings, role, runs=runs)  # type: ignore[arg-type]
    except startup.StartupError as error:
        err.print(f"[bold red]netra:[/] {error}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: str | None = typer.Option(None, help="default NETRA_HOST"),
    port: int | None = typer.Option(None, help="default NETRA_PORT"),
) -> None:
    """Serve the API, the WebSocket and the web app (and execute runs, unless
    NETRA_EXECUTE_RUNS=false leaves them to `netra worker`s)."""
    import uvicorn

    from netra.app import create_app

    settings = _settings()
    _server_process(settings)

    async def run() -> None:
        from netra.startup import freeze_start_up_objects

        components = await _started(settings)
        freeze_start_up_objects()
        config = uvicorn.Config(
            create_app(settings, components),
            host=host or settings.host,
            port=settings.port if port is None else port,
            log_level=settings.log_level.lower(),
            ws_max_size=16 * settings.max_frame_bytes,
            ws_ping_interval=settings.ws_ping_interval_s,
            ws_ping_timeout=settings.ws_ping_interval_s,
            proxy_headers=True,
            ws_per_message_deflate=settings.ws_compression,
            lifespan="on",
        )
        await uvicorn.Server(config).serve()

    _serve_forever(run())


@app.command()
def worker(
    port: int | None = typer.Option(
        None, help="also serve /health/live, /health/ready and /metrics on this port"
    ),
    host: str | None = typer.Option(None, help="default NETRA_HOST (with --port)"),
) -> None:
    """Execute runs from the shared run queue (no API); stop with Ctrl-C or SIGTERM."""
    import uvicorn

    from netra.app import create_worker_app

    settings = _settings()
    _server_process(settings)

    async def run() -> None:
        from netra import startup

        components = await _started(settings, "worker")
        startup.freeze_start_up_objects()
        console.print(f"worker {components.runs.executor_id} executing runs")
        try:
            if port is None:
                await _until_stopped()
            else:
                config = uvicorn.Config(create_worker_app(settings, components),
                                        host=host or settings.host, port=port,
                                        log_level=settings.log_level.lower(), lifespan="off")
                await uvicorn.Server(config).serve()
        finally:
            await startup.stop(components)

    _serve_forever(run())


async def _until_stopped() -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _serve_forever(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop where it is installed (uvicorn[standard] brings it, except on Windows),
    as `uvicorn.run` would choose: it costs less per callback than asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


@app.command("check-config")
def check_config() -> None:
    """Validate every NETRA_ setting; exit non-zero listing every problem."""
    settings = _settings()
    console.print(
        f"configuration OK (env={settings.env}, database="
        f"{'PostgreSQL' if settings.database_url else 'SQLite'}, "
        f"event bus={'Redis' if settings.redis_url else 'in-process'}, "
        f"language model={settings.llm_provider})"
    )


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    from netra.db import Database

    settings = _settings()

    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            await db.migrate()
        finally:
            await db.close()

    asyncio.run(run())
    console.print("database migrated")


@app.command()
def demo(
    rows: int = typer.Option(20000, min=100, max=10_000_000),
    seed: int = typer.Option(42),
    clean: bool = typer.Option(False, "--clean", help="plant no inefficiency"),
) -> None:
    """Create the demo login with a demo dataset (idempotent) and print how to log in."""
    settings = _settings()

    async def run() -> None:
        from netra import startup

        components = await _started(settings, "cli", runs=False)
        try:
            dataset = await _demo_dataset(components, rows, seed, clean)
        finally:
            await startup.stop(components)
        console.print(
            f"demo dataset [bold]{dataset.name}[/]: {dataset.rows:,} requests, "
            f"${dataset.total_cost_usd:,.2f}"
        )

    asyncio.run(run())
    console.print(
        f"open http://{settings.host}:{settings.port}/ and log in as "
        f"[bold]{settings.demo_email}[/] / [bold]{settings.demo_password}[/]"
    )


CLEAN_DEMO_NAME = "Clean demo workload"


async def _demo_dataset(components: Any, rows: int, seed: int, clean: bool) -> Any:
    from netra.cli_support import ensure_demo

    if not clean:
        return await ensure_demo(components, rows=rows, seed=seed)
    from netra.auth import service as auth_service
    from netra.orgs import service as orgs_service
    from netra.telemetry import service as datasets

    settings = components.settings
    async with components.db.transaction() as session:
        user = await auth_service.ensure_user(
            session, email=settings.demo_email, password=settings.demo_password, name="Demo"
        )
        personal = await orgs_service.personal_organization(session, user)
        for existing in await datasets.list_datasets(session, personal.id):
            if existing.name == CLEAN_DEMO_NAME:
                return existing
        return await datasets.create_demo(
            session, components.analytics, datasets.Owner(personal.id, user.id), rows=rows,
            seed=seed, clean=True, name=CLEAN_DEMO_NAME,
        )  # fmt: skip


@app.command()
def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: str = typer.Option("auto", "--format", help="a TELEMETRY.md format, or auto"),
    dataset: str | None = typer.Option(
        None, "--dataset", help="add the rows to this dataset id instead of a new dataset"
    ),
    name: str | None = typer.Option(None, help="name of the new dataset (default: file name)"),
    default_provider: str | None = typer.Option(
        None, "--default-provider", help="provider for rows that have none"
    ),
    default_model: str | None = typer.Option(
        None, "--default-model", help="model for rows that have none"
    ),
    owner: str | None = typer.Option(
        None, "--user", help="the owner's email (default: the demo login)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Import a telemetry file as a dataset (or into one), with a progress bar."""
    from netra.errors import NetraError
    from netra.telemetry.cli_ingest import IngestRequest, ingest_file

    settings = _settings()
    request = IngestRequest(
        path=file, fmt=fmt, dataset_id=dataset, name=name, owner=owner,
        default_provider=default_provider, default_model=default_model,
    )  # fmt: skip

    async def run() -> int:
        from netra import startup

        components = await _started(settings, "cli", runs=False)
        try:
            await ingest_file(components, request, console=err, as_json=as_json, out=console)
        except NetraError as error:
            err.print(f"[bold red]netra:[/] {error}", highlight=False)
            rejects = error.details.get("rejects", []) if isinstance(error.details, dict) else []
            for reject in rejects[:10]:
                err.print(f"  line {reject['line']}: {reject['reason']}", highlight=False)
            return 1
        finally:
            await startup.stop(components)
        return 0

    raise typer.Exit(asyncio.run(run()))


@app.command()
def ask(
    question: str,
    dataset: str | None = typer.Option(None, help="dataset id"),
    as_json: bool = typer.Option(False, "--json", help="print raw events as JSON lines"),
) -> None:
    """Ask the agents a question in-process (as the demo user); shows the live events."""
    from netra.cli_support import ask_in_process

    settings = _settings()

    async def run() -> int:
        from netra import startup

        components = await _started(settings, "cli")
        try:
            return await ask_in_process(components, question, dataset, console, as_json)
        finally:
            await startup.stop(components)

    code = asyncio.run(run())
    raise typer.Exit(code)


@app.command()
def smoke(
    url: str = typer.Argument(..., help="the deployment's base URL, e.g. https://netra.example.com"),
    email: str | None = typer.Option(None, help="log in as this user (default: sign up a "
                                     "throw-away user)"),
    password: str | None = typer.Option(None, help="the password of --email"),
    timeout: float = typer.Option(120.0, min=1, help="seconds the run may take"),
) -> None:
    """Walk the golden path against a running deployment over HTTP and the WebSocket;
    exit non-zero at the first step that fails."""
    from netra.smoke import smoke as run_smoke

    if url.partition("://")[0] not in ("http", "https"):
        err.print(f"[bold red]netra:[/] {url!r} is not an http:// or https:// URL")
        raise typer.Exit(2)
    if (email is None) != (password is None):
        err.print("[bold red]netra:[/] --email and --password go together")
        raise typer.Exit(2)

    def say(line: str) -> None:
        failed = line.startswith(("FAIL", "smoke test FAILED"))
        (err if failed else console).print(line, highlight=False, markup=False, soft_wrap=True)

    passed = asyncio.run(run_smoke(url, say, email=email, password=password,
                                   run_timeout_s=timeout))
    raise typer.Exit(0 if passed else 1)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
