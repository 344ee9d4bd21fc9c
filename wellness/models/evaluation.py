"""One wellness evaluation of one officer. No clinical content is ever stored."""
import enum
from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of
from core.errors import DomainError


class EvaluationKind(enum.StrEnum):
    ANNUAL = "annual"
    INCIDENT = "incident"


class EvaluationStatus(enum.StrEnum):
    OPEN = "open"            # to be booked
    SCHEDULED = "scheduled"  # an appointment is booked
    COMPLETED = "completed"  # the clinician recorded attendance
    CLOSED = "closed"        # no longer needed (officer separated)


OPEN_STATUSES = (EvaluationStatus.OPEN, EvaluationStatus.SCHEDULED)
# The partial unique index's predicate, as literal SQL. An ON CONFLICT that targets the
# index repeats it verbatim: with bound parameters instead, PostgreSQL cannot match the
# index once it plans the statement generically, and the insert fails.
ONE_OPEN_PREDICATE = "status IN ('open', 'scheduled')"


class WellnessEvaluation(db.Model):
    """Overdue and paused are not stored: they follow from the due date, today and the
    officer's roster status (wellness.rules.display_status)."""

    __tablename__ = "wellness_evaluations"
    __table_args__ = (
        # At most one evaluation in progress per officer: an incident joins the open one.
        Index("uq_wellness_evaluations_one_open", "officer_id", unique=True,
              sqlite_where=text(ONE_OPEN_PREDICATE), postgresql_where=text(ONE_OPEN_PREDICATE)),
        Index("ix_wellness_evaluations_status_due", "status", "due_on"),
        # HR's dashboard lists evaluations in progress by due date, 50 at a time: this
        # index lets the database read just those 50 in order instead of sorting all.
        Index("ix_wellness_evaluations_in_progress_due", "due_on", "id",
              sqlite_where=text(ONE_OPEN_PREDICATE), postgresql_where=text(ONE_OPEN_PREDICATE)),
        Index("ix_wellness_evaluations_officer_completed", "officer_id", "completed_on"),
        Index("ix_wellness_evaluations_status_completed", "status", "completed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    kind: Mapped[EvaluationKind] = mapped_column(
        enum_of(EvaluationKind, "evaluation_kind"))
    status: Mapped[EvaluationStatus] = mapped_column(
        enum_of(EvaluationStatus, "evaluation_status"), default=EvaluationStatus.OPEN)
    due_on: Mapped[date] = mapped_column(Date)
    opened_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    # While the officer is on leave the evaluation is paused; on return the due date
    # moves by the days spent on leave.
    paused_on: Mapped[date | None] = mapped_column(Date)
    # The due date it had before any incident joined it (annual evaluations), so that a
    # withdrawn or corrected incident can put it back; None for one an incident opened.
    base_due_on: Mapped[date | None] = mapped_column(Date)
    # The most pressing open item of HR's "Needs attention" list (wellness_attention),
    # kept here so the dashboard counts and filters it like any other state.
    attention: Mapped[str | None] = mapped_column(String(40))
    closed_reason: Mapped[str] = mapped_column(String(120), default="", server_default="")
    created_at = mapped_column(UTCDateTime, nullable=False)

    officer = relationship("Officer", lazy="joined", innerjoin=True)
    incident_links: Mapped[list["EvaluationIncident"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def mark_scheduled(self):
        if self.status != EvaluationStatus.OPEN:
            raise DomainError("Only an open evaluation can be booked.")
        self.status = EvaluationStatus.SCHEDULED

    def reopen(self):
        if self.status != EvaluationStatus.SCHEDULED:
            raise DomainError("Only a scheduled evaluation can be reopened.")
        self.status = EvaluationStatus.OPEN

    def complete(self, on: date):
        if self.status != EvaluationStatus.SCHEDULED:
            raise DomainError("Only a scheduled evaluation can be completed.")
        self.status = EvaluationStatus.COMPLETED
        self.completed_on = on
        self.paused_on = None

    def close(self, reason: str):
        if not self.is_open:
            raise DomainError("Only an evaluation in progress can be closed.")
        self.status = EvaluationStatus.CLOSED
        self.closed_reason = reason


class EvaluationIncident(db.Model):
    """The incidents an evaluation answers (an open one can take on later incidents)."""

    __tablename__ = "evaluation_incidents"

    evaluation_id: Mapped[int] = mapped_column(ForeignKey("wellness_evaluations.id", ondelete="CASCADE"),
                                               primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("critical_incidents.id"), primary_key=True, index=True)
    # The department day the officer was added to the incident (their window's floor).
    added_on: Mapped[date | None] = mapped_column(Date)
    # True when the incident opened this evaluation (it had none in progress).
    opened_evaluation: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
