"""durable runs: event identities, cancel requests, executors

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import netra.db.base

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('executors',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('executes_runs', sa.Boolean(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', netra.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('taken_over_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_executors'))
    )
    with op.batch_alter_table('executors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_executors_heartbeat_at'), ['heartbeat_at'], unique=False)

    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_run_events_run_key', ['run_id', 'key'])

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_requested_at', netra.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('cancel_requested_at')

    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_run_events_run_key', type_='unique')
        batch_op.drop_column('key')

    with op.batch_alter_table('executors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_executors_heartbeat_at'))

    op.drop_table('executors')
