"""outbox: retries that never give up silently, and expiry by kind

Revision ID: 0009_outbox_retry
Revises: 0008_reviews
Create Date: 2026-11-27 15:40:00

Failed messages are retried hourly after the fast retries, until delivered or expired:
an 'expired' status, the moment a message stops being true (`expires_at`, given by the
caller), when it was marked expired, and an index for the expiry step of delivery.
SQLite stores the status as text, so only PostgreSQL's enum type changes.
"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0009_outbox_retry'
down_revision = '0008_reviews'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE outbox_status ADD VALUE IF NOT EXISTS 'expired'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('expired_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_messages_expiry', ['status', 'expires_at'], unique=False)


def downgrade():
    # Without the state, an expired message becomes what it was before: failed, with no
    # next attempt (it waits for a person's "Retry now").
    op.execute("UPDATE outbox_messages SET status = 'failed', next_attempt_at = NULL WHERE status = 'expired'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_expiry')
        batch_op.drop_column('expired_at')
        batch_op.drop_column('expires_at')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE outbox_status RENAME TO outbox_status_old")
        op.execute("CREATE TYPE outbox_status AS ENUM ('queued', 'sending', 'sent', 'failed', 'dropped')")
        op.execute("ALTER TABLE outbox_messages ALTER COLUMN status TYPE outbox_status "
                   "USING status::text::outbox_status")
        op.execute("DROP TYPE outbox_status_old")
