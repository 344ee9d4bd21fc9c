"""audit retention: on PostgreSQL the owner may remove audit entries in a transaction
that sets beacon.retention (core.retention, which re-anchors the chain); nobody else

Revision ID: 0017_audit_retention
Revises: 0016_audit_chain
Create Date: 2026-11-27 22:45:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_audit_retention'
down_revision = '0016_audit_chain'
branch_labels = None
depends_on = None

CONTENT = ("id", "at", "actor_id", "actor_label", "action", "target", "outcome", "ip", "detail", "private")
FUNCTION = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.entry_hash IS NULL AND NEW.entry_hash IS NOT NULL
           AND (%(new)s) IS NOT DISTINCT FROM (%(old)s) THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE' AND %(retention)s THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only';
    END;
    $$ LANGUAGE plpgsql
"""
FIELDS = {"new": ", ".join(f"NEW.{c}" for c in CONTENT), "old": ", ".join(f"OLD.{c}" for c in CONTENT)}


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(FUNCTION % {**FIELDS, "retention": "current_setting('beacon.retention', true) = 'on'"})


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(FUNCTION % {**FIELDS, "retention": "false"})
