"""outbox: retries that never give up silently, and expiry by kind

Revision ID: 0009_outbox_retry
Revises: 0008_reviews
Create Date: 2026-11-27 15:40:00

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
    pass


def downgrade():
    pass
