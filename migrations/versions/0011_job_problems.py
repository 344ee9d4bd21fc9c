"""daily jobs: what a sweep could not process, kept for HR

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
    pass


def downgrade():
    pass
