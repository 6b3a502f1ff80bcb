"""Alembic environment: runs on the connection Database.migrate() hands over."""

from alembic import context

import netra.db.models  # noqa: F401  (registers every table on Base.metadata)
from netra.db.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `netra migrate` (Database.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
