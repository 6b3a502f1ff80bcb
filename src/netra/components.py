"""The running application's parts, built once by start-up and shared by every request.

Each extension point is one Protocol with an implementation chosen from settings at
start-up (never a scattered `if redis:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netra.db import Database
from netra.ratelimit import RateLimiter
from netra.settings import Settings

if TYPE_CHECKING:
    from netra.auth.oidc import OidcClients
    from netra.auth.tickets import TicketStore
    from netra.chat.conversation import Intake
    from netra.realtime.bus import EventBus
    from netra.realtime.hub import ConnectionHub
    from netra.runs.engine import RunEngine
    from netra.telemetry.store import AnalyticsStore


@dataclass
class Components:
    settings: Settings
    db: Database
    tickets: TicketStore
    bus: EventBus
    hub: ConnectionHub
    analytics: AnalyticsStore
    runs: RunEngine  # the one run executor: enqueue, cancel, execute, supervise
    intake: Intake  # accepts users' messages (group commit)
    limiter: RateLimiter  # every rate limit, counted in memory or in Redis
    sso: OidcClients  # the OpenID Connect providers users may sign in with
