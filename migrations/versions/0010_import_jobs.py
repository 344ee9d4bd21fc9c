"""imports of any size: uploads stored once, checked and written by a job

Revision ID: 0010_import_jobs
Revises: 0009_outbox_retry
Create Date: 2026-11-27 15:40:00

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0010_import_jobs'
down_revision = '0009_outbox_retry'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.Enum('checking', 'ready', 'rejected', 'importing', 'done', 'failed', 'cancelled', name='import_state'), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('phase', sa.String(length=20), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('confirmed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_jobs_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_import_jobs_kind_created', ['kind', 'created_at'], unique=False)
        batch_op.create_index('ix_import_jobs_state', ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_jobs_created_by_id'), ['created_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_jobs_created_by_id'))
        batch_op.drop_index('ix_import_jobs_state')
        batch_op.drop_index('ix_import_jobs_kind_created')
    op.drop_table('import_jobs')
    sa.Enum(name='import_state').drop(op.get_bind(), checkfirst=True)
