"""Clinicians (HR manages them), their published hours and blocked days, free slots."""
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.department import today
from core.errors import DomainError, Forbidden
from core.models import Role
from core.rules import EMAIL_RE
from core.services import accounts
from wellness import rules
from wellness.models import ACTIVE_APPOINTMENT, Appointment, AvailabilityBlock, Clinician, Modality, WeeklyHours
from wellness.services.common import settings

FIELDS = ("name", "practice", "email", "phone", "license_number", "license_state", "license_expires",
          "trauma_specialty", "specialty_description", "modality", "address")


def list_clinicians(actor: Actor) -> list[Clinician]:
    actor.require(Role.HR)
    return db.session.scalars(select(Clinician).order_by(Clinician.name)).all()


def get(actor: Actor, clinician_id: int) -> Clinician:
    actor.require(Role.HR)
    return get_or_404(Clinician, clinician_id, "No such clinician.")


def _check(values: dict, clinician_id: int | None) -> dict:
    values = dict(values)
    values["email"] = values["email"].strip().lower()
    if not EMAIL_RE.match(values["email"]):
        raise DomainError("Enter a valid email address.")
    taken = db.session.scalar(select(Clinician.id).where(Clinician.email == values["email"]))
    if taken is not None and taken != clinician_id:
        raise DomainError(f"Another clinician already uses {values['email']}.")
    values["license_state"] = values["license_state"].strip().upper()
    values["modality"] = Modality(values["modality"])
    if values["modality"] in (Modality.IN_PERSON, Modality.BOTH) and not (values.get("address") or "").strip():
        raise DomainError("Give the address where officers are seen in person.")
    if values["trauma_specialty"] and not (values.get("specialty_description") or "").strip():
        raise DomainError("Describe the trauma specialty (for example: PTSD, critical-incident stress).")
    return values


def create(actor: Actor, **values) -> Clinician:
    """HR adds a clinician record. Commits."""
    actor.require(Role.HR)
    values = _check({k: values.get(k) for k in FIELDS}, None)
    clinician = Clinician(**values, created_at=clock.now())
    db.session.add(clinician)
    db.session.flush()
    record(actor, "clinician.created", target=f"clinician {clinician.id}", detail=clinician.name, private=True)
    db.session.commit()
    return clinician


def update(actor: Actor, clinician_id: int, **values) -> Clinician:
    """HR corrects a clinician record (a renewed license, a new address). Commits."""
    actor.require(Role.HR)
    clinician = get(actor, clinician_id)
    values = _check({k: values.get(k) for k in FIELDS}, clinician.id)
    changed = [k for k, v in values.items() if getattr(clinician, k) != v]
    for key, value in values.items():
        setattr(clinician, key, value)
    if changed:
        record(actor, "clinician.updated", target=f"clinician {clinician.id}", detail=", ".join(changed), private=True)
    db.session.commit()
    return clinician


def create_account(actor: Actor, clinician_id: int):
    """HR gives a clinician a Beacon account tied to the record; an invitation is sent. Commits."""
    actor.require(Role.HR)
    clinician = get(actor, clinician_id)
    if clinician.user_id is not None:
        raise DomainError("This clinician already has an account.")
    user = accounts.add_account(actor, email=clinician.email, name=clinician.name, roles={Role.CLINICIAN})
    clinician.user_id = user.id
    db.session.commit()
    return user


def _may_manage_hours(actor: Actor, clinician: Clinician) -> None:
    if actor.has_role(Role.HR):
        return
    if actor.has_role(Role.CLINICIAN) and clinician.user_id == actor.user_id:
        return
    raise Forbidden("You may only manage your own hours.")


def managed(actor: Actor, clinician_id: Clinician | int | None = None, *, hours_id: int | None = None,
            block_id: int | None = None) -> Clinician:
    """The clinician whose hours the actor may manage (HR: anyone; a clinician: their
    own), given, or found by its id or by one of its hours or blocked days. Forbidden
    otherwise."""
    if isinstance(clinician_id, Clinician):
        _may_manage_hours(actor, clinician_id)
        return clinician_id
    if hours_id is not None:
        clinician_id = get_or_404(WeeklyHours, hours_id).clinician_id
    if block_id is not None:
        clinician_id = get_or_404(AvailabilityBlock, block_id).clinician_id
    clinician = get_or_404(Clinician, clinician_id, "No such clinician.")
    _may_manage_hours(actor, clinician)
    return clinician


def add_hours(actor: Actor, clinician: Clinician | int, *, weekdays: list[int], starts: time, ends: time,
              slot_minutes: int, valid_from: date, valid_until: date | None = None) -> None:
    """The clinician (or HR for them) publishes weekly hours. Commits."""
    clinician = managed(actor, clinician)
    if not weekdays:
        raise DomainError("Choose at least one day of the week.")
    if ends <= starts:
        raise DomainError("The hours must end after they start.")
    if not 15 <= slot_minutes <= 240:
        raise DomainError("A slot lasts between 15 and 240 minutes.")
    if (datetime.combine(date.min, ends) - datetime.combine(date.min, starts)) < timedelta(minutes=slot_minutes):
        raise DomainError("The hours are shorter than one slot.")
    if valid_until and valid_until < valid_from:
        raise DomainError("The end date is before the start date.")
    for weekday in sorted(set(weekdays)):
        db.session.add(WeeklyHours(clinician_id=clinician.id, weekday=weekday, starts=starts, ends=ends,
                                   slot_minutes=slot_minutes, valid_from=valid_from, valid_until=valid_until))
    record(actor, "clinician.hours_added", target=f"clinician {clinician.id}",
           detail=f"days {sorted(set(weekdays))} {starts:%H:%M}-{ends:%H:%M}, {slot_minutes} min, from {valid_from}",
           private=True)
    db.session.commit()


def remove_hours(actor: Actor, hours_id: int) -> None:
    hours = get_or_404(WeeklyHours, hours_id)
    _may_manage_hours(actor, hours.clinician)
    record(actor, "clinician.hours_removed", target=f"clinician {hours.clinician_id}", private=True)
    db.session.delete(hours)
    db.session.commit()


def block_day(actor: Actor, clinician: Clinician | int, day: date, note: str = "", *, commit: bool = True) -> None:
    """The clinician (or HR) blocks a date. Appointments on it are handled first, by
    wellness.services.appointments.block_day, which calls this. Commits unless told not to."""
    clinician = managed(actor, clinician)
    exists = db.session.scalar(select(AvailabilityBlock.id).where(AvailabilityBlock.clinician_id == clinician.id,
                                                                  AvailabilityBlock.day == day))
    if exists:
        raise DomainError(f"{day:%d %B %Y} is already blocked.")
    db.session.add(AvailabilityBlock(clinician_id=clinician.id, day=day, note=note.strip()[:120]))
    record(actor, "clinician.day_blocked", target=f"clinician {clinician.id}", detail=str(day), private=True)
    if commit:
        db.session.commit()
    else:
        db.session.flush()


def unblock_day(actor: Actor, block_id: int) -> None:
    block = get_or_404(AvailabilityBlock, block_id)
    _may_manage_hours(actor, db.session.get(Clinician, block.clinician_id))
    record(actor, "clinician.day_unblocked", target=f"clinician {block.clinician_id}", detail=str(block.day),
           private=True)
    db.session.delete(block)
    db.session.commit()


def blocks(clinician: Clinician) -> list[AvailabilityBlock]:
    return db.session.scalars(select(AvailabilityBlock).where(AvailabilityBlock.clinician_id == clinician.id,
                                                              AvailabilityBlock.day >= today())
                              .order_by(AvailabilityBlock.day)).all()


def bookable_clinicians(on: date | None = None) -> list[Clinician]:
    """Trauma specialists whose license is valid on `on` (today by default)."""
    on = on or today()
    return [c for c in db.session.scalars(select(Clinician).order_by(Clinician.name))
            if rules.bookable(c.trauma_specialty, c.license_expires, on)]


def free_slots(clinician: Clinician, first_day: date | None = None, days: int | None = None,
               ignore_appointment: int | None = None) -> list[tuple[datetime, datetime]]:
    """The clinician's free slots from `first_day` for `days` days (the booking horizon),
    never in the past and never past the license's expiry; times held by a pending
    proposal are taken. Four queries."""
    s = settings()
    first_day = first_day or today()
    last_day = min(first_day + timedelta(days=(days or s.horizon_days) - 1), clinician.license_expires)
    hours = [rules.Hours(h.weekday, h.starts, h.ends, h.slot_minutes, h.valid_from, h.valid_until)
             for h in clinician.hours]
    blocked = set(db.session.scalars(select(AvailabilityBlock.day).where(
        AvailabilityBlock.clinician_id == clinician.id, AvailabilityBlock.day.between(first_day, last_day))))
    booked_query = select(Appointment.starts_at, Appointment.ends_at).where(
        Appointment.clinician_id == clinician.id, Appointment.status.in_(ACTIVE_APPOINTMENT),
        Appointment.starts_at >= clock.now() - timedelta(days=1))
    if ignore_appointment:
        booked_query = booked_query.where(Appointment.id != ignore_appointment)
    # A time a clinician proposed is held for the officer it was proposed to.
    held_query = select(Appointment.proposed_starts_at, Appointment.proposed_ends_at).where(
        Appointment.clinician_id == clinician.id, Appointment.status.in_(ACTIVE_APPOINTMENT),
        Appointment.proposed_starts_at.is_not(None), Appointment.proposed_ends_at.is_not(None),
        Appointment.proposed_starts_at >= clock.now() - timedelta(days=1))
    if ignore_appointment:
        held_query = held_query.where(Appointment.id != ignore_appointment)
    booked = [tuple(row) for row in db.session.execute(booked_query)]
    booked += [tuple(row) for row in db.session.execute(held_query)]
    return rules.slots(hours, first_day, last_day, s.zone, blocked, booked, not_before=clock.now())


def free_slot_count(until: date) -> int:
    """Free slots from now to the end of the local day `until`, across every clinician
    who can be booked: the capacity HR has for evaluations due by then."""
    first = today()
    if until < first:
        return 0
    return sum(len(free_slots(c, first, (until - first).days + 1)) for c in bookable_clinicians())


def expiring_licenses() -> list[Clinician]:
    """Clinicians whose license expires within the warning period (or has expired)."""
    s = settings()
    return db.session.scalars(select(Clinician).where(
        Clinician.license_expires <= today() + timedelta(days=s.license_warning_days))
        .order_by(Clinician.license_expires)).all()


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Clinician))
