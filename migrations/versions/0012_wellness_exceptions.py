"""wellness exceptions: HR's "Needs attention" items, held proposals, late bookings,
incidents that can be corrected or withdrawn

Existing annual evaluations in progress keep their due date as the one to return to if
an incident is withdrawn; existing proposals are held from the upgrade, for as long as their appointment lasts.

Revision ID: 0012_wellness_exceptions
Revises: 0011_job_problems
Create Date: 2026-11-27 18:20:00

"""
from alembic import op
import sqlalchemy as sa

import core.db
from datetime import datetime, timezone


# revision identifiers, used by Alembic.
revision = '0012_wellness_exceptions'
down_revision = '0011_job_problems'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wellness_attention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=500), server_default='', nullable=False),
    sa.Column('opened_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=60), server_default='', nullable=False),
    sa.Column('note', sa.String(length=500), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_wellness_attention_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['wellness_evaluations.id'], name=op.f('fk_wellness_attention_evaluation_id_wellness_evaluations')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_wellness_attention_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wellness_attention'))
    )
    with op.batch_alter_table('wellness_attention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wellness_attention_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wellness_attention_evaluation_id'), ['evaluation_id'], unique=False)
        batch_op.create_index('ix_wellness_attention_open_since', ['opened_at'], unique=False, sqlite_where=sa.text('resolved_at IS NULL'), postgresql_where=sa.text('resolved_at IS NULL'))
        batch_op.create_index('uq_wellness_attention_open', ['evaluation_id', 'kind'], unique=True, sqlite_where=sa.text('resolved_at IS NULL'), postgresql_where=sa.text('resolved_at IS NULL'))

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_ends_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('proposed_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('late_reason', sa.String(length=500), server_default='', nullable=False))

    with op.batch_alter_table('critical_incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.String(length=500), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_critical_incidents_withdrawn_by_id_users'), 'users', ['withdrawn_by_id'], ['id'])

    with op.batch_alter_table('evaluation_incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('added_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('opened_evaluation', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('wellness_evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('base_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('attention', sa.String(length=40), nullable=True))

    op.execute("UPDATE wellness_evaluations SET base_due_on = due_on "
               "WHERE kind = 'annual' AND status IN ('open', 'scheduled')")
    # A proposal made before this revision is held from now, for as long as its appointment lasts.
    appointments = sa.table('appointments', sa.column('id', sa.Integer()),
                            sa.column('starts_at', core.db.UTCDateTime(timezone=True)),
                            sa.column('ends_at', core.db.UTCDateTime(timezone=True)),
                            sa.column('proposed_starts_at', core.db.UTCDateTime(timezone=True)),
                            sa.column('proposed_ends_at', core.db.UTCDateTime(timezone=True)),
                            sa.column('proposed_at', core.db.UTCDateTime(timezone=True)))
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    for row in bind.execute(sa.select(appointments).where(appointments.c.proposed_starts_at.is_not(None))).all():
        bind.execute(appointments.update().where(appointments.c.id == row.id).values(
            proposed_ends_at=row.proposed_starts_at + (row.ends_at - row.starts_at), proposed_at=now))



def downgrade():
    with op.batch_alter_table('wellness_evaluations', schema=None) as batch_op:
        batch_op.drop_column('attention')
        batch_op.drop_column('base_due_on')

    with op.batch_alter_table('evaluation_incidents', schema=None) as batch_op:
        batch_op.drop_column('opened_evaluation')
        batch_op.drop_column('added_on')

    with op.batch_alter_table('critical_incidents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_critical_incidents_withdrawn_by_id_users'), type_='foreignkey')
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('late_reason')
        batch_op.drop_column('proposed_at')
        batch_op.drop_column('proposed_ends_at')

    with op.batch_alter_table('wellness_attention', schema=None) as batch_op:
        batch_op.drop_index('uq_wellness_attention_open', sqlite_where=sa.text('resolved_at IS NULL'), postgresql_where=sa.text('resolved_at IS NULL'))
        batch_op.drop_index('ix_wellness_attention_open_since', sqlite_where=sa.text('resolved_at IS NULL'), postgresql_where=sa.text('resolved_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_wellness_attention_evaluation_id'))
        batch_op.drop_index(batch_op.f('ix_wellness_attention_appointment_id'))

    op.drop_table('wellness_attention')
