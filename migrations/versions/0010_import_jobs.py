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
    pass


def downgrade():
    pass
