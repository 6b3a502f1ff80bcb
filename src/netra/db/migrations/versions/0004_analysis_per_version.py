"""analysis per dataset version: datasets.version, analysis_results

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import netra.db.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))

    op.create_table('analysis_results',
    sa.Column('dataset_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('tool', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('computed_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_analysis_results_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'version', 'key', name=op.f('pk_analysis_results'))
    )


def downgrade() -> None:
    op.drop_table('analysis_results')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_column('version')
