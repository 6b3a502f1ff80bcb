"""Imports every domain's tables so Alembic and create_all see the whole schema."""

from netra.analysis import models as analysis_models
from netra.auth import models as auth_models
from netra.chat import models as chat_models
from netra.orgs import models as orgs_models
from netra.realtime import models as realtime_models
from netra.runs import models as runs_models
from netra.telemetry import models as telemetry_models

__all__ = [
    "analysis_models", "auth_models", "chat_models", "orgs_models", "realtime_models",
    "runs_models", "telemetry_models",
]
