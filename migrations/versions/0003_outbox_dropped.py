"""outbox: a 'dropped' status for reminders that stopped being true before they went out

Revision ID: 0003_outbox_dropped
Revises: 0002_wellness
Create Date: 2026-11-21

SQLite stores the status as text, so only PostgreSQL's enum type changes.
"""
from alembic import op

revision = '0003_outbox_dropped'
down_revision = '0002_wellness'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE outbox_status ADD VALUE IF NOT EXISTS 'dropped'")


def downgrade():
    op.execute("UPDATE outbox_messages SET status = 'failed', next_attempt_at = NULL WHERE status = 'dropped'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE outbox_status RENAME TO outbox_status_old")
        op.execute("CREATE TYPE outbox_status AS ENUM ('queued', 'sending', 'sent', 'failed')")
        op.execute("ALTER TABLE outbox_messages ALTER COLUMN status TYPE outbox_status "
                   "USING status::text::outbox_status")
        op.execute("DROP TYPE outbox_status_old")
