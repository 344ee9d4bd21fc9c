"""a tamper-evident audit log: each entry sealed into a hash chain per log (general,
wellness), heads in audit_chain_heads; entries may be updated only to seal them, and
(PostgreSQL) TRUNCATE is refused

Existing entries are sealed here, in id order.

Revision ID: 0016_audit_chain
Revises: 0015_two_step_sign_in
Create Date: 2026-11-27 22:20:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0016_audit_chain'
down_revision = '0015_two_step_sign_in'
branch_labels = None
depends_on = None

ZERO = "0" * 64
UNSEALED = "entry_hash IS NULL"
CONTENT = ("id", "at", "actor_id", "actor_label", "action", "target", "outcome", "ip", "detail", "private")

# PostgreSQL: an entry may be updated only to seal it (its chain columns, once); never
# deleted; the table never truncated.
PG_APPEND_ONLY = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.entry_hash IS NULL AND NEW.entry_hash IS NOT NULL
           AND (%(new)s) IS NOT DISTINCT FROM (%(old)s) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only';
    END;
    $$ LANGUAGE plpgsql
""" % {"new": ", ".join(f"NEW.{c}" for c in CONTENT), "old": ", ".join(f"OLD.{c}" for c in CONTENT)}
PG_OLD_APPEND_ONLY = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit entries are append-only';
    END;
    $$ LANGUAGE plpgsql
"""
SQLITE_NO_UPDATE = """
    CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    WHEN OLD.entry_hash IS NOT NULL OR NEW.entry_hash IS NULL OR %s
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END
""" % " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)
SQLITE_OLD_NO_UPDATE = """
    CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END
"""


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    # Plain ADD COLUMN (not a batch copy), so SQLite keeps the audit log's triggers.
    op.add_column('audit_entries', sa.Column('seq', sa.BigInteger(), nullable=True))
    op.add_column('audit_entries', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_entries', sa.Column('entry_hash', sa.String(length=64), nullable=True))
    op.create_index('uq_audit_entries_chain', 'audit_entries', ['private', 'seq'], unique=True)
    op.create_index('ix_audit_entries_unsealed', 'audit_entries', ['private', 'id'], unique=False,
                    sqlite_where=sa.text(UNSEALED), postgresql_where=sa.text(UNSEALED))
    heads = op.create_table('audit_chain_heads',
    sa.Column('log', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=False),
    sa.Column('first_prev', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('log', name=op.f('pk_audit_chain_heads'))
    )
    op.bulk_insert(heads, [{"log": log, "seq": 0, "entry_hash": ZERO, "first_seq": 1, "first_prev": ZERO}
                           for log in ("general", "wellness")])
    if postgresql:
        op.execute(PG_APPEND_ONLY)
        op.execute("""
            CREATE FUNCTION audit_entries_no_truncate() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit entries are append-only: TRUNCATE is refused';
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
            FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_no_truncate()
        """)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute(SQLITE_NO_UPDATE)
    from core import audit_chain
    audit_chain.seal(op.get_bind())  # the entries written before this revision, in id order


def downgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_no_truncate()")
        op.execute(PG_OLD_APPEND_ONLY)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute(SQLITE_OLD_NO_UPDATE)
    op.drop_table('audit_chain_heads')
    op.drop_index('ix_audit_entries_unsealed', table_name='audit_entries',
                  sqlite_where=sa.text(UNSEALED), postgresql_where=sa.text(UNSEALED))
    op.drop_index('uq_audit_entries_chain', table_name='audit_entries')
    if postgresql:
        for column in ('entry_hash', 'prev_hash', 'seq'):
            op.drop_column('audit_entries', column)
        return
    # SQLite rebuilds the table to drop a column, which loses its triggers: put them back.
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        for column in ('entry_hash', 'prev_hash', 'seq'):
            batch_op.drop_column(column)
    for event in ("UPDATE", "DELETE"):
        op.execute(f"""
            CREATE TRIGGER IF NOT EXISTS audit_entries_no_{event.lower()} BEFORE {event} ON audit_entries
            BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END
        """)
