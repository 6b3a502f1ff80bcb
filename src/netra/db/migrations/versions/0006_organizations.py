"""organizations: memberships, invitations, audit events; datasets and API keys belong to
an organization (each user's personal one, made here); threads may be shared into one;
refresh tokens say whether their login was a single sign-on

Revision ID: 0006_organizations
Revises: 0005_oidc_identities
Create Date: 2026-12-05 08:30:00
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import netra.db.base

revision: str = '0006_organizations'
down_revision: str | None = '0005_oidc_identities'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('organizations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('require_sso', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('sso_domain', sa.String(length=253), nullable=True),
    sa.Column('personal_user_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['personal_user_id'], ['users.id'], name=op.f('fk_organizations_personal_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('personal_user_id', name=op.f('uq_organizations_personal_user_id')),
    sa.UniqueConstraint('sso_domain', name=op.f('uq_organizations_sso_domain'))
    )
    op.create_table('memberships',
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_memberships_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'user_id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('invitations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', netra.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', netra.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('invited_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name=op.f('fk_invitations_invited_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_invitations_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_organization_id'), ['organization_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=320), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('created_at', netra.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_audit_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_org_created', ['organization_id', 'created_at'], unique=False)

    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_threads_organization_id'), ['organization_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_threads_organization_id_organizations'), 'organizations', ['organization_id'], ['id'], ondelete='SET NULL')
    for table in ('datasets', 'api_keys'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('organization_id', sa.String(length=32), nullable=True))

    _personal_organizations()

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.alter_column('organization_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index('ix_datasets_organization_created', ['organization_id', 'created_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_datasets_organization_id_organizations'), 'organizations', ['organization_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('organization_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(batch_op.f('ix_api_keys_organization_id'), ['organization_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_keys_organization_id_organizations'), 'organizations', ['organization_id'], ['id'], ondelete='CASCADE')


def _personal_organizations() -> None:
    """Every existing user gets the personal organization sign-up now makes, as its owner,
    and their datasets and API keys move into it: nothing anyone had changes hands."""
    bind = op.get_bind()
    users = bind.execute(sa.text('SELECT id, name, email FROM users')).all()
    if not users:
        return
    now = datetime.now(UTC)
    organizations = sa.table('organizations', sa.column('id'), sa.column('name'),
                             sa.column('created_at', netra.db.base.UTCDateTime()),
                             sa.column('require_sso'), sa.column('personal_user_id'))
    memberships = sa.table('memberships', sa.column('organization_id'), sa.column('user_id'),
                           sa.column('role'), sa.column('created_at', netra.db.base.UTCDateTime()))
    made = {user.id: secrets.token_hex(12) for user in users}
    op.bulk_insert(organizations, [
        {'id': made[u.id], 'name': _personal_name(u.name, u.email), 'created_at': now,
         'require_sso': False, 'personal_user_id': u.id} for u in users])
    op.bulk_insert(memberships, [
        {'organization_id': made[u.id], 'user_id': u.id, 'role': 'owner', 'created_at': now}
        for u in users])
    for table in ('datasets', 'api_keys'):
        bind.execute(sa.text(
            f'UPDATE {table} SET organization_id = (SELECT o.id FROM organizations o '
            f'WHERE o.personal_user_id = {table}.user_id)'))


def _personal_name(name: str, email: str) -> str:
    """The same name as sign-up gives (netra.orgs.service.personal_name)."""
    return f"{(name or email.split('@')[0]).strip()[:180]}'s workspace"


def downgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_keys_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_keys_organization_id'))
        batch_op.drop_column('organization_id')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_datasets_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_index('ix_datasets_organization_created')
        batch_op.drop_column('organization_id')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_threads_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_threads_organization_id'))
        batch_op.drop_column('organization_id')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('sso')
    op.drop_table('audit_events')
    op.drop_table('invitations')
    op.drop_table('memberships')
    op.drop_table('organizations')
