"""two-person grants of privileged roles: role_grants, one pending request per account and role

Existing accounts keep the roles they hold; only new grants of administrator, HR or
clinician go through a second administrator from this revision on.

Revision ID: 0013_privileged_grants
Revises: 0012_wellness_exceptions
Create Date: 2026-11-27 19:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import core.db


# revision identifiers, used by Alembic.
revision = '0013_privileged_grants'
down_revision = '0012_wellness_exceptions'
branch_labels = None
depends_on = None


def upgrade():
    # The `role` type already exists on PostgreSQL (user_roles.role): reuse it.
    role = postgresql.ENUM('admin', 'hr', 'clinician', 'officer', name='role', create_type=False) \
        if op.get_bind().dialect.name == 'postgresql' else sa.Enum('admin', 'hr', 'clinician', 'officer', name='role')
    op.create_table('role_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', role, nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'expired', name='grant_status'), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_label', sa.String(length=254), nullable=False),
    sa.Column('requested_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_label', sa.String(length=254), server_default='', nullable=False),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), server_default='', nullable=False),
    sa.CheckConstraint('decided_by_id IS NULL OR (decided_by_id <> requested_by_id AND decided_by_id <> user_id)',
                       name=op.f('ck_role_grants_second_person')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_role_grants_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_role_grants_requested_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants'))
    )
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.create_index('ix_role_grants_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('uq_role_grants_pending', ['user_id', 'role'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))


def downgrade():
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_index('uq_role_grants_pending', sqlite_where=sa.text("status = 'pending'"),
                            postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_role_grants_status_expires')

    op.drop_table('role_grants')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TYPE IF EXISTS grant_status')
