"""daily jobs: what a sweep could not process, kept for HR; the dashboard's list by due date

The partial index on evaluations in progress (due_on, id) lets HR's dashboard read one
page of its list in order instead of sorting every evaluation in progress.

Revision ID: 0011_job_problems
Revises: 0010_import_jobs
Create Date: 2026-11-27 15:40:00

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0011_job_problems'
down_revision = '0010_import_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=120), nullable=False),
    sa.Column('first_seen', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_job_problems_officer_id_officers'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_problems')),
    sa.UniqueConstraint('job', 'officer_id', name=op.f('uq_job_problems_job'))
    )
    with op.batch_alter_table('job_problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_problems_officer_id'), ['officer_id'], unique=False)
    with op.batch_alter_table('wellness_evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_wellness_evaluations_in_progress_due', ['due_on', 'id'], unique=False,
                              sqlite_where=sa.text("status IN ('open', 'scheduled')"),
                              postgresql_where=sa.text("status IN ('open', 'scheduled')"))


def downgrade():
    with op.batch_alter_table('wellness_evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_wellness_evaluations_in_progress_due')
    with op.batch_alter_table('job_problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_problems_officer_id'))
    op.drop_table('job_problems')
