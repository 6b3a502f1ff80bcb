"""ingested requests: the ingestion API's request_ids, unique per dataset

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ingested_requests',
    sa.Column('dataset_id', sa.String(length=32), nullable=False),
    sa.Column('request_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_ingested_requests_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'request_key', name=op.f('pk_ingested_requests'))
    )


def downgrade() -> None:
    op.drop_table('ingested_requests')
