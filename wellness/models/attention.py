"""What HR must act on about one evaluation: a decline, a no-show, a proposal nobody
answered, an appointment after the due date. Kept until resolved, and how it was
resolved is kept too (see wellness.services.attention)."""
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db
from wellness import rules

# The kinds, most pressing first: an evaluation with several open items shows the first
# on HR's dashboard. Labels are what HR reads; they name no clinical fact.
KINDS = {
    "declined": "Declined by the clinician",
    "clinician_cancelled": "Cancelled by the clinician",
    "no_show": "Did not attend",
    "clinician_unavailable": "Clinician unavailable on the booked day",
    "deadline_moved": "Appointment after a due date that moved earlier",
    "incident_withdrawn": "Incident withdrawn; appointment kept for HR to decide",
    "no_slots": "No free time before the due date",
    "proposal_expired": "Proposed time not answered in 48 hours",
    "license_expiring": "Clinician's license expires before the appointment",
    "reschedule_requested": "Officer asked to reschedule",
    "booked_late": "Booked after the due date",
    "unconfirmed": "Not confirmed by the clinician after 48 hours",
    "proposal_waiting": "New time proposed, waiting for the officer",
}
PRIORITY = {kind: n for n, kind in enumerate(KINDS)}
# Kinds that say more than "overdue" does: on the dashboard they come before it. The
# others (a request or a proposal in progress, a late booking HR chose, a slow
# confirmation) come after it, so an overdue evaluation stays counted as overdue.
BEFORE_OVERDUE = rules.BEFORE_OVERDUE
_OPEN_SQL = "resolved_at IS NULL"


class AttentionItem(db.Model):
    __tablename__ = "wellness_attention"
    __table_args__ = (
        # One open item of a kind per evaluation: raising it again is a no-op.
        Index("uq_wellness_attention_open", "evaluation_id", "kind", unique=True,
              sqlite_where=text(_OPEN_SQL), postgresql_where=text(_OPEN_SQL)),
        Index("ix_wellness_attention_open_since", "opened_at",
              sqlite_where=text(_OPEN_SQL), postgresql_where=text(_OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("wellness_evaluations.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # Scheduling facts for HR (a clinician's reason, the new due date); never clinical.
    detail: Mapped[str] = mapped_column(String(500), default="", server_default="")
    opened_at = mapped_column(UTCDateTime, nullable=False)
    resolved_at = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str] = mapped_column(String(60), default="", server_default="")
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
