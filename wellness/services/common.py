"""What the wellness services share: settings, the department's zone, who is acting."""
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from core.audit import Actor
from core.db import db
from core.errors import Forbidden
from core.models import AccountStatus, Role, User, UserRole
from wellness.models import Clinician


@dataclass(frozen=True)
class Settings:
    interval_months: int
    first_rule: str
    open_window_days: int
    license_warning_days: int
    horizon_days: int
    zone: ZoneInfo


def settings() -> Settings:
    c = current_app.config
    return Settings(c["WELLNESS_INTERVAL_MONTHS"], c["WELLNESS_FIRST_RULE"], c["WELLNESS_OPEN_WINDOW_DAYS"],
                    c["LICENSE_WARNING_DAYS"], c["BOOKING_HORIZON_DAYS"], ZoneInfo(c["BEACON_TIMEZONE"]))


def linked_clinician(actor: Actor) -> Clinician | None:
    """The clinician record of a signed-in clinician, or None if HR has not tied one yet."""
    actor.require(Role.CLINICIAN)
    return db.session.scalar(select(Clinician).where(Clinician.user_id == actor.user_id))


def clinician_of(actor: Actor) -> Clinician:
    """The clinician record of a signed-in clinician."""
    actor.require(Role.CLINICIAN)
    clinician = db.session.scalar(select(Clinician).where(Clinician.user_id == actor.user_id))
    if clinician is None:
        raise Forbidden("Your account is not tied to a clinician record; ask HR.")
    return clinician


def hr_emails() -> list[str]:
    """Active HR accounts: who is told about declines, no-shows and licenses."""
    return list(db.session.scalars(
        select(User.email).join(UserRole).where(UserRole.role == Role.HR, User.status == AccountStatus.ACTIVE)
        .order_by(User.email)))
