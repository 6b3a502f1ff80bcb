"""The one Settings object: every knob is an environment variable with the NETRA_ prefix.

Nothing else in the package reads os.environ. `load_settings()` turns every problem
(parse errors and production rules alike) into one `SettingsError` listing them all, so
an operator fixes a broken deploy in one pass instead of one restart per typo.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

# Used only outside production; production refuses to start with it.
DEVELOPMENT_SECRET = "netra-development-secret-do-not-use-in-production!"
MIN_SECRET_BYTES = 32


class SettingsError(Exception):
    """Every configuration problem at once, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an http(s) URL, lower-cased, default port left out."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s)://host[:port] URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    default = 443 if scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


class OidcProvider(BaseModel):
    """One OpenID Connect provider users may sign in with (an item of NETRA_OIDC_PROVIDERS)."""

    # extra="forbid": a misspelt key (`client-secret`) must fail the start, not be dropped.
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")  # in URLs: /api/auth/oidc/<name>/…
    label: str = Field(min_length=1, max_length=60)  # "Sign in with <label>"
    issuer: str = Field(max_length=500)  # exactly as the provider's discovery document names it
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: SecretStr = SecretStr("")  # empty: a public client (not in production)
    scopes: list[str] = Field(default=["openid", "email", "profile"], min_length=1)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname \
                or parts.query or parts.fragment:
            raise ValueError(f"issuer {value!r} is not an http(s) URL without query or fragment")
        return value.strip()

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("scopes must include openid")
        return value


def _json_list(value: object) -> object:
    """NETRA_OIDC_PROVIDERS arrives as text: parse it here, so that a typo is one line of
    the settings report (and the text, which holds secrets, is never echoed)."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return []
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} (character {error.pos})") from None


class Settings(BaseSettings):
    # Each field's docstring is its description: the README's table of settings is generated
    # from them (`python -m netra.settings_table`), and a test keeps the two equal.
    model_config = SettingsConfigDict(env_prefix="NETRA_", extra="ignore", frozen=True,
                                      use_attribute_docstrings=True)

    env: Literal["development", "test", "production"] = "development"
    """`development`, `test` or `production`"""
    data_dir: Path = Path("./var")
    """holds the SQLite (`netra.db`), the run queue's SQLite (`runs.sqlite`, DBOS's system database)
    and DuckDB (`analytics.duckdb`) files"""
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    """signs access tokens; production needs ≥ 32 random bytes"""
    database_url: str | None = None
    """SQLAlchemy async URL, e.g. `postgresql+asyncpg://user:pw@host/db` (unset: SQLite in
    DATA_DIR)"""
    redis_url: str | None = None
    """`redis://…`: event fan-out between instances, shared WebSocket tickets and rate-limit
    counters (unset: in-process)"""
    analytics_url: str | None = None
    """the analytics store: `clickhouse://user:pw@host:8123/db[?cluster=NAME]` or `chdb:///dir` (see
    [Running at scale](#running-at-scale)) (unset: DuckDB in DATA_DIR)"""

    llm_base_url: str | None = None
    """an OpenAI-compatible endpoint, e.g. `https://api.openai.com/v1` (unset: offline model)"""
    llm_api_key: SecretStr | None = None
    """its key (required in production when the base URL is set)"""
    llm_model: str = "gpt-4o-mini"
    """the model to ask"""
    llm_timeout_s: float = Field(default=30.0, gt=0)  # each model call
    """bound on every model call; past it the built-in analyst answers"""
    # Per run: the agent stops (and the built-in analyst answers) past these.
    llm_max_calls: int = Field(default=12, ge=1)
    """model calls per run (a model that keeps calling tools is cut off)"""
    llm_max_tokens: int = Field(default=120_000, ge=1000)
    """tokens per run, in and out"""
    llm_max_output_tokens: int = Field(default=2000, ge=64)  # per model call
    """tokens per model answer"""
    llm_temperature: float = Field(default=0.2, ge=0, le=2)
    """sampling temperature"""

    host: str = "127.0.0.1"
    """where `netra serve` listens: the address"""
    port: int = Field(default=8000, ge=0, le=65535)
    """where `netra serve` listens: the port"""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """`DEBUG`, `INFO`, `WARNING`, `ERROR`"""

    access_token_ttl_s: int = Field(default=900, ge=30)
    """access-token lifetime"""
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=300)
    """refresh-token lifetime (renewed on each rotation)"""
    ws_ticket_ttl_s: int = Field(default=30, ge=1)
    """WebSocket ticket lifetime"""
    ws_ping_interval_s: float = Field(default=25.0, gt=0)
    """WebSocket ping interval; a peer that does not answer is dropped"""
    ws_send_queue: int = Field(default=1024, ge=16)
    """per-socket send queue; a client that falls this far behind is closed with 1013 and resumes"""
    # permessage-deflate: off by default, as engine.io and ws advise. Event frames are a
    # few hundred bytes; compressing each cost a fifth of a burst's first-event latency
    # and keeps a zlib context per socket.
    ws_compression: bool = False
    """offer permessage-deflate on the WebSocket: less traffic for large answers, more CPU and a
    zlib context per socket"""
    max_active_runs_per_user: int = Field(default=5, ge=1)
    """the 6th concurrent run is refused with `too_many_runs`"""
    # The GIL-bound threads of one process share a core instead of waking each other on
    # another (netra.cores): a tenth to a quarter less CPU per answer in a burst.
    python_core: Literal["auto", "off"] | int = "auto"
    """the core a server's Python threads are kept on (DuckDB's threads use every core): `auto`
    (the last core, in the embedded default only), `off`, or a core number"""
    # Runs execute on a durable queue (DBOS) shared by every `serve` and `worker`.
    execute_runs: bool = True  # `netra serve` also executes runs (a worker always does)
    """`netra serve` also executes runs; `false` leaves them to `netra worker`s"""
    max_concurrent_runs: int = Field(default=64, ge=1)  # executing at once in one process
    """runs executing at once in one process; more wait on the queue"""
    max_concurrent_runs_total: int = Field(default=512, ge=1)  # across every process
    """runs executing at once across every process"""
    # Unset by default: the intake's limit (`max_active_runs_per_user`) already keeps one
    # user from filling the queue, and a queue partition per user costs DBOS one claim
    # transaction per waiting user on every poll (a fifth of a 200-user burst's CPU).
    max_concurrent_runs_per_user: int | None = Field(default=None, ge=1)
    """one user's runs executing at once (a queue partition per user; the others wait on the
    queue); unset, a user's runs are bounded by NETRA_MAX_ACTIVE_RUNS_PER_USER alone. Change it
    while no run is queued"""
    run_timeout_s: float = Field(default=120.0, gt=0)
    """a run still going this long after it started ends with `agent_error` (`timeout`), wherever it
    executes, across restarts"""
    # How often each process looks for queued runs: a run waits half of it on average, and
    # each look costs CPU (at 25 ms the polling took a third of a 2-core server's time).
    run_queue_poll_s: float = Field(default=0.05, gt=0, le=5)
    """how often each process looks for queued runs"""
    executor_id: str | None = Field(default=None, max_length=100)
    """this process's name on the run queue; must be unique among live processes (unset:
    host, role, pid and a random suffix)"""
    executor_heartbeat_s: float = Field(default=5.0, gt=0)
    """how often a process beats its heartbeat and checks on the others"""
    executor_dead_after_s: float = Field(default=15.0, gt=0)
    """a process silent this long is taken for dead and its runs resume elsewhere (must exceed twice
    the heartbeat)"""
    max_message_bytes: int = Field(default=16 * 1024, ge=1)
    """longer message `content` is `too_large`"""
    max_frame_bytes: int = Field(default=64 * 1024, ge=1024)
    """larger WebSocket frames get `too_large` (beyond 16× this the socket is closed with 1009)"""
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    """larger uploads are `413 too_large`"""
    # Per-user quotas on stored telemetry (the disk is shared by every user).
    max_datasets_per_user: int = Field(default=100, ge=1)
    """one more dataset (upload, demo, ingestion) is `413 too_large`, naming the limit"""
    max_rows_per_user: int = Field(default=50_000_000, ge=1)  # over all of a user's datasets
    """rows over all of a user's datasets; an import that would pass it is `413` and keeps
    nothing"""
    startup_phase_timeout_s: float = Field(default=8.0, gt=0)
    """a start-up phase taking longer fails the start with one clear line"""
    login_attempts_per_minute: int = Field(default=10, ge=1)  # per account and per address
    """login attempts (right or wrong) per account and, separately, per client address"""

    demo_email: str = "demo@netra.local"
    """the login `netra demo` creates: its email"""
    demo_password: str = "demo-password"
    """the login `netra demo` creates: its password"""

    # Hardening: rate limits (counted in Redis when NETRA_REDIS_URL is set, so every
    # instance counts together) and the open-socket quota. Off only for load tests.
    rate_limits: bool = True
    """`off` disables every rate limit (load tests and benchmarks only; production refuses it)"""
    signups_per_hour: int = Field(default=20, ge=1)  # per client address
    """sign-ups per client address"""
    ws_tickets_per_minute: int = Field(default=60, ge=1)  # per user
    """WebSocket tickets per user"""
    messages_per_minute: int = Field(default=120, ge=1)  # per user: WebSocket frames + REST
    """messages per user, across all their sockets (every frame but `ping`), REST and AG-UI"""
    ingest_requests_per_minute: int = Field(default=600, ge=1)  # per user (API key or token)
    """ingestion requests per user, whichever API key or token they use"""
    max_sockets_per_user: int = Field(default=20, ge=1)  # open at once, per instance
    """open WebSockets per user on one instance; the next is closed with 4429"""

    # Hardening: request bodies, browser defences, the operators' endpoints.
    max_json_bytes: int = Field(default=256 * 1024, ge=1024)  # any JSON request body
    """a larger JSON request body is `413 too_large`, refused before it is read"""
    max_ingest_bytes: int = Field(default=16 * 1024**2, ge=1024)  # one ingestion batch
    """the same for one `POST /api/ingest/{dataset_id}/records` batch"""
    public_url: str | None = None
    """where users reach the app, e.g. `https://netra.example.com`: `https` sends HSTS; its origin
    may open the WebSocket (set it behind a proxy that rewrites `Host`)"""
    allowed_origins: Annotated[list[str], NoDecode] = Field(default=[])
    """comma-separated origins whose pages may also open the WebSocket (the app's own origin always
    may)"""
    metrics_token: SecretStr | None = None  # set: /metrics needs Authorization: Bearer <it>
    """when set, `/metrics` needs `Authorization: Bearer <token>` (production logs a warning while
    it is unset) (unset: open)"""
    api_docs: bool | None = None
    """serve `/api/docs` and `/api/openapi.json` (unset: on, except in production)"""

    oidc_providers: Annotated[list[OidcProvider], NoDecode] = Field(default=[])
    """single sign-on: a JSON list of OpenID Connect providers, each `{"name", "label", "issuer",
    "client_id", "client_secret", "scopes"}` (scopes: `["openid", "email", "profile"]` unless
    given); register `<NETRA_PUBLIC_URL>/api/auth/oidc/<name>/callback` with each (see
    [Single sign-on](#single-sign-on))"""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value:
            origin_of(value)  # raises ValueError for anything but http(s)://host[:port][/…]
        return value or None

    @field_validator("python_core", mode="before")
    @classmethod
    def _core(cls, value: object) -> object:
        """One plain message for a bad value (not one per member of the union)."""
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if value in ("auto", "off") or (type(value) is int and value >= 0):
            return value
        raise ValueError("expected auto, off or a core number (0, 1, …)")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [origin_of(str(part)) for part in value]
        return value

    @field_validator("oidc_providers", mode="before")
    @classmethod
    def _oidc_json(cls, value: object) -> object:
        return _json_list(value)

    @field_validator("oidc_providers")
    @classmethod
    def _oidc_names(cls, value: list[OidcProvider]) -> list[OidcProvider]:
        names = [provider.name for provider in value]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"provider names must be unique: {', '.join(repeated)} repeated")
        return value

    @property
    def api_docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @property
    def hsts(self) -> bool:
        return (self.public_url or "").lower().startswith("https://")

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "netra.db"

    @property
    def analytics_path(self) -> Path:
        return self.data_dir / "analytics.duckdb"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def runs_database_url(self) -> str:
        """DBOS's system database: its own SQLite file beside ours (two engines must not
        both write one SQLite file), or a schema of our PostgreSQL."""
        if not self.database_url:
            return f"sqlite:///{self.data_dir / 'runs.sqlite'}"
        url = make_url(self.database_url)
        driver = "postgresql+psycopg" if url.get_backend_name() == "postgresql" else url.drivername
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @property
    def shared_analytics(self) -> bool:
        """Whether every process reads the same analytics store (a ClickHouse server):
        the DuckDB file and embedded chdb belong to the one process that opened them."""
        scheme = (self.analytics_url or "").partition("://")[0].lower()
        return scheme in ("clickhouse", "clickhouses", "http", "https")

    @property
    def llm_provider(self) -> Literal["offline", "openai"]:
        return "openai" if self.llm_base_url else "offline"


def consistency_problems(settings: Settings) -> list[str]:
    """Settings that are each valid but do not work together, in any environment."""
    problems: list[str] = []
    if settings.executor_dead_after_s <= 2 * settings.executor_heartbeat_s:
        problems.append("NETRA_EXECUTOR_DEAD_AFTER_S: must be more than twice "
                        "NETRA_EXECUTOR_HEARTBEAT_S, or a live process could be taken for dead")
    if settings.max_concurrent_runs > settings.max_concurrent_runs_total:
        problems.append(
            "NETRA_MAX_CONCURRENT_RUNS: must not exceed NETRA_MAX_CONCURRENT_RUNS_TOTAL")
    return problems


def production_problems(settings: Settings) -> list[str]:
    """Rules that only bite in production, where a weak default would be a breach."""
    problems: list[str] = []
    if settings.env != "production":
        return problems
    secret = settings.secret_key.get_secret_value()
    if not secret or secret == DEVELOPMENT_SECRET:
        problems.append("NETRA_SECRET_KEY: missing or the development default; set a random value")
    elif len(secret.encode()) < MIN_SECRET_BYTES:
        problems.append(
            f"NETRA_SECRET_KEY: too short ({len(secret.encode())} bytes, need ≥ {MIN_SECRET_BYTES})"
        )
    if settings.llm_base_url and not settings.llm_api_key:
        problems.append("NETRA_LLM_API_KEY: required when NETRA_LLM_BASE_URL is set")
    if not settings.rate_limits:
        problems.append("NETRA_RATE_LIMITS: off is for load tests; production keeps them on")
    return problems + _oidc_production_problems(settings)


def _oidc_production_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    for provider in settings.oidc_providers:
        where = f"NETRA_OIDC_PROVIDERS ({provider.name})"
        if not provider.issuer.lower().startswith("https://"):
            problems.append(f"{where}: the issuer must be https in production "
                            f"(got {provider.issuer})")
        if not provider.client_secret.get_secret_value():
            problems.append(f"{where}: client_secret is empty; production signs in as a "
                            "confidential client")
    if settings.oidc_providers and not settings.public_url:
        problems.append("NETRA_PUBLIC_URL: required with NETRA_OIDC_PROVIDERS in production: "
                        "the redirect URI registered with each provider is built from it")
    return problems


def _describe(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        name = "NETRA_" + "_".join(str(p) for p in item["loc"]).upper()
        # A provider's entry holds its client secret: never echo any part of it.
        hidden = "SECRET" in name or "KEY" in name or name.startswith("NETRA_OIDC_PROVIDERS")
        shown = "" if hidden else f" (got {item.get('input')!r})"
        problems.append(f"{name}: {item['msg']}{shown}")
    return problems


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise one SettingsError that lists every problem."""
    problems: list[str] = []
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = _describe(error)
        # Re-read with the broken fields at their defaults so the production rules can
        # still be checked: the operator gets every problem in one report.
        broken = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        defaults = {name: Settings.model_fields[name].default for name in broken}
        try:
            settings = Settings(**{**overrides, **defaults})
        except ValidationError:
            raise SettingsError(problems) from None
    problems += consistency_problems(settings) + production_problems(settings)
    if problems:
        raise SettingsError(problems)
    return settings
