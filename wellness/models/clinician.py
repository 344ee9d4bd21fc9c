"""External clinicians and when they see officers."""
import enum
from datetime import date, time

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of


class Modality(enum.StrEnum):
    IN_PERSON = "in_person"
    TELEHEALTH = "telehealth"
    BOTH = "both"


class Clinician(db.Model):
    """A licensed professional outside the department. Bookable only with the trauma
    specialty and an unexpired license (see wellness.rules.bookable)."""

    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    practice: Mapped[str] = mapped_column(String(160), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    license_number: Mapped[str] = mapped_column(String(60))
    license_state: Mapped[str] = mapped_column(String(2))
    license_expires: Mapped[date] = mapped_column(Date, index=True)
    trauma_specialty: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    specialty_description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    modality: Mapped[Modality] = mapped_column(enum_of(Modality, "clinician_modality"))
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False)

    hours: Mapped[list["WeeklyHours"]] = relationship(back_populates="clinician", cascade="all, delete-orphan",
                                                      order_by="(WeeklyHours.weekday, WeeklyHours.starts)")

    @property
    def place(self) -> str:
        """Where the officer goes, in words for an invitation."""
        if self.modality == Modality.TELEHEALTH:
            return "by video (telehealth)"
        if self.modality == Modality.BOTH:
            return f"{self.address} or by video" if self.address else "in person or by video"
        return self.address or self.practice


class WeeklyHours(db.Model):
    """Published hours: on `weekday` from `starts` to `ends` (department time), cut
    into slots of `slot_minutes`, from `valid_from` (until `valid_until`, if set)."""

    __tablename__ = "clinician_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("ends > starts", name="ends_after_starts"),
        CheckConstraint("slot_minutes BETWEEN 15 AND 240", name="slot_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # Monday = 0
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)

    clinician: Mapped[Clinician] = relationship(back_populates="hours")


class AvailabilityBlock(db.Model):
    """A date the clinician does not see officers (holiday, training)."""

    __tablename__ = "clinician_blocks"
    __table_args__ = (db.UniqueConstraint("clinician_id", "day", name="uq_clinician_blocks_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(120), default="", server_default="")
