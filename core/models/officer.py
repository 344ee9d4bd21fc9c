"""The roster: officers and the units they belong to."""
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of


class OfficerStatus(enum.StrEnum):
    ACTIVE = "active"
    LEAVE = "leave"
    SEPARATED = "separated"


class Unit(db.Model):
    """A team officers belong to (district, platoon, squad)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class Officer(db.Model):
    """A sworn member on the roster. Upserted by badge number from the HR import."""

    __tablename__ = "officers"
    __table_args__ = (
        CheckConstraint("supervisor_id IS NULL OR supervisor_id <> id", name="not_own_supervisor"),
        Index("ix_officers_unit_status", "unit_id", "status"),
        Index("ix_officers_last_first", "last_name", "first_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    badge_number: Mapped[str] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    rank: Mapped[str] = mapped_column(String(60))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    hire_date: Mapped["Date"] = mapped_column(Date)
    status: Mapped[OfficerStatus] = mapped_column(
        enum_of(OfficerStatus, "officer_status"),
        default=OfficerStatus.ACTIVE,
    )
    created_at = mapped_column(UTCDateTime, nullable=False)
    updated_at = mapped_column(UTCDateTime, nullable=False)

    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    supervisor: Mapped["Officer | None"] = relationship(remote_side=[id], lazy="select")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        return f"{self.rank} {self.first_name} {self.last_name} (#{self.badge_number})"


class SupervisorSpell(db.Model):
    """Who supervised an officer, from when to when: the roster import opens a spell
    when an officer's supervisor changes and ends the one before. A 360 cycle reads it
    to find everyone who supervised a subject for a good part of its period. A spell
    with no start began before the history was kept (the first import or migration)."""

    __tablename__ = "supervisor_spells"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on", name="spell_in_order"),
        Index("ix_supervisor_spells_officer", "officer_id", "ended_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    started_on: Mapped["Date | None"] = mapped_column(Date)
    ended_on: Mapped["Date | None"] = mapped_column(Date)
