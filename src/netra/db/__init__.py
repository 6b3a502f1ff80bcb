"""Relational state: engine, sessions, declarative Base and Alembic migrations."""

from netra.db.base import Base, UTCDateTime, new_id, utcnow
from netra.db.engine import Database

__all__ = ["Base", "Database", "UTCDateTime", "new_id", "utcnow"]
