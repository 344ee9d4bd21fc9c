"""two-step sign-in: authenticator secrets and wrong-code counts on users, recovery_codes,
and two-step resets as requests a second administrator decides (role_grants.action)

Existing accounts have no authenticator: administrators, HR and clinicians set one up
at their next sign-in (core.services.two_step); officers may.

Revision ID: 0015_two_step_sign_in
Revises: 0014_email_changes
Create Date: 2026-11-27 21:40:00

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0015_two_step_sign_in'
down_revision = '0014_email_changes'
branch_labels = None
depends_on = None

PENDING_RESET = "status = 'pending' AND action = 'reset_two_step'"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enrolled_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('failed_codes', sa.Integer(), server_default='0', nullable=False))
    # Sessions open at the upgrade were opened with a password alone: those of accounts
    # that now take two steps end at their next request (accounts.resume_session).
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_step', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_codes_code_hash'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    action = sa.Enum('role', 'reset_two_step', name='grant_action')
    action.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', action, server_default='role', nullable=False))
        batch_op.alter_column('role', existing_type=sa.Enum('admin', 'hr', 'clinician', 'officer', name='role'),
                              nullable=True)
        batch_op.create_check_constraint(op.f('ck_role_grants_role_given_for_role'),
                                         "(action = 'role') = (role IS NOT NULL)")
        batch_op.create_index('uq_role_grants_pending_reset', ['user_id'], unique=True,
                              sqlite_where=sa.text(PENDING_RESET), postgresql_where=sa.text(PENDING_RESET))


def downgrade():
    op.execute("DELETE FROM role_grants WHERE action = 'reset_two_step'")
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_index('uq_role_grants_pending_reset', sqlite_where=sa.text(PENDING_RESET),
                            postgresql_where=sa.text(PENDING_RESET))
        batch_op.drop_constraint(op.f('ck_role_grants_role_given_for_role'), type_='check')
        batch_op.alter_column('role', existing_type=sa.Enum('admin', 'hr', 'clinician', 'officer', name='role'),
                              nullable=False)
        batch_op.drop_column('action')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TYPE IF EXISTS grant_action')

    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')

    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('second_step')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('failed_codes')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enrolled_at')
        batch_op.drop_column('totp_pending_secret')
        batch_op.drop_column('totp_secret')
