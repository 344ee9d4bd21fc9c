"""Issue 15: private calendar feeds (one live feed per person, only its hash kept), and
notices an author may edit or withdraw while they wait for approval.

Revision ID: 0020_feeds_notices
Revises: 0019_fixed_results
Create Date: 2026-11-28 03:55:56

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0020_feeds_notices'
down_revision = '0019_fixed_results'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_fetched_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_calendar_feeds_live', ['user_id'], unique=True, sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute("ALTER TYPE notice_status ADD VALUE IF NOT EXISTS 'withdrawn'")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', core.db.UTCDateTime(timezone=True), nullable=True))
        if not postgres:
            batch_op.alter_column('status', existing_type=sa.VARCHAR(length=8),
                                  type_=sa.Enum('pending', 'sent', 'rejected', 'withdrawn', name='notice_status'),
                                  existing_nullable=False)


def downgrade():
    # A withdrawn notice was never sent: before this revision the nearest state is
    # "rejected", with the author's withdrawal as its reason.
    op.execute("UPDATE notices SET status = 'rejected', reason = 'Withdrawn by the author.' "
               "WHERE status = 'withdrawn'")
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:  # PostgreSQL cannot drop one value of a type: make the type again without it
        op.execute("ALTER TYPE notice_status RENAME TO notice_status_old")
        op.execute("CREATE TYPE notice_status AS ENUM ('pending', 'sent', 'rejected')")
        op.execute("ALTER TABLE notices ALTER COLUMN status TYPE notice_status "
                   "USING status::text::notice_status")
        op.execute("DROP TYPE notice_status_old")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        if not postgres:
            batch_op.alter_column('status',
                                  existing_type=sa.Enum('pending', 'sent', 'rejected', 'withdrawn',
                                                        name='notice_status'),
                                  type_=sa.VARCHAR(length=8), existing_nullable=False)
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('edited_at')

    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index('uq_calendar_feeds_live', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_user_id'))

    op.drop_table('calendar_feeds')
