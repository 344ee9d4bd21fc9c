"""audit guards: an entry is written unsealed (Beacon seals it), and a chain's head only
moves forward: its place never back, its anchor only by retention, onward

Revision ID: 0018_audit_guards
Revises: 0017_audit_retention
Create Date: 2026-11-27 22:55:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018_audit_guards'
down_revision = '0017_audit_retention'
branch_labels = None
depends_on = None

SEALED_ON_INSERT = "NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.entry_hash IS NOT NULL"
HEAD_BACKWARDS = "NEW.seq < OLD.seq OR NEW.first_seq < OLD.first_seq OR NEW.log IS NOT OLD.log"


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION audit_entries_written_unsealed() RETURNS trigger AS $$
            BEGIN
                IF {SEALED_ON_INSERT} THEN
                    RAISE EXCEPTION 'audit entries are written unsealed: Beacon seals them';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_entries_written_unsealed BEFORE INSERT ON audit_entries
            FOR EACH ROW EXECUTE FUNCTION audit_entries_written_unsealed()
        """)
        op.execute(f"""
            CREATE FUNCTION audit_chain_heads_forward() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' OR {HEAD_BACKWARDS.replace('IS NOT', 'IS DISTINCT FROM')} THEN
                    RAISE EXCEPTION 'an audit chain''s head only moves forward';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_chain_heads_forward BEFORE UPDATE OR DELETE ON audit_chain_heads
            FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_forward()
        """)
    else:
        op.execute(f"""
            CREATE TRIGGER audit_entries_written_unsealed BEFORE INSERT ON audit_entries
            WHEN {SEALED_ON_INSERT}
            BEGIN SELECT RAISE(ABORT, 'audit entries are written unsealed: Beacon seals them'); END
        """)
        op.execute(f"""
            CREATE TRIGGER audit_chain_heads_forward BEFORE UPDATE ON audit_chain_heads
            WHEN {HEAD_BACKWARDS}
            BEGIN SELECT RAISE(ABORT, 'an audit chain''s head only moves forward'); END
        """)
        op.execute("""
            CREATE TRIGGER audit_chain_heads_kept BEFORE DELETE ON audit_chain_heads
            BEGIN SELECT RAISE(ABORT, 'an audit chain''s head only moves forward'); END
        """)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_chain_heads_forward ON audit_chain_heads")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_heads_forward()")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_written_unsealed ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_written_unsealed()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_chain_heads_kept")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_heads_forward")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_written_unsealed")
