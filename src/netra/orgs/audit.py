"""The audit log of an organization: who did what to whom, when, and from where.

Written in the same transaction as what it records, so an entry exists exactly when the
change does. Read by the organization's admins, newest first, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from netra.auth.models import User
from netra.db.base import utcnow
from netra.errors import ValidationFailed
from netra.orgs.models import AuditEvent

# What is recorded (the `action` of an entry).
ACTIONS = ("invited", "invitation_revoked", "accepted", "joined_by_sso", "removed",
           "role_changed", "left", "dataset_created", "dataset_deleted", "requests_deleted",
           "key_created", "key_revoked", "organization_created", "settings_changed",
           "thread_shared")
DEFAULT_PAGE, MAX_PAGE = 50, 200


@dataclass(frozen=True)
class Actor:
    """Who acted, and from which client address."""

    user_id: str | None
    ip_address: str


def record(session: AsyncSession, organization_id: str, actor: Actor, action: str,
           target: str = "", **details: Any) -> None:
    """Add an entry to the caller's transaction (it is written with the change)."""
    assert action in ACTIONS, action
    session.add(AuditEvent(organization_id=organization_id, actor_id=actor.user_id,
                           action=action, target=target[:320],
                           ip_address=actor.ip_address[:64], created_at=utcnow(),
                           details=details))


@dataclass(frozen=True)
class Page:
    entries: list[tuple[AuditEvent, str | None]]  # each entry with its actor's email
    next_cursor: str | None


def _cursor(event: AuditEvent) -> str:
    # Every digit of the time (not the milliseconds the API shows): the next page starts
    # exactly after this entry.
    return f"{event.created_at.isoformat()}|{event.id}"


def _after(cursor: str) -> tuple[datetime, str]:
    moment, _, event_id = cursor.partition("|")
    try:
        moment_at = datetime.fromisoformat(moment)
    except ValueError:
        raise ValidationFailed("cursor is not one this route gave: start again without it",
                               details=[{"loc": ["query", "cursor"]}]) from None
    if moment_at.tzinfo is None:
        raise ValidationFailed("cursor is not one this route gave: start again without it",
                               details=[{"loc": ["query", "cursor"]}])
    return moment_at, event_id


async def page(session: AsyncSession, organization_id: str, *, limit: int = DEFAULT_PAGE,
               cursor: str | None = None) -> Page:
    """The organization's entries, newest first; `next_cursor` continues (keyset)."""
    query = (select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_id)
             .where(AuditEvent.organization_id == organization_id))
    if cursor:
        moment, event_id = _after(cursor)
        query = query.where(or_(
            AuditEvent.created_at < moment,
            and_(AuditEvent.created_at == moment, AuditEvent.id < event_id)))  # same instant
    rows: list[tuple[AuditEvent, str | None]] = list((await session.execute(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit + 1)
    )).tuples())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _cursor(rows[-1][0]) if more and rows else None)
