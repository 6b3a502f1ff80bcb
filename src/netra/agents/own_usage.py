"""Dogfood: the platform's own model calls, measured like any customer's.

Each answer written by a language model says what it cost (`report.usage`), and its model
calls are added, one telemetry record each (feature = the agent, conversation = the
thread), to the user's dataset "Netra Apex: own model calls", which the user can analyse
with the product itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse

from netra.auth.models import User
from netra.db import Database
from netra.orgs import service as orgs_service
from netra.settings import Settings
from netra.telemetry import pricing
from netra.telemetry import service as dataset_service
from netra.telemetry.store import AnalyticsStore

DATASET_NAME = "Netra Apex: own model calls"


def _provider(settings: Settings, model: str) -> str:
    return pricing.provider_of(model) or "openai"


def calls(settings: Settings, messages: list[ModelMessage], run_id: str,
          thread_id: str, user_id: str) -> list[dict[str, Any]]:
    """One telemetry record per model response of the run (TELEMETRY.md's record)."""
    records: list[dict[str, Any]] = []
    sent: datetime | None = None
    for message in messages:
        if isinstance(message, ModelRequest):
            sent = message.timestamp
            continue
        if not isinstance(message, ModelResponse) or sent is None:
            continue
        received = message.timestamp or datetime.now(UTC)
        model = message.model_name or settings.llm_model
        usage = message.usage
        records.append({
            "ts": sent.astimezone(UTC).isoformat(),
            "provider": _provider(settings, model),
            "model": model,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_input_tokens": usage.cache_read_tokens,
            "latency_ms": max(0.0, (received - sent).total_seconds() * 1000),
            "status": "ok",
            "feature": "supervisor",
            "end_user": user_id,
            "conversation_id": thread_id,
            "request_id": f"{run_id}-{len(records) + 1}",
        })
    return records


def cost_usd(record: dict[str, Any]) -> float | None:
    """What one call cost at the catalogue's price today; None for an unknown model."""
    rates = pricing.price_per_mtok(record["provider"], record["model"],
                                   datetime.now(UTC).date(),
                                   input_tokens=record["input_tokens"])
    if rates is None:
        return None
    return rates.cost_usd(record["input_tokens"], record["output_tokens"],
                          cached=record.get("cached_input_tokens") or 0)


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer's own cost, as `report.usage`."""
    costs = [cost_usd(r) for r in records]
    known = [c for c in costs if c is not None]
    return {
        "model_calls": len(records),
        "input_tokens": sum(r["input_tokens"] for r in records),
        "output_tokens": sum(r["output_tokens"] for r in records),
        "cost_usd": round(sum(known), 6) if records and len(known) == len(costs) else None,
        "models": sorted({r["model"] for r in records}),
        "dataset": DATASET_NAME,
    }


async def record(db: Database, store: AnalyticsStore, user_id: str,
                 records: list[dict[str, Any]]) -> None:
    """Add the calls to the user's own-usage dataset (made on first use, in their
    personal organization: what a user's questions cost is theirs). Sending the same
    calls again adds nothing: their request_ids are the run's."""
    if not records:
        return
    async with db.transaction() as session:
        user = await session.get(User, user_id)
        if user is None:  # the account went while its run was finishing
            return
        personal = await orgs_service.personal_organization(session, user)
        owner = dataset_service.Owner(personal.id, user_id)
        dataset = await dataset_service.own_dataset(session, owner, DATASET_NAME)
        await dataset_service.ingest_records(session, store, owner, dataset.id, records)
