"""Issue 16: the command role, quarterly compliance reports (kept with their PDF and the
audit chains' heads), support resources after an incident, an officer's personal address
for wellness mail, confidential self-referrals (appointments that answer no evaluation),
and an index for "who looked at my record".

Revision ID: 0021_oversight
Revises: 0020_feeds_notices
Create Date: 2026-11-28 07:11:13.371765

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0021_oversight'
down_revision = '0020_feeds_notices'
branch_labels = None
depends_on = None


ACTIVE = "status IN ('booked', 'confirmed', 'reschedule_requested')"


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'command'")
    op.create_table('support_resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('peer_support', 'chaplain', 'eap', 'crisis_line', 'other', name='support_kind'), nullable=False),
    sa.Column('phone', sa.String(length=40), server_default='', nullable=False),
    sa.Column('contact', sa.String(length=300), server_default='', nullable=False),
    sa.Column('hours', sa.String(length=120), server_default='', nullable=False),
    sa.Column('notes', sa.Text(), server_default='', nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_resources'))
    )
    op.create_table('compliance_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('made_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('made_by_id', sa.Integer(), nullable=True),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('general_head_seq', sa.BigInteger(), nullable=False),
    sa.Column('general_head_hash', sa.String(length=64), nullable=False),
    sa.Column('wellness_head_seq', sa.BigInteger(), nullable=False),
    sa.Column('wellness_head_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['made_by_id'], ['users.id'], name=op.f('fk_compliance_reports_made_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_reports'))
    )
    with op.batch_alter_table('compliance_reports', schema=None) as batch_op:
        batch_op.create_index('ix_compliance_reports_period', ['period_start', 'made_at'], unique=False)

    op.create_table('private_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('confirmed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pending_email', sa.String(length=254), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_expires_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('requested_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_private_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_private_addresses')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_private_addresses_token_hash')),
    sa.UniqueConstraint('user_id', name=op.f('uq_private_addresses_user_id'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('self_referral', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.alter_column('evaluation_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        # One active appointment per officer for their evaluation; a self-referral apart from it.
        batch_op.drop_index('uq_appointments_officer_active', sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.create_index('uq_appointments_officer_active', ['officer_id'], unique=True,
                              sqlite_where=sa.text(ACTIVE + " AND NOT self_referral"),
                              postgresql_where=sa.text(ACTIVE + " AND NOT self_referral"))
        batch_op.create_check_constraint(
            'self_referral_has_no_evaluation',
            "(self_referral AND evaluation_id IS NULL) OR (NOT self_referral AND evaluation_id IS NOT NULL)")
        batch_op.create_index('uq_appointments_officer_self_referral', ['officer_id'], unique=True, sqlite_where=sa.text("status IN ('booked', 'confirmed', 'reschedule_requested') AND self_referral"), postgresql_where=sa.text("status IN ('booked', 'confirmed', 'reschedule_requested') AND self_referral"))

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_target_at', ['target', 'at'], unique=False)



def downgrade():
    # Self-referrals answered no evaluation: before this revision there is no place for them.
    op.execute("DELETE FROM appointments WHERE self_referral")
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:  # PostgreSQL cannot drop one value of a type: make the type again without it
        op.execute("DELETE FROM user_roles WHERE role = 'command'")
        op.execute("DELETE FROM role_grants WHERE role = 'command'")
        op.execute("ALTER TYPE role RENAME TO role_old")
        op.execute("CREATE TYPE role AS ENUM ('admin', 'hr', 'clinician', 'officer')")
        op.execute("ALTER TABLE user_roles ALTER COLUMN role TYPE role USING role::text::role")
        op.execute("ALTER TABLE role_grants ALTER COLUMN role TYPE role USING role::text::role")
        op.execute("DROP TYPE role_old")
    else:
        op.execute("DELETE FROM user_roles WHERE role = 'command'")
        op.execute("DELETE FROM role_grants WHERE role = 'command'")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_target_at')

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('uq_appointments_officer_self_referral', sqlite_where=sa.text("status IN ('booked', 'confirmed', 'reschedule_requested') AND self_referral"), postgresql_where=sa.text("status IN ('booked', 'confirmed', 'reschedule_requested') AND self_referral"))
        batch_op.drop_constraint('self_referral_has_no_evaluation', type_='check')
        batch_op.drop_index('uq_appointments_officer_active', sqlite_where=sa.text(ACTIVE + " AND NOT self_referral"),
                            postgresql_where=sa.text(ACTIVE + " AND NOT self_referral"))
        batch_op.create_index('uq_appointments_officer_active', ['officer_id'], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.alter_column('evaluation_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('self_referral')

    op.drop_table('private_addresses')
    with op.batch_alter_table('compliance_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_compliance_reports_period')

    op.drop_table('compliance_reports')
    op.drop_table('support_resources')
    if postgres:
        op.execute('DROP TYPE IF EXISTS support_kind')
