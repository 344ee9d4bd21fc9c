"""A booked time between one officer and one clinician for one evaluation."""
import enum
from datetime import timedelta

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of
from core.errors import DomainError


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"                    # waiting for the clinician to confirm
    CONFIRMED = "confirmed"
    RESCHEDULE_REQUESTED = "reschedule_requested"  # the officer asked for another time
    DECLINED = "declined"                # the clinician cannot; HR sees the reason
    CANCELLED = "cancelled"              # replaced by another time, or called off
    ATTENDED = "attended"
    NO_SHOW = "no_show"


ACTIVE_APPOINTMENT = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULE_REQUESTED)
_ACTIVE_SQL = "status IN ('booked', 'confirmed', 'reschedule_requested')"
# An officer has one active appointment for their evaluation, and apart from it at most
# one active confidential self-referral.
_ACTIVE_EVALUATION_SQL = _ACTIVE_SQL + " AND NOT self_referral"
_ACTIVE_SELF_REFERRAL_SQL = _ACTIVE_SQL + " AND self_referral"


class Appointment(db.Model):
    """The database refuses double booking: one active appointment per clinician and
    start time, and one per officer (an officer has one evaluation in progress)."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("uq_appointments_clinician_slot", "clinician_id", "starts_at", unique=True,
              sqlite_where=text(_ACTIVE_SQL), postgresql_where=text(_ACTIVE_SQL)),
        Index("uq_appointments_officer_active", "officer_id", unique=True,
              sqlite_where=text(_ACTIVE_EVALUATION_SQL), postgresql_where=text(_ACTIVE_EVALUATION_SQL)),
        Index("uq_appointments_officer_self_referral", "officer_id", unique=True,
              sqlite_where=text(_ACTIVE_SELF_REFERRAL_SQL), postgresql_where=text(_ACTIVE_SELF_REFERRAL_SQL)),
        Index("ix_appointments_clinician_starts", "clinician_id", "starts_at"),
        Index("ix_appointments_evaluation", "evaluation_id"),
        Index("ix_appointments_status_starts", "status", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        # A self-referral answers no evaluation; every other appointment answers one.
        CheckConstraint("(self_referral AND evaluation_id IS NULL) OR "
                        "(NOT self_referral AND evaluation_id IS NOT NULL)", name="self_referral_has_no_evaluation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a confidential self-referral: a visit the officer booked on their own,
    # which counts for nothing in HR's figures (HR and command see monthly counts only).
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("wellness_evaluations.id"))
    self_referral: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_of(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED)
    # Calendar identity: one UID for the life of the booking, SEQUENCE up on each change.
    uid: Mapped[str] = mapped_column(String(120), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    decline_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # A time the clinician proposed instead, held for the officer until answered or expired.
    proposed_starts_at = mapped_column(UTCDateTime)
    proposed_ends_at = mapped_column(UTCDateTime)
    proposed_at = mapped_column(UTCDateTime)
    # Why HR booked a time after the due date (empty when it is on time).
    late_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    booked_at = mapped_column(UTCDateTime, nullable=False)
    confirmed_at = mapped_column(UTCDateTime)
    closed_at = mapped_column(UTCDateTime)

    evaluation = relationship("WellnessEvaluation", lazy="joined")
    clinician = relationship("Clinician", lazy="joined", innerjoin=True)
    officer = relationship("Officer", lazy="joined", innerjoin=True)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_APPOINTMENT

    def _require(self, allowed, action):
        if self.status not in allowed:
            raise DomainError(f"This appointment is {self.status.value.replace('_', ' ')}; it cannot be {action}.")

    def confirm(self, now):
        self._require((AppointmentStatus.BOOKED,), "confirmed")
        self.status = AppointmentStatus.CONFIRMED
        self.confirmed_at = now

    def decline(self, reason: str, now):
        """The clinician cannot keep it: before confirming (a decline) or after (a cancellation)."""
        self._require(ACTIVE_APPOINTMENT, "declined")
        reason = (reason or "").strip()
        if not reason:
            raise DomainError("Give HR a reason for declining.")
        self.status = AppointmentStatus.DECLINED
        self.decline_reason = reason[:500]
        self.closed_at = now

    def request_reschedule(self):
        self._require((AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED), "rescheduled")
        self.status = AppointmentStatus.RESCHEDULE_REQUESTED

    def propose(self, starts_at, ends_at, now):
        self._require(ACTIVE_APPOINTMENT, "given another time")
        self.proposed_starts_at, self.proposed_ends_at, self.proposed_at = starts_at, ends_at, now

    def proposal_held_until(self, hours: int):
        """When the hold on the proposed time ends: `hours` after proposing, or when
        the proposed time begins, whichever is first."""
        if self.proposed_starts_at is None or self.proposed_at is None:
            return None
        return min(self.proposed_at + timedelta(hours=hours), self.proposed_starts_at)

    def drop_proposal(self):
        self.proposed_starts_at = self.proposed_ends_at = self.proposed_at = None

    def move(self, starts_at, ends_at, now, *, confirmed: bool):
        """To another time (same calendar UID, next SEQUENCE). The clinician confirms
        again, unless it is the time they proposed themselves."""
        self._require(ACTIVE_APPOINTMENT, "moved")
        self.starts_at, self.ends_at = starts_at, ends_at
        self.status = AppointmentStatus.CONFIRMED if confirmed else AppointmentStatus.BOOKED
        self.booked_at = now  # reminders' lead times count from here
        self.confirmed_at = now if confirmed else None
        self.drop_proposal()
        self.sequence += 1

    def cancel(self, now):
        self._require(ACTIVE_APPOINTMENT, "cancelled")
        self.status = AppointmentStatus.CANCELLED
        self.closed_at = now

    def mark_attended(self, now):
        self._require((AppointmentStatus.CONFIRMED, AppointmentStatus.BOOKED), "marked attended")
        if now < self.starts_at:
            raise DomainError("Attendance can be recorded only once the appointment has begun.")
        self.status = AppointmentStatus.ATTENDED
        self.closed_at = now

    def mark_no_show(self, now):
        self._require((AppointmentStatus.CONFIRMED, AppointmentStatus.BOOKED), "marked as a no-show")
        if now < self.starts_at:
            raise DomainError("A no-show can be recorded only once the appointment time has come.")
        self.status = AppointmentStatus.NO_SHOW
        self.closed_at = now
