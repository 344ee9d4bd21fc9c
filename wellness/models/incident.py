"""Critical incidents: traumatic events that make evaluations due sooner."""
from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db


class IncidentType(db.Model):
    """A kind of event the department recognises, with the days within which an
    affected officer's evaluation must happen."""

    __tablename__ = "incident_types"
    __table_args__ = (CheckConstraint("window_days BETWEEN 1 AND 365", name="window_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    window_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class CriticalIncident(db.Model):
    __tablename__ = "critical_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("incident_types.id"))
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    description: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, nullable=False)
    updated_at = mapped_column(UTCDateTime)
    # Recorded by mistake: kept for the record, no longer counted for any evaluation.
    withdrawn_at = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")

    type: Mapped[IncidentType] = relationship(lazy="joined", innerjoin=True)


class IncidentUnit(db.Model):
    """A whole unit the incident affected (everyone in it at the time)."""

    __tablename__ = "incident_units"

    incident_id: Mapped[int] = mapped_column(ForeignKey("critical_incidents.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class IncidentOfficer(db.Model):
    """An officer the incident affected, chosen by name or through their unit."""

    __tablename__ = "incident_officers"

    incident_id: Mapped[int] = mapped_column(ForeignKey("critical_incidents.id", ondelete="CASCADE"), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), primary_key=True, index=True)
    via_unit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
