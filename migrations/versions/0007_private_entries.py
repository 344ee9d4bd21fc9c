"""audit entries and outbox messages marked private (health-related): shown to HR, withheld from administrators

Revision ID: 0007_private_entries
Revises: 0006_evaluations_completed_index
Create Date: 2026-11-21 22:20:00.022084

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0007_private_entries'
down_revision = '0006_evaluations_completed_index'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (not a batch copy), so SQLite keeps the audit log's triggers.
    op.add_column('audit_entries', sa.Column('private', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('outbox_messages', sa.Column('private', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('private')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column('audit_entries', 'private')
        return
    # SQLite rebuilds the table to drop a column, which loses its triggers: put them back.
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('private')
    for event in ("UPDATE", "DELETE"):
        op.execute(f"""
            CREATE TRIGGER IF NOT EXISTS audit_entries_no_{event.lower()} BEFORE {event} ON audit_entries
            BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END
        """)
