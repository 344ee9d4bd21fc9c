"""Appointments: booking a free slot, the clinician's confirm/decline/propose, the
officer's reschedule request, cancellation, and attendance.

Every message says only "appointment with <clinician> at <time, place>" and a link to
sign in: never the reason, the incident or its type. Each carries an .ics with the
booking's UID and a SEQUENCE that rises with every change.
"""
import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.errors import DomainError, NotFound
from core.models import OfficerStatus, Role, User
from core.services import outbox
from wellness import rules
from wellness.models import ACTIVE_APPOINTMENT, Appointment, AppointmentStatus, Clinician, WellnessEvaluation
from wellness.services import clinicians as clinician_service
from wellness.services import reminders
from wellness.services.calendar import appointment_ics
from wellness.services.common import clinician_of, hr_emails, linked_clinician, settings
from wellness.services.incidents import incidents_of

# News of an appointment, to the officer and the clinician (appointment_<event>) or to HR
# (appointment_<event>_hr): all health-related, so administrators see only that they exist.
for _event in ("booked", "confirmed", "declined", "reschedule_requested", "proposed", "rescheduled", "cancelled"):
    outbox.kind(f"appointment_{_event}", private=True)
for _event in ("declined", "reschedule_requested", "proposed", "no_show"):
    outbox.kind(f"appointment_{_event}_hr", private=True)

TAKEN = "That time was just taken by another booking. Choose another slot."


def _officer_id_of(actor: Actor) -> int | None:
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    return user.officer_id if user else None


def _may_book_for(actor: Actor, evaluation: WellnessEvaluation) -> None:
    """HR books anyone; an officer books only their own evaluation. Anyone else is
    told the evaluation does not exist (its existence is private)."""
    if actor.has_role(Role.HR):
        return
    if actor.has_role(Role.OFFICER) and _officer_id_of(actor) == evaluation.officer_id:
        return
    raise NotFound("Not found.")


def _appointment_for(actor: Actor, appointment: Appointment | int, *, officer=False, hr=False,
                     clinician=False) -> Appointment:
    """The appointment (given, or by id), if the actor may act on it in one of the given
    capacities. A view that loaded it for its page passes it in, so it is not loaded twice;
    the check is made again all the same, since the service owns it."""
    if not isinstance(appointment, Appointment):
        appointment = get_or_404(Appointment, appointment)
    if hr and actor.has_role(Role.HR):
        return appointment
    if officer and actor.has_role(Role.OFFICER) and _officer_id_of(actor) == appointment.officer_id:
        return appointment
    if clinician and actor.has_role(Role.CLINICIAN):
        mine = db.session.scalar(select(Clinician.id).where(Clinician.user_id == actor.user_id))
        if mine == appointment.clinician_id:
            return appointment
    raise NotFound("Not found.")


def _check_slot(clinician: Clinician, starts_at: datetime, ignore: int | None = None):
    """The (start, end) of a free slot starting at `starts_at`, or a clear refusal."""
    s = settings()
    day = starts_at.astimezone(s.zone).date()
    if not rules.bookable(clinician.trauma_specialty, clinician.license_expires, day):
        raise DomainError(f"{clinician.name} cannot be booked: Beacon books only trauma specialists with a "
                          "license valid on the day.")
    for start, end in clinician_service.free_slots(clinician, day, 1, ignore_appointment=ignore):
        if start == starts_at:
            return start, end
    raise DomainError(TAKEN if starts_at > clock.now() else "That time has passed. Choose another slot.")


def _hold_slot(clinician: Clinician, start: datetime, end: datetime, ignore: int | None = None) -> None:
    """Serialise bookings of one clinician (a row lock on PostgreSQL; SQLite has one
    writer anyway), then make sure nothing active overlaps: the unique index catches
    the same start, this catches overlapping slots of different lengths."""
    db.session.execute(select(Clinician.id).where(Clinician.id == clinician.id).with_for_update())
    clash = select(Appointment.id).where(Appointment.clinician_id == clinician.id,
                                         Appointment.status.in_(ACTIVE_APPOINTMENT),
                                         Appointment.starts_at < end, Appointment.ends_at > start)
    if ignore is not None:
        clash = clash.where(Appointment.id != ignore)
    if db.session.scalar(clash.limit(1)) is not None:
        db.session.rollback()
        raise DomainError(TAKEN)


def book(actor: Actor, evaluation: WellnessEvaluation | int, clinician_id: int, starts_at: datetime) -> Appointment:
    """HR, or the officer for their own evaluation, books a free slot of an eligible
    clinician. The database refuses a second booking of the slot (the loser gets a
    clear error) and a second active appointment for the officer. The officer and the
    clinician get an invitation. Commits."""
    if not isinstance(evaluation, WellnessEvaluation):
        evaluation = get_or_404(WellnessEvaluation, evaluation)
    _may_book_for(actor, evaluation)
    if evaluation.status.value != "open":
        raise DomainError("This evaluation already has an appointment, or is finished.")
    if evaluation.officer.status == OfficerStatus.SEPARATED:
        raise DomainError("This officer is separated.")
    clinician = get_or_404(Clinician, clinician_id, "No such clinician.")
    start, end = _check_slot(clinician, starts_at)
    _hold_slot(clinician, start, end)
    now = clock.now()
    appointment = Appointment(evaluation_id=evaluation.id, clinician_id=clinician.id, officer_id=evaluation.officer_id,
                              starts_at=start, ends_at=end, status=AppointmentStatus.BOOKED,
                              uid=f"{uuid.uuid4()}@beacon", sequence=0, booked_by_id=actor.user_id, booked_at=now)
    evaluation.mark_scheduled()
    db.session.add(appointment)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(TAKEN) from None
    reminders.drop_for_evaluation(evaluation.id)
    record(actor, "appointment.booked", target=f"appointment {appointment.id}",
           detail=f"officer {evaluation.officer.badge_number} with clinician {clinician.id}", private=True)
    _invite(appointment, "booked")
    db.session.commit()
    return appointment


def confirm(actor: Actor, appointment: Appointment | int) -> None:
    """The clinician confirms. The officer is told. Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    appointment.confirm(clock.now())
    record(actor, "appointment.confirmed", target=f"appointment {appointment.id}", private=True)
    _notify(appointment, "confirmed", to_clinician=False)
    db.session.commit()


def decline(actor: Actor, appointment: Appointment | int, reason: str) -> None:
    """The clinician declines, with a reason for HR (scheduling, not clinical). The
    evaluation opens again for another booking; the officer gets a cancellation. Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    appointment.decline(reason, clock.now())
    appointment.evaluation.reopen()
    reminders.drop_for_appointment(appointment)
    appointment.sequence += 1
    record(actor, "appointment.declined", target=f"appointment {appointment.id}", private=True)
    _invite(appointment, "declined", cancelled=True)
    _tell_hr(appointment, "declined")
    db.session.commit()


def request_reschedule(actor: Actor, appointment: Appointment | int) -> None:
    """The officer asks for another time; HR and the clinician are told. Commits."""
    appointment = _appointment_for(actor, appointment, officer=True)
    appointment.request_reschedule()
    record(actor, "appointment.reschedule_requested", target=f"appointment {appointment.id}", private=True)
    _tell_hr(appointment, "reschedule_requested")
    _notify(appointment, "reschedule_requested", to_officer=False)
    db.session.commit()


def propose(actor: Actor, appointment: Appointment | int, starts_at: datetime) -> None:
    """The clinician proposes another of their free slots; the officer or HR accepts it. Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    _check_slot(appointment.clinician, starts_at, ignore=appointment.id)
    appointment.propose(starts_at)
    record(actor, "appointment.time_proposed", target=f"appointment {appointment.id}", private=True)
    _notify(appointment, "proposed", to_clinician=False)
    _tell_hr(appointment, "proposed")
    db.session.commit()


def reschedule(actor: Actor, appointment: Appointment | int, starts_at: datetime) -> None:
    """HR or the officer moves the appointment to another free slot of the same
    clinician (or accepts the clinician's proposal). Same calendar UID, higher
    SEQUENCE; the clinician confirms again. Commits."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    if not appointment.is_active:
        raise DomainError("Only a booked appointment can be moved.")
    start, end = _check_slot(appointment.clinician, starts_at, ignore=appointment.id)
    _hold_slot(appointment.clinician, start, end, ignore=appointment.id)
    appointment.starts_at, appointment.ends_at = start, end
    appointment.status = AppointmentStatus.BOOKED
    appointment.booked_at = clock.now()  # the clinician's 48 hours to confirm start again
    appointment.confirmed_at = None
    appointment.proposed_starts_at = None
    reminders.drop_for_appointment(appointment)
    appointment.sequence += 1
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(TAKEN) from None
    record(actor, "appointment.rescheduled", target=f"appointment {appointment.id}", private=True)
    _invite(appointment, "rescheduled")
    db.session.commit()


def cancel(actor: Actor, appointment: Appointment | int) -> None:
    """HR or the officer calls the appointment off; the evaluation opens again and both
    calendars get a cancellation. Commits."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    appointment.cancel(clock.now())
    appointment.evaluation.reopen()
    reminders.drop_for_appointment(appointment)
    appointment.sequence += 1
    record(actor, "appointment.cancelled", target=f"appointment {appointment.id}", private=True)
    _invite(appointment, "cancelled", cancelled=True)
    db.session.commit()


def cancel_for_separation(appointment: Appointment, now) -> None:
    """The daily sweep calls this, in its transaction, for an active appointment of an
    officer who has left: called off, its reminders dropped, the clinician's calendar
    told (the officer's address is no longer the department's to write to)."""
    appointment.cancel(now)
    reminders.drop_for_appointment(appointment)
    appointment.sequence += 1
    record(Actor.system("wellness sweep"), "appointment.cancelled", target=f"appointment {appointment.id}",
           detail="officer separated", private=True)
    _invite(appointment, "cancelled", cancelled=True, to_officer=False)


def record_attendance(actor: Actor, appointment: Appointment | int, attended: bool) -> None:
    """After the visit the clinician records attended (the evaluation is completed) or
    no-show (it opens again and HR is told). Nothing else is recorded. Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    now = clock.now()
    reminders.drop_for_appointment(appointment)
    if attended:
        appointment.mark_attended(now)
        appointment.evaluation.complete(now.astimezone(settings().zone).date())
        record(actor, "appointment.attended", target=f"appointment {appointment.id}", private=True)
    else:
        appointment.mark_no_show(now)
        appointment.evaluation.reopen()
        record(actor, "appointment.no_show", target=f"appointment {appointment.id}", private=True)
        _tell_hr(appointment, "no_show")
    db.session.commit()


# --- what clinicians and officers see ----------------------------------------------------

def for_clinician(actor: Actor) -> tuple[Clinician, list[Appointment]]:
    """A clinician's own appointments: the officers booked with them and nothing else."""
    clinician = clinician_of(actor)
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.clinician_id == clinician.id)
        .order_by(Appointment.starts_at.desc()).limit(500)).all()
    return clinician, appointments


def list_for_clinician(actor: Actor) -> tuple[Clinician, list[Appointment], list]:
    """The clinician's appointments page (a view of officers' records: audited), with
    the reminders still to come for their upcoming appointments."""
    clinician, items = for_clinician(actor)
    now = clock.now()
    upcoming = sorted(((when, what, a) for a in items if a.is_active and a.starts_at > now
                       for when, what in reminders.upcoming(None, a.starts_at)), key=lambda t: (t[0], t[2].id))
    record(actor, "appointment.list_viewed", target=f"clinician {clinician.id}", detail=f"{len(items)} appointment(s)",
           private=True)
    db.session.commit()
    return clinician, items, upcoming[:20]


def view_for_clinician(actor: Actor, appointment_id: int):
    """One appointment, with the incident details a clinician needs for an incident
    evaluation. Audited."""
    appointment = _appointment_for(actor, appointment_id, clinician=True)
    record(actor, "appointment.viewed", target=f"appointment {appointment.id}", private=True)
    db.session.commit()
    return appointment, incidents_for_clinician(appointment)


def incidents_for_clinician(appointment: Appointment) -> list:
    """The incidents a clinician may read for this appointment: while it is active,
    those behind the evaluation; once it has ended, only those recorded before it ended
    (a later incident belongs to whoever sees the officer next)."""
    linked = incidents_of(appointment.evaluation)
    if appointment.is_active:
        return linked
    if appointment.status != AppointmentStatus.ATTENDED or appointment.closed_at is None:
        return []
    return [incident for incident in linked if incident.created_at <= appointment.closed_at]


def get_for_clinician(actor: Actor, appointment_id: int) -> Appointment:
    """The appointment, if it is with the acting clinician (404 otherwise)."""
    return _appointment_for(actor, appointment_id, clinician=True)


def get_for_officer_or_hr(actor: Actor, appointment_id: int) -> Appointment:
    return _appointment_for(actor, appointment_id, officer=True, hr=True)


def evaluation_for_booking(actor: Actor, evaluation_id: int) -> WellnessEvaluation:
    evaluation = get_or_404(WellnessEvaluation, evaluation_id)
    _may_book_for(actor, evaluation)
    return evaluation


# --- messages ------------------------------------------------------------------------------

def _when(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(settings().zone)
    return local.strftime("%A %d %B %Y at %H:%M %Z")


def _ics(appointment: Appointment, cancelled: bool) -> str:
    zone = settings().zone
    officer, clinician = appointment.officer, appointment.clinician
    return appointment_ics(
        uid=appointment.uid, sequence=appointment.sequence, starts_at=appointment.starts_at,
        ends_at=appointment.ends_at, zone=zone, summary=f"Appointment with {clinician.name}",
        location=clinician.place, description=f"Sign in to Beacon to see it: {current_app.config['BASE_URL']}/",
        organizer=current_app.config["MAIL_FROM"].rsplit("<", 1)[-1].strip(" >"),
        attendees=[(officer.full_name, officer.email), (clinician.name, clinician.email)],
        stamp=clock.now(), cancelled=cancelled, confirmed=appointment.status == AppointmentStatus.CONFIRMED)


def _subject(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(settings().zone)
    return f"Beacon: appointment on {local.day} {local:%B}"


def _invite(appointment: Appointment, event: str, cancelled: bool = False, to_officer: bool = True,
            to_clinician: bool = True) -> None:
    ics = _ics(appointment, cancelled)
    method = "CANCEL" if cancelled else "REQUEST"
    for who, email, name in _recipients(appointment, to_officer, to_clinician):
        outbox.enqueue(kind=f"appointment_{event}", recipient=email, subject=_subject(appointment),
                       body=outbox.render_email("appointment.txt", event=event, who=who, name=name,
                                                appointment=appointment, when=_when(appointment)),
                       dedup_key=f"appt:{appointment.id}:{who}:{event}:{appointment.sequence}",
                       ics=ics, ics_method=method, expires_at=_moot_at(appointment))


def _notify(appointment: Appointment, event: str, to_officer: bool = True, to_clinician: bool = True) -> None:
    for who, email, name in _recipients(appointment, to_officer, to_clinician):
        outbox.enqueue(kind=f"appointment_{event}", recipient=email, subject=_subject(appointment),
                       body=outbox.render_email("appointment.txt", event=event, who=who, name=name,
                                                appointment=appointment, when=_when(appointment)),
                       dedup_key=f"appt:{appointment.id}:{who}:{event}:{appointment.sequence}:"
                                 f"{appointment.proposed_starts_at or ''}", expires_at=_moot_at(appointment))


def _moot_at(appointment: Appointment):
    """When news of this appointment stops mattering to the officer and the clinician:
    once it (or the time proposed instead) has begun, a late email would only mislead.
    HR's notices have no such end: HR must learn of a decline or a no-show."""
    return max(appointment.starts_at, appointment.proposed_starts_at or appointment.starts_at)


def _recipients(appointment, to_officer, to_clinician):
    if to_officer:
        yield "officer", appointment.officer.email, appointment.officer.full_name
    if to_clinician:
        yield "clinician", appointment.clinician.email, appointment.clinician.name


def _tell_hr(appointment: Appointment, event: str) -> None:
    for email in hr_emails():
        outbox.enqueue(kind=f"appointment_{event}_hr", recipient=email, subject=_subject(appointment),
                       body=outbox.render_email("appointment_hr.txt", event=event, appointment=appointment,
                                                when=_when(appointment)),
                       dedup_key=f"appt:{appointment.id}:hr:{email}:{event}:{appointment.sequence}:"
                                 f"{appointment.proposed_starts_at or ''}")



def clinician_todo(actor: Actor) -> dict:
    """A clinician's home panel: bookings to confirm, attendance to record, what is next.
    An account not (yet) tied to a clinician record sees a note instead of an error."""
    if linked_clinician(actor) is None:
        return {"unlinked": True, "to_confirm": [], "to_record": [], "upcoming": []}
    clinician, items = for_clinician(actor)
    now = clock.now()
    return {
        "to_confirm": [a for a in items if a.status == AppointmentStatus.BOOKED and a.starts_at > now],
        "to_record": [a for a in items if a.is_active and a.starts_at <= now],
        "upcoming": sorted((a for a in items if a.is_active and a.starts_at > now), key=lambda a: a.starts_at)[:5],
    }
