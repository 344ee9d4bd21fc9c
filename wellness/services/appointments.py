"""Appointments: booking a free slot (by the due date, or after it only by HR with a
reason), the clinician's confirm/decline/cancel/propose, the officer's answer to a
proposal or request to reschedule, cancellation, attendance, and blocking a day that
has appointments on it.

Every message to the officer or the clinician says only "appointment with <clinician>
at <time, place>" and a link to sign in: never the reason, the incident or its type. Each
that moves or confirms carries an .ics with the booking's UID and a higher SEQUENCE.
What HR must act on goes to the "Needs attention" list (wellness.services.attention),
whose messages to HR name the officer.
"""
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock, department
from core.audit import CONFIDENTIAL, Actor, record
from core.db import db, get_or_404
from core.errors import DomainError, NotFound
from core.models import AuditEntry, OfficerStatus, Role, User
from core.pagination import Page, paginate
from core.services import outbox
from core.suppression import Cell, count_cell
from wellness import rules
from wellness.models import (
    ACTIVE_APPOINTMENT,
    Appointment,
    AppointmentStatus,
    AttentionItem,
    AvailabilityBlock,
    Clinician,
    EvaluationKind,
    WellnessEvaluation,
)
from wellness.services import attention, reminders
from wellness.services import clinicians as clinician_service
from wellness.services.calendar import appointment_ics, summary_for
from wellness.services.common import clinician_of, hr_emails, linked_clinician, settings
from wellness.services.private_address import wellness_address
from wellness.services import incidents as incident_service

# News of an appointment to the officer and the clinician, one kind per event: all
# health-related, so administrators see only that they exist. HR's news is attention_hr.
EVENTS = ("booked", "confirmed", "accepted", "declined", "cancelled", "reschedule_requested", "proposed",
          "proposal_refused", "rescheduled", "no_show", "move_earlier", "restored")
for _event in EVENTS:
    outbox.kind(f"appointment_{_event}", private=True)

TAKEN = "That time was just taken by another booking. Choose another slot."
PROPOSAL_HOURS = 48  # a proposed time is held this long for the officer


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
    # A confidential self-referral is the officer's and the clinician's only: HR may not
    # know it exists (404, as for any record one may not know).
    if hr and actor.has_role(Role.HR) and not appointment.self_referral:
        return appointment
    if officer and actor.has_role(Role.OFFICER) and _officer_id_of(actor) == appointment.officer_id:
        return appointment
    if clinician and actor.has_role(Role.CLINICIAN):
        mine = db.session.scalar(select(Clinician.id).where(Clinician.user_id == actor.user_id))
        if mine == appointment.clinician_id:
            return appointment
    raise NotFound("Not found.")


def _target(appointment: Appointment) -> str:
    """The audit target of an appointment. A self-referral's is marked confidential
    (core.audit.CONFIDENTIAL): HR's wellness audit shows such entries without who or
    from where; the officer's own "who looked" list shows them in full."""
    plain = f"appointment {appointment.id}"
    return CONFIDENTIAL + plain if appointment.self_referral else plain


def _day(moment: datetime) -> date:
    return moment.astimezone(settings().zone).date()


def is_late(evaluation: WellnessEvaluation | None, starts_at: datetime) -> bool:
    """After the evaluation's due date (on the department's calendar); a self-referral
    (no evaluation) is never late."""
    return evaluation is not None and _day(starts_at) > evaluation.due_on


def declined_times(officer_id: int, clinician_id: int) -> set[datetime]:
    """Times this clinician declined for this officer: not offered to them again."""
    return set(db.session.scalars(select(Appointment.starts_at).where(
        Appointment.officer_id == officer_id, Appointment.clinician_id == clinician_id,
        Appointment.status == AppointmentStatus.DECLINED, Appointment.starts_at > clock.now())))


def _free(clinician: Clinician, officer_id: int, first_day: date | None = None, days: int | None = None,
          ignore: int | None = None) -> list[tuple[datetime, datetime]]:
    """The clinician's free slots that may be offered to this officer."""
    declined = declined_times(officer_id, clinician.id)
    return [slot for slot in clinician_service.free_slots(clinician, first_day, days, ignore_appointment=ignore)
            if slot[0] not in declined]


def _check_slot(clinician: Clinician, starts_at: datetime, officer_id: int, ignore: int | None = None):
    """The (start, end) of a free slot starting at `starts_at`, or a clear refusal."""
    day = _day(starts_at)
    if not rules.bookable(clinician.trauma_specialty, clinician.license_expires, day):
        raise DomainError(f"{clinician.name} cannot be booked: Beacon books only trauma specialists with a "
                          "license valid on the day.")
    for start, end in _free(clinician, officer_id, day, 1, ignore):
        if start == starts_at:
            return start, end
    if starts_at in declined_times(officer_id, clinician.id):
        raise DomainError("The clinician cannot see this officer at that time. Choose another slot.")
    raise DomainError(TAKEN if starts_at > clock.now() else "That time has passed. Choose another slot.")


def _hold_slot(clinician: Clinician, start: datetime, end: datetime, ignore: int | None = None) -> None:
    """Serialise bookings of one clinician (a row lock on PostgreSQL; SQLite has one
    writer anyway), then make sure nothing active overlaps, booked or proposed: the
    unique index catches the same start, this catches overlapping slots of different
    lengths and times held for another officer's answer."""
    db.session.execute(select(Clinician.id).where(Clinician.id == clinician.id).with_for_update())
    mine = [Appointment.clinician_id == clinician.id, Appointment.status.in_(ACTIVE_APPOINTMENT)]
    if ignore is not None:
        mine.append(Appointment.id != ignore)
    booked = select(Appointment.id).where(*mine, Appointment.starts_at < end, Appointment.ends_at > start)
    held = select(Appointment.id).where(*mine, Appointment.proposed_starts_at < end,
                                        Appointment.proposed_ends_at > start)
    if db.session.scalar(booked.limit(1)) is not None or db.session.scalar(held.limit(1)) is not None:
        db.session.rollback()
        raise DomainError(TAKEN)


def _late_check(actor: Actor, evaluation: WellnessEvaluation, start: datetime, late_reason: str,
                late_confirmed: bool) -> str:
    """A time after the due date: only HR, with an explicit confirmation and a reason.
    Returns the reason to keep ("" for a time on or before the due date)."""
    if not is_late(evaluation, start):
        return ""
    if not actor.has_role(Role.HR):
        raise DomainError(f"That time is after the due date ({evaluation.due_on:%d %B %Y}). Choose an earlier "
                          "time, or ask HR.")
    late_reason = (late_reason or "").strip()
    if not late_confirmed or not late_reason:
        raise LateBooking("This time is after the due date: confirm it and give a reason.")
    return late_reason[:500]


class LateBooking(DomainError):
    """A booking after the due date without HR's confirmation and reason."""


@dataclass
class BookingOptions:
    """What the booking page offers: the clinicians, the chosen one's free times by the
    due date, and (for HR only) those after it, shown apart."""
    clinicians: list[Clinician]
    chosen: Clinician | None
    on_time: list = field(default_factory=list)
    late: list = field(default_factory=list)
    none_on_time: bool = False  # no clinician at all has a free time by the due date


def booking_options(actor: Actor, evaluation: WellnessEvaluation, clinician_id: int | None,
                    appointment: Appointment | None = None) -> BookingOptions:
    """Free times split at the due date. An officer is offered only those by the due
    date; when no clinician has any, HR is alerted (once, on the Needs attention list)
    and the page tells the officer to contact HR."""
    _may_book_for(actor, evaluation)
    hr = actor.has_role(Role.HR)
    ignore = appointment.id if appointment else None
    if appointment is not None:
        options = [appointment.clinician]
        chosen = appointment.clinician
    else:
        options = clinician_service.bookable_clinicians()
        chosen = next((c for c in options if c.id == clinician_id), None)
    result = BookingOptions(options, chosen)
    if chosen is not None:
        slots = _free(chosen, evaluation.officer_id, ignore=ignore)
        result.on_time = [s for s in slots if not is_late(evaluation, s[0])]
        result.late = [s for s in slots if is_late(evaluation, s[0])] if hr else []
    if evaluation.is_open and (chosen is None or not result.on_time):
        first = clock.now()
        days = (evaluation.due_on - _day(first)).days + 1
        result.none_on_time = days <= 0 or not any(
            _free(c, evaluation.officer_id, None, days, ignore) for c in options)
    if result.none_on_time and not hr and evaluation.status.value == "open":
        if attention.raise_item(evaluation, "no_slots", actor=actor,
                                detail=f"The officer found no free time by {evaluation.due_on:%d %B %Y}."):
            db.session.commit()
    return result


def book(actor: Actor, evaluation: WellnessEvaluation | int, clinician_id: int, starts_at: datetime, *,
         late_reason: str = "", late_confirmed: bool = False) -> Appointment:
    """HR, or the officer for their own evaluation, books a free slot of an eligible
    clinician: by the due date, or after it only by HR with a confirmation and a reason
    (kept on the appointment, and on the Needs attention list until attended). The
    database refuses a second booking of the slot (the loser gets a clear error) and a
    second active appointment for the officer. The officer and the clinician get an
    invitation. Commits."""
    if not isinstance(evaluation, WellnessEvaluation):
        evaluation = get_or_404(WellnessEvaluation, evaluation)
    _may_book_for(actor, evaluation)
    if evaluation.status.value != "open":
        raise DomainError("This evaluation already has an appointment, or is finished.")
    if evaluation.officer.status == OfficerStatus.SEPARATED:
        raise DomainError("This officer is separated.")
    clinician = get_or_404(Clinician, clinician_id, "No such clinician.")
    start, end = _check_slot(clinician, starts_at, evaluation.officer_id)
    reason = _late_check(actor, evaluation, start, late_reason, late_confirmed)
    _hold_slot(clinician, start, end)
    now = clock.now()
    appointment = Appointment(evaluation_id=evaluation.id, clinician_id=clinician.id, officer_id=evaluation.officer_id,
                              starts_at=start, ends_at=end, status=AppointmentStatus.BOOKED,
                              uid=f"{uuid.uuid4()}@beacon", sequence=0, booked_by_id=actor.user_id, booked_at=now,
                              late_reason=reason)
    evaluation.mark_scheduled()
    db.session.add(appointment)
    _flush_or_taken()
    reminders.drop_for_evaluation(evaluation.id)
    record(actor, "appointment.booked", target=_target(appointment),
           detail=f"officer {evaluation.officer.badge_number} with clinician {clinician.id}"
                  + (f"; after the due date {evaluation.due_on}: {reason}" if reason else ""), private=True)
    attention.resolve(evaluation, attention.ANSWERED_BY_BOOKING, actor=actor, resolution="rebooked")
    if reason:
        attention.raise_item(evaluation, "booked_late", actor=actor, appointment=appointment, detail=reason,
                             tell_hr=False)
    _invite(appointment, "booked")
    db.session.commit()
    return appointment


# --- confidential self-referrals -------------------------------------------------------------

@dataclass
class SelfReferralOptions:
    """The self-referral page: the officer's active one, or the clinicians and the
    chosen one's free times."""
    active: Appointment | None
    clinicians: list[Clinician]
    chosen: Clinician | None
    slots: list = field(default_factory=list)


def _self_referrer(actor: Actor) -> int:
    """The officer booking a visit for themself (their roster id); anyone else 404s."""
    officer_id = _officer_id_of(actor) if actor.has_role(Role.OFFICER) else None
    if officer_id is None:
        raise NotFound("Not found.")
    return officer_id


def active_self_referral(officer_id: int) -> Appointment | None:
    return db.session.scalar(select(Appointment).where(Appointment.officer_id == officer_id,
                                                       Appointment.self_referral.is_(True),
                                                       Appointment.status.in_(ACTIVE_APPOINTMENT)))


def self_referral_options(actor: Actor, clinician_id: int | None) -> SelfReferralOptions:
    """What the officer may book on their own: the bookable clinicians (trauma specialists
    with a license valid on the day) and the chosen one's free times."""
    officer_id = _self_referrer(actor)
    active = active_self_referral(officer_id)
    options = clinician_service.bookable_clinicians()
    chosen = next((c for c in options if c.id == clinician_id), options[0] if options else None)
    slots = _free(chosen, officer_id) if chosen is not None and active is None else []
    return SelfReferralOptions(active, options, chosen, slots)


def book_self_referral(actor: Actor, clinician_id: int, starts_at: datetime) -> Appointment:
    """The officer books an extra visit on their own: a confidential self-referral. It
    answers no evaluation and counts for nothing in HR's figures; HR cannot open it and is
    never told of it (no Needs attention item, no HR email); HR and command see only
    monthly counts under the suppression rule. The clinician sees it as any booking, and
    both get the invitation and reminders as for any appointment. One active self-referral
    per officer (the database holds that too). Audited in the wellness log as a booking,
    without detail. Commits."""
    officer_id = _self_referrer(actor)
    if active_self_referral(officer_id) is not None:
        raise DomainError("You already have a visit booked on your own. Cancel it first to choose another time.")
    clinician = get_or_404(Clinician, clinician_id, "No such clinician.")
    start, end = _check_slot(clinician, starts_at, officer_id)
    _hold_slot(clinician, start, end)
    now = clock.now()
    appointment = Appointment(evaluation_id=None, self_referral=True, clinician_id=clinician.id,
                              officer_id=officer_id, starts_at=start, ends_at=end, status=AppointmentStatus.BOOKED,
                              uid=f"{uuid.uuid4()}@beacon", sequence=0, booked_by_id=actor.user_id, booked_at=now)
    db.session.add(appointment)
    _flush_or_taken()
    record(actor, "appointment.booked", target=_target(appointment), private=True)
    _invite(appointment, "booked")
    db.session.commit()
    return appointment


def self_referral_months(actor: Actor, months: int = 6) -> list[tuple[date, Cell]]:
    """HR's view of confidential self-referrals: visits per month for the last `months`,
    each under the suppression rule (SUPPRESSION_THRESHOLD): never who, never a small count."""
    actor.require(Role.HR)
    threshold = current_app.config["SUPPRESSION_THRESHOLD"]
    return [(first, count_cell(n, threshold)) for first, n in self_referral_counts(department.today(), months)]


def _month_firsts(end: date, months: int) -> list[date]:
    firsts, first = [], end.replace(day=1)
    for _ in range(months):
        firsts.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(firsts))


def self_referral_counts(end: date, months: int = 12) -> list[tuple[date, int]]:
    """(first day of the month, visits) for each of `months` months up to `end`:
    confidential self-referrals by the month of the visit (department time), cancelled and
    declined ones left out. Raw counts: callers show them through the suppression rule."""
    firsts = _month_firsts(end, months)
    zone = settings().zone
    since = datetime.combine(firsts[0], time.min, zone)
    # Visits that have begun only: a booking for later in the month would make the count
    # move the moment someone books, and who just booked can be guessed.
    until = min(datetime.combine(end + timedelta(days=1), time.min, zone), clock.now())
    starts = db.session.scalars(
        select(Appointment.starts_at).where(Appointment.self_referral.is_(True),
                                            Appointment.status.not_in((AppointmentStatus.CANCELLED,
                                                                       AppointmentStatus.DECLINED)),
                                            Appointment.starts_at >= since, Appointment.starts_at < until)).all()
    counts = dict.fromkeys(firsts, 0)
    for starts_at in starts:
        first = starts_at.astimezone(zone).date().replace(day=1)
        if first in counts:
            counts[first] += 1
    return sorted(counts.items())


def confirm(actor: Actor, appointment: Appointment | int) -> None:
    """The clinician confirms. Both calendars get the event as CONFIRMED (same UID,
    next SEQUENCE). Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    appointment.confirm(clock.now())
    appointment.sequence += 1
    record(actor, "appointment.confirmed", target=_target(appointment), private=True)
    attention.resolve(appointment.evaluation, ["unconfirmed"], actor=actor, resolution="confirmed")
    _invite(appointment, "confirmed")
    db.session.commit()


def _ended(actor: Actor, appointment: Appointment, resolution: str) -> None:
    """An appointment ended: the items it raised end with it."""
    attention.resolve(appointment.evaluation, attention.OF_APPOINTMENT, actor=actor, resolution=resolution,
                      appointment=appointment)


def decline(actor: Actor, appointment: Appointment | int, reason: str) -> None:
    """The clinician cannot keep the appointment: declined before confirming, cancelled
    after. A reason for HR (scheduling, not clinical) is required. The evaluation opens
    again with its due date intact; HR is told by name (Needs attention), the officer
    gets a neutral cancellation, and the time is not offered to this officer again. Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    _clinician_cancels(actor, appointment, reason)
    db.session.commit()


def _clinician_cancels(actor: Actor, appointment: Appointment, reason: str) -> None:
    # Confirmed, even if the officer has since asked to move it.
    was_confirmed = appointment.status == AppointmentStatus.CONFIRMED or appointment.confirmed_at is not None
    appointment.decline(reason, clock.now())
    appointment.drop_proposal()
    if appointment.evaluation is not None:
        appointment.evaluation.reopen()
    reminders.drop_for_appointment(appointment)
    appointment.sequence += 1
    kind = "clinician_cancelled" if was_confirmed else "declined"
    record(actor, f"appointment.{'cancelled' if was_confirmed else 'declined'}", target=_target(appointment),
           detail=f"by the clinician: {appointment.decline_reason}", private=True)
    _ended(actor, appointment, "cancelled by the clinician" if was_confirmed else "declined")
    if appointment.self_referral or _close_if_unneeded(actor, appointment.evaluation):  # HR hears nothing of it
        _invite(appointment, "declined", cancelled=True)
        return
    attention.raise_item(appointment.evaluation, kind, actor=actor, appointment=appointment,
                         detail=f"Reason: {appointment.decline_reason}")
    _invite(appointment, "declined", cancelled=True)


def request_reschedule(actor: Actor, appointment: Appointment | int) -> None:
    """The officer asks for another time; HR (by name) and the clinician are told. Commits."""
    appointment = _appointment_for(actor, appointment, officer=True)
    appointment.request_reschedule()
    record(actor, "appointment.reschedule_requested", target=_target(appointment), private=True)
    attention.raise_item(appointment.evaluation, "reschedule_requested", actor=actor, appointment=appointment)
    _notify(appointment, "reschedule_requested", to_officer=False)
    db.session.commit()


def propose(actor: Actor, appointment: Appointment | int, starts_at: datetime) -> None:
    """The clinician proposes another of their free slots. It is held for the officer
    until accepted, refused or expired (48 hours, then HR is told). The officer gets the
    proposed time; HR sees it waiting. Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    _propose(actor, appointment, starts_at)
    db.session.commit()


def _propose(actor: Actor, appointment: Appointment, starts_at: datetime, *, tell_hr: bool = True) -> None:
    if not appointment.is_active:
        raise DomainError("Only a booked appointment can be given another time.")
    start, end = _check_slot(appointment.clinician, starts_at, appointment.officer_id, ignore=appointment.id)
    _hold_slot(appointment.clinician, start, end, ignore=appointment.id)
    appointment.propose(start, end, clock.now())
    record(actor, "appointment.time_proposed", target=_target(appointment), private=True)
    attention.resolve(appointment.evaluation, ["proposal_waiting", "proposal_expired"], actor=actor,
                      resolution="another time proposed")
    late = " (after the due date)" if is_late(appointment.evaluation, start) else ""
    attention.raise_item(appointment.evaluation, "proposal_waiting", actor=actor, appointment=appointment,
                         detail=f"Proposed: {_local_words(start)}{late}", tell_hr=tell_hr)
    _notify(appointment, "proposed", to_clinician=False)


def accept_proposal(actor: Actor, appointment: Appointment | int) -> None:
    """The officer (or HR for them) accepts the time the clinician proposed: it is
    confirmed at once (the clinician chose it) and both calendars get it. A proposed
    time after the due date stays on the Needs attention list. Commits."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    if not appointment.is_active or appointment.proposed_starts_at is None:
        raise DomainError("There is no proposed time to accept.")
    if appointment.proposed_starts_at <= clock.now():
        raise DomainError("The proposed time has passed. Choose another time.")
    start, end = appointment.proposed_starts_at, appointment.proposed_ends_at
    clinician = appointment.clinician
    if end is None or _blocked(clinician.id, _day(start)) or not rules.bookable(
            clinician.trauma_specialty, clinician.license_expires, _day(start)):
        raise DomainError("The proposed time is no longer available. Choose another time.")
    _hold_slot(clinician, start, end, ignore=appointment.id)
    late = "The officer accepted a time the clinician proposed after the due date." \
        if is_late(appointment.evaluation, start) else ""
    appointment.move(start, end, clock.now(), confirmed=True)
    appointment.late_reason = late
    reminders.drop_for_appointment(appointment)
    _flush_or_taken()
    record(actor, "appointment.proposal_accepted", target=_target(appointment), private=True)
    attention.resolve(appointment.evaluation, ["proposal_waiting", "proposal_expired", "reschedule_requested",
                                               "unconfirmed"], actor=actor, resolution="proposed time accepted")
    _recheck(actor, appointment, late_detail=late)
    _invite(appointment, "accepted")
    db.session.commit()


def refuse_proposal(actor: Actor, appointment: Appointment | int) -> None:
    """The officer cannot make the proposed time: the hold ends, the appointment keeps
    its time, and the clinician is told. Commits."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    if not appointment.is_active or appointment.proposed_starts_at is None:
        raise DomainError("There is no proposed time to refuse.")
    appointment.drop_proposal()
    record(actor, "appointment.proposal_refused", target=_target(appointment), private=True)
    attention.resolve(appointment.evaluation, ["proposal_waiting"], actor=actor, resolution="refused by the officer")
    _notify(appointment, "proposal_refused", to_officer=False)
    db.session.commit()


def reschedule(actor: Actor, appointment: Appointment | int, starts_at: datetime, *, late_reason: str = "",
               late_confirmed: bool = False) -> None:
    """HR or the officer moves the appointment to another free slot of the same
    clinician (by the due date; after it only HR, with a reason). Same calendar UID,
    higher SEQUENCE; the clinician confirms again, unless it is the time they proposed.
    Commits."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    if not appointment.is_active:
        raise DomainError("Only a booked appointment can be moved.")
    if appointment.proposed_starts_at is not None and appointment.proposed_starts_at == starts_at:
        return accept_proposal(actor, appointment)
    start, end = _check_slot(appointment.clinician, starts_at, appointment.officer_id, ignore=appointment.id)
    reason = _late_check(actor, appointment.evaluation, start, late_reason, late_confirmed)
    _hold_slot(appointment.clinician, start, end, ignore=appointment.id)
    appointment.move(start, end, clock.now(), confirmed=False)
    appointment.late_reason = reason  # "" once it is on time again
    reminders.drop_for_appointment(appointment)
    _flush_or_taken()
    record(actor, "appointment.rescheduled", target=_target(appointment),
           detail=f"after the due date: {reason}" if reason else "", private=True)
    attention.resolve(appointment.evaluation, ["proposal_waiting", "proposal_expired", "reschedule_requested",
                                               "unconfirmed"], actor=actor, resolution="moved")
    _recheck(actor, appointment, late_detail=reason)
    _invite(appointment, "rescheduled")
    db.session.commit()


def _flush_or_taken() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(TAKEN) from None


def _recheck(actor: Actor, appointment: Appointment, late_detail: str = "") -> None:
    """After a move: end the items the new time answers, raise the one it causes."""
    evaluation, day = appointment.evaluation, _day(appointment.starts_at)
    if not is_late(evaluation, appointment.starts_at):
        attention.resolve(evaluation, ["deadline_moved", "booked_late"], actor=actor,
                          resolution="moved before the due date")
    elif late_detail:
        attention.raise_item(evaluation, "booked_late", actor=actor, appointment=appointment, detail=late_detail,
                             tell_hr=not actor.has_role(Role.HR))
    if not _blocked(appointment.clinician_id, day):
        attention.resolve(evaluation, ["clinician_unavailable"], actor=actor, resolution="moved off the day")
    if appointment.clinician.license_expires >= day:
        attention.resolve(evaluation, ["license_expiring"], actor=actor, resolution="moved within the license")


def _blocked(clinician_id: int, day: date) -> bool:
    return db.session.scalar(select(AvailabilityBlock.id).where(AvailabilityBlock.clinician_id == clinician_id,
                                                                AvailabilityBlock.day == day)) is not None


def deadline_moved(actor: Actor, evaluation: WellnessEvaluation) -> None:
    """Called (in the caller's transaction) when an evaluation's due date changed. An
    active appointment now after the due date is flagged: HR is told by name, the officer
    and the clinician are asked to move it. Nothing is cancelled. One now on time ends
    such a flag."""
    appointment = db.session.scalar(select(Appointment).where(Appointment.evaluation_id == evaluation.id,
                                                              Appointment.status.in_(ACTIVE_APPOINTMENT)))
    if appointment is None:
        return
    if not is_late(evaluation, appointment.starts_at):
        attention.resolve(evaluation, ["deadline_moved"], actor=actor, resolution="due date moved back")
        return
    if attention.raise_item(evaluation, "deadline_moved", actor=actor, appointment=appointment,
                            detail=f"New due date: {evaluation.due_on:%d %B %Y}."):
        _notify(appointment, "move_earlier", key_suffix=str(evaluation.due_on))


def cancel(actor: Actor, appointment: Appointment | int) -> None:
    """HR or the officer calls the appointment off; the evaluation opens again (or, if
    every incident behind it was withdrawn, is closed) and both calendars get a
    cancellation. Commits."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    was = appointment.status.value  # kept in the audit entry, so an undo restores it
    appointment.cancel(clock.now())
    appointment.drop_proposal()
    evaluation = appointment.evaluation
    if evaluation is not None:
        evaluation.reopen()
    reminders.drop_for_appointment(appointment)
    appointment.sequence += 1
    record(actor, "appointment.cancelled", target=_target(appointment), detail=f"was {was}",
           private=True)
    _ended(actor, appointment, "cancelled")
    if evaluation is not None:
        _close_if_unneeded(actor, evaluation)
    _invite(appointment, "cancelled", cancelled=True)
    db.session.commit()


@dataclass
class CancelPreview:
    """What cancelling would do, in words for the confirmation page."""
    appointment: Appointment
    closes_evaluation: bool     # every incident behind it was withdrawn: closed, not reopened
    releases_proposal: bool     # a time the clinician proposed is no longer held
    undo_minutes: int


def cancel_preview(actor: Actor, appointment: Appointment | int) -> CancelPreview:
    """What `cancel` would do to this appointment (nothing is changed)."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    if not appointment.is_active:
        raise DomainError(f"This appointment is {appointment.status.value.replace('_', ' ')}; "
                          "it cannot be cancelled.")
    return CancelPreview(appointment, appointment.evaluation is not None and not _still_needed(appointment.evaluation),
                         appointment.proposed_starts_at is not None, undo_minutes())


def undo_minutes() -> int:
    return max(int(current_app.config.get("CANCEL_UNDO_MINUTES", 5)), 0)


def _cancellation(appointment: Appointment):
    """The audit entry of the appointment's (last) cancellation by HR or the officer."""
    return db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "appointment.cancelled", AuditEntry.target == _target(appointment))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(1))


def undo_until(actor: Actor, appointment: Appointment) -> datetime | None:
    """Until when `actor` may still undo their own cancellation of this appointment
    (None when they may not: not cancelled, cancelled by someone else, or too late).
    Derived from the appointment's closing time and the audit entry of the cancel."""
    if appointment.status != AppointmentStatus.CANCELLED or appointment.closed_at is None:
        return None
    until = appointment.closed_at + timedelta(minutes=undo_minutes())
    if clock.now() >= until or (appointment.evaluation is not None and appointment.evaluation.status.value != "open"):
        return None
    entry = _cancellation(appointment)
    if entry is None or entry.actor_id is None or entry.actor_id != actor.user_id:
        return None
    return until


def undo_cancel(actor: Actor, appointment: Appointment | int) -> Appointment:
    """Whoever cancelled the appointment takes it back within the undo window
    (CANCEL_UNDO_MINUTES): the same time with the same clinician, the same calendar UID
    with a higher SEQUENCE, its status as before (a request to move it excepted: it
    comes back as booked or confirmed); the officer and the clinician get the calendar
    entry again. Refused, changing nothing, when someone else cancelled it, the window
    has passed, the evaluation was booked again or closed, or the time was taken.
    Commits."""
    appointment = _appointment_for(actor, appointment, officer=True, hr=True)
    if appointment.status != AppointmentStatus.CANCELLED or appointment.closed_at is None:
        raise DomainError("This appointment is not cancelled: there is nothing to undo.")
    entry = _cancellation(appointment)
    if entry is None or entry.actor_id is None or entry.actor_id != actor.user_id:
        raise DomainError("Only the person who cancelled this appointment can undo the cancellation.")
    now = clock.now()
    if now >= appointment.closed_at + timedelta(minutes=undo_minutes()):
        raise DomainError(f"Too late to undo: a cancellation can be undone for {undo_minutes()} minutes. "
                          "Book a new time instead.")
    evaluation = appointment.evaluation
    if evaluation is not None and evaluation.status.value != "open":
        raise DomainError("The cancellation cannot be undone: the evaluation has been booked again or closed.")
    clinician, start = appointment.clinician, appointment.starts_at
    when = _local_words(start)
    try:
        free_start, free_end = _check_slot(clinician, start, appointment.officer_id, ignore=appointment.id)
        if free_end != appointment.ends_at:
            raise DomainError(TAKEN)
        _hold_slot(clinician, start, appointment.ends_at, ignore=appointment.id)
    except DomainError:
        db.session.rollback()
        raise DomainError(f"The cancellation cannot be undone: {when} with {clinician.name} is no longer free "
                          "(it was booked by someone else, or has passed). Book a new time instead.") from None
    was = (entry.detail or "").removeprefix("was ")
    appointment.status = (AppointmentStatus.CONFIRMED if was in ("confirmed", "reschedule_requested")
                          and appointment.confirmed_at is not None else AppointmentStatus.BOOKED)
    if appointment.status == AppointmentStatus.BOOKED:
        appointment.confirmed_at = None
    appointment.closed_at = None
    appointment.sequence += 1
    if evaluation is not None:
        evaluation.mark_scheduled()
    _flush_or_taken()
    if evaluation is not None:
        reminders.drop_for_evaluation(evaluation.id)
    reminders.restore_for_appointment(appointment)
    record(actor, "appointment.cancel_undone", target=_target(appointment),
           detail=f"restored as {appointment.status.value}", private=True)
    attention.resolve(evaluation, attention.ANSWERED_BY_BOOKING, actor=actor, resolution="cancellation undone")
    if is_late(evaluation, start):  # what the cancel ended comes back with it (the sweep re-raises the rest)
        attention.raise_item(evaluation, "booked_late" if appointment.late_reason else "deadline_moved", actor=actor,
                             appointment=appointment, tell_hr=False,
                             detail=appointment.late_reason or f"New due date: {evaluation.due_on:%d %B %Y}.")
    _invite(appointment, "restored")
    db.session.commit()
    return appointment


@dataclass
class SlotChoice:
    """One slot chosen on the booking page, checked: what the confirmation page says."""
    clinician: Clinician
    starts_at: datetime
    ends_at: datetime
    late: bool

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def slot_choice(actor: Actor, evaluation: WellnessEvaluation, clinician_id: int | None, starts_at: datetime,
                appointment: Appointment | None = None) -> SlotChoice:
    """The free slot `starts_at` of the clinician (the appointment's own when moving it),
    for the confirmation page; refused as the booking itself would refuse it. Changes
    nothing."""
    _may_book_for(actor, evaluation)
    if appointment is not None:
        if not appointment.is_active:
            raise DomainError("Only a booked appointment can be moved.")
        clinician = appointment.clinician
    else:
        if evaluation.status.value != "open":
            raise DomainError("This evaluation already has an appointment, or is finished.")
        clinician = next((c for c in clinician_service.bookable_clinicians() if c.id == clinician_id), None)
        if clinician is None:
            raise DomainError("Choose one of the listed clinicians.")
    start, end = _check_slot(clinician, starts_at, evaluation.officer_id,
                             ignore=appointment.id if appointment else None)
    late = is_late(evaluation, start)
    if late and not actor.has_role(Role.HR):
        raise DomainError(f"That time is after the due date ({evaluation.due_on:%d %B %Y}). Choose an earlier "
                          "time, or ask HR.")
    return SlotChoice(clinician, start, end, late)


def _close_if_unneeded(actor: Actor, evaluation: WellnessEvaluation) -> bool:
    """An evaluation reopened by a cancellation, decline or no-show is closed instead
    when every incident behind it was withdrawn (HR kept the appointment to decide)."""
    if _still_needed(evaluation):
        return False
    evaluation.close("incident withdrawn")
    attention.resolve(evaluation, actor=actor, resolution="evaluation closed")
    return True


def _still_needed(evaluation: WellnessEvaluation | None) -> bool:
    """An evaluation is needed unless an incident opened it and every incident behind it
    has been withdrawn (a self-referral's visit, with none, is the officer's to keep)."""
    if evaluation is None:
        return True
    if evaluation.kind != EvaluationKind.INCIDENT or evaluation.base_due_on is not None:
        return True
    linked = incident_service.incidents_of(evaluation)
    return not linked or any(i.withdrawn_at is None for i in linked)


def cancel_for_separation(appointment: Appointment, now) -> None:
    """The daily sweep calls this, in its transaction, for an active appointment of an
    officer who has left: called off, its reminders dropped, the clinician's calendar
    told (the officer's address is no longer the department's to write to)."""
    appointment.cancel(now)
    appointment.drop_proposal()
    reminders.drop_for_appointment(appointment)
    appointment.sequence += 1
    record(Actor.system("wellness sweep"), "appointment.cancelled", target=_target(appointment),
           detail="officer separated", private=True)
    _invite(appointment, "cancelled", cancelled=True, to_officer=False)


def record_attendance(actor: Actor, appointment: Appointment | int, attended: bool) -> None:
    """After the visit the clinician records attended (the evaluation is completed and
    everything on the Needs attention list for it is resolved) or no-show (it opens
    again, HR is told by name, the officer gets a neutral note). Nothing else is
    recorded. Commits."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    now = clock.now()
    reminders.drop_for_appointment(appointment)
    appointment.drop_proposal()
    if attended:
        appointment.mark_attended(now)
        if appointment.evaluation is not None:  # a self-referral completes nothing
            appointment.evaluation.complete(now.astimezone(settings().zone).date())
        record(actor, "appointment.attended", target=_target(appointment), private=True)
        attention.resolve(appointment.evaluation, actor=actor, resolution="attended")
    else:
        appointment.mark_no_show(now)
        if appointment.evaluation is not None:
            appointment.evaluation.reopen()
        record(actor, "appointment.no_show", target=_target(appointment), private=True)
        _ended(actor, appointment, "not attended")
        if appointment.evaluation is not None and not _close_if_unneeded(actor, appointment.evaluation):
            attention.raise_item(appointment.evaluation, "no_show", actor=actor, appointment=appointment)
        _notify(appointment, "no_show", to_clinician=False, moot=False)
    db.session.commit()


# --- blocking a day that has appointments ---------------------------------------------------

class DayHasAppointments(Exception):  # noqa: N818 -- not an error: a question for the person blocking
    """Blocking this day needs a decision for each appointment on it (the page asks)."""

    def __init__(self, appointments: list[Appointment]):
        super().__init__("There are appointments on this day: choose what happens to each.")
        self.appointments = appointments


def on_day(clinician: Clinician, day: date) -> list[Appointment]:
    zone = settings().zone
    start = rules.local_to_utc(day, datetime.min.time(), zone)
    end = rules.local_to_utc(day + timedelta(days=1), datetime.min.time(), zone)
    return db.session.scalars(select(Appointment).where(
        Appointment.clinician_id == clinician.id, Appointment.status.in_(ACTIVE_APPOINTMENT),
        Appointment.starts_at >= start, Appointment.starts_at < end).order_by(Appointment.starts_at)).all()


def proposable(appointment: Appointment) -> list[tuple[datetime, datetime]]:
    """The times the clinician may propose instead: their free slots this officer may be offered."""
    return _free(appointment.clinician, appointment.officer_id, ignore=appointment.id)


def first_free_after(appointment: Appointment, day: date, taken=()) -> tuple[datetime, datetime] | None:
    """The time to propose instead of a day the clinician cannot work: the first free
    one by the due date, else the first after it; never on `day`, never one of `taken`
    (proposed to another officer in the same go), and at least an hour ahead."""
    soonest = clock.now() + timedelta(hours=1)  # time for the officer to read it and answer
    slots = [s for s in _free(appointment.clinician, appointment.officer_id, ignore=appointment.id)
             if _day(s[0]) != day and s[0] >= soonest and s[0] not in taken]
    on_time = [s for s in slots if not is_late(appointment.evaluation, s[0])]
    return (on_time or slots or [None])[0]


def proposals_for(appointments: list[Appointment], day: date) -> dict[int, tuple[datetime, datetime] | None]:
    """What blocking `day` would propose for each appointment on it, in order, each
    time held from the next (as block_day does them)."""
    chosen = {}
    for appointment in appointments:
        chosen[appointment.id] = first_free_after(appointment, day, {s[0] for s in chosen.values() if s})
    return chosen


def block_day(actor: Actor, clinician: Clinician | int, day: date, note: str = "",
              decisions: dict[int, str] | None = None) -> int:
    """The clinician (or HR) blocks a date. Appointments on it are never left silently:
    the caller is shown them (DayHasAppointments) and decides for each: "propose" (the
    first free time is proposed and held for the officer; HR is told) or "cancel" (a
    cancellation, with the day as the reason; HR and the officer are told, the evaluation
    reopens with its due date intact). Returns how many appointments were handled. Commits."""
    clinician = clinician_service.managed(actor, clinician)
    affected = on_day(clinician, day)
    mine = linked_clinician(actor) if actor.has_role(Role.CLINICIAN) else None
    if (mine is None or mine.id != clinician.id) and any(a.self_referral for a in affected):
        # HR may not learn whose, nor act on, a visit an officer booked on their own.
        raise DomainError(f"{clinician.name} has a booking that day that only they can move or cancel. "
                          "Ask them to block the day themselves.")
    decisions = decisions or {}
    if affected and any(decisions.get(a.id) not in ("propose", "cancel") for a in affected):
        raise DayHasAppointments(affected)
    clinician_service.block_day(actor, clinician, day, note, commit=False)
    _withdraw_proposals_on(actor, clinician, day)
    reason = f"unavailable on {day:%d %B %Y}" + (f" ({note.strip()[:120]})" if note.strip() else "")
    for appointment in affected:
        if decisions[appointment.id] == "cancel":
            _clinician_cancels(actor, appointment, f"The clinician is {reason}.")
            continue
        slot = first_free_after(appointment, day)
        if slot is None:
            db.session.rollback()
            raise DomainError(f"There is no free time to propose for the appointment at "
                              f"{_local_words(appointment.starts_at)}: cancel it instead.")
        _propose(actor, appointment, slot[0], tell_hr=False)
        attention.raise_item(appointment.evaluation, "clinician_unavailable", actor=actor, appointment=appointment,
                             detail=f"The clinician is {reason}; proposed {_local_words(slot[0])} instead.",
                             mail_detail=f"The clinician is unavailable on {day:%d %B %Y}; proposed "
                                         f"{_local_words(slot[0])} instead.")
    db.session.commit()
    return len(affected)


def _withdraw_proposals_on(actor: Actor, clinician: Clinician, day: date) -> None:
    """Times this clinician proposed on a day they now block are no longer held: the
    appointment keeps its own time, and the officer can no longer accept them."""
    zone = settings().zone
    start = rules.local_to_utc(day, datetime.min.time(), zone)
    end = rules.local_to_utc(day + timedelta(days=1), datetime.min.time(), zone)
    for appointment in db.session.scalars(select(Appointment).where(
            Appointment.clinician_id == clinician.id, Appointment.status.in_(ACTIVE_APPOINTMENT),
            Appointment.proposed_starts_at >= start, Appointment.proposed_starts_at < end)):
        appointment.drop_proposal()
        attention.resolve(appointment.evaluation, ["proposal_waiting"], actor=actor,
                          resolution="withdrawn: the clinician blocked that day")


# --- what time brings: the exceptions sweep -------------------------------------------------

def sweep_exceptions(now: datetime | None = None) -> Counter:
    """Run with the reminder sweeps: end proposals nobody answered in 48 hours (the hold
    ends, HR is told), flag bookings unconfirmed for 48 hours and appointments after
    their clinician's license ends, and resolve flags whose condition no longer holds.
    Idempotent. Commits."""
    now = now or clock.now()
    actor = Actor.system("wellness exceptions")
    done = Counter()
    expired = db.session.scalars(select(Appointment).where(
        Appointment.status.in_(ACTIVE_APPOINTMENT), Appointment.proposed_starts_at.is_not(None),
        (Appointment.proposed_at <= now - timedelta(hours=PROPOSAL_HOURS))
        | (Appointment.proposed_starts_at <= now))).all()
    for appointment in expired:
        proposed = _local_words(appointment.proposed_starts_at)
        appointment.drop_proposal()
        attention.resolve(appointment.evaluation, ["proposal_waiting"], actor=actor, resolution="expired", now=now)
        if attention.raise_item(appointment.evaluation, "proposal_expired", actor=actor, appointment=appointment,
                                detail=f"The officer did not answer the time proposed ({proposed}) in time; "
                                       "it is no longer held.", now=now):
            done["proposal_expired"] += 1
    unconfirmed = db.session.scalars(select(Appointment).where(
        Appointment.status == AppointmentStatus.BOOKED, Appointment.starts_at > now,
        Appointment.booked_at <= now - timedelta(hours=rules.UNCONFIRMED_CLINICIAN_AFTER),
        ~select(AttentionItem.id).where(AttentionItem.evaluation_id == Appointment.evaluation_id,
                                        AttentionItem.kind == "unconfirmed",
                                        AttentionItem.resolved_at.is_(None)).exists())).all()
    for appointment in unconfirmed:
        if attention.raise_item(appointment.evaluation, "unconfirmed", actor=actor, appointment=appointment,
                                detail=f"Booked {_local_words(appointment.booked_at)}.", tell_hr=False, now=now):
            done["unconfirmed"] += 1
    lapsing = db.session.execute(select(Appointment, Clinician.license_expires).join(
        Clinician, Clinician.id == Appointment.clinician_id).where(
        Appointment.status.in_(ACTIVE_APPOINTMENT), Appointment.starts_at > now,
        Clinician.license_expires < Appointment.starts_at)).all()
    for appointment, expires in lapsing:
        if expires < _day(appointment.starts_at) and attention.raise_item(
                appointment.evaluation, "license_expiring", actor=actor, appointment=appointment,
                detail=f"{appointment.clinician.name}'s license expires on {expires:%d %B %Y}.", now=now):
            done["license_expiring"] += 1
    done["resolved"] = attention.resolve_stale(actor, STILL_TRUE)
    db.session.commit()
    return +done


def _active(appointment) -> bool:
    return appointment is not None and appointment.is_active


# What keeps each appointment flag open; the sweep resolves the others.
STILL_TRUE = {
    "unconfirmed": lambda item, e, a: _active(a) and a.status == AppointmentStatus.BOOKED,
    "reschedule_requested": lambda item, e, a: _active(a) and a.status == AppointmentStatus.RESCHEDULE_REQUESTED,
    "proposal_waiting": lambda item, e, a: _active(a) and a.proposed_starts_at is not None,
    "license_expiring": lambda item, e, a: _active(a) and a.clinician.license_expires < _day(a.starts_at),
    "clinician_unavailable": lambda item, e, a: _active(a) and _blocked(a.clinician_id, _day(a.starts_at)),
    "deadline_moved": lambda item, e, a: _active(a) and is_late(e, a.starts_at),
    "booked_late": lambda item, e, a: _active(a) and is_late(e, a.starts_at),
}


# --- what clinicians and officers see ----------------------------------------------------

# What the clinician must do next about an active appointment (None: nothing yet).
RECORD, CONFIRM, PROPOSE = "record", "confirm", "propose"


def clinician_step(appointment: Appointment, now: datetime) -> str | None:
    """Record attendance once a booked or confirmed visit has begun; confirm (or decline)
    a booking to come; propose another time when the officer asked for one. A visit that
    began while the officer was asking for another time has nothing left for the
    clinician (HR rebooks it), nor has an ended one."""
    if not appointment.is_active:
        return None
    if appointment.starts_at <= now:
        return RECORD if appointment.status != AppointmentStatus.RESCHEDULE_REQUESTED else None
    if appointment.status == AppointmentStatus.BOOKED:
        return CONFIRM
    if appointment.status == AppointmentStatus.RESCHEDULE_REQUESTED:
        return PROPOSE
    return None


@dataclass
class ClinicSections:
    """A clinician's active appointments, each in one section: what needs them (with its
    step, oldest first), the rest of today, and later days (soonest first)."""
    clinician: Clinician
    needs_you: list       # [(appointment, step)]
    today: list
    upcoming: list

    def count(self, step: str) -> int:
        return sum(1 for _, s in self.needs_you if s == step)


def _sections(clinician: Clinician, now: datetime) -> ClinicSections:
    """One query: the clinician's active appointments, sorted into sections."""
    active = db.session.scalars(select(Appointment).where(
        Appointment.clinician_id == clinician.id, Appointment.status.in_(ACTIVE_APPOINTMENT))
        .order_by(Appointment.starts_at, Appointment.id)).all()
    today = _day(now)
    sections = ClinicSections(clinician, [], [], [])
    for appointment in active:
        step = clinician_step(appointment, now)
        if step:
            sections.needs_you.append((appointment, step))
        elif appointment.starts_at > now:
            (sections.today if _day(appointment.starts_at) == today else sections.upcoming).append(appointment)
    return sections


@dataclass
class ClinicPage:
    """The clinician's appointments page."""
    sections: ClinicSections
    past: Page            # ended, or begun with nothing left to do: newest first
    reminders: list       # [(when, what, appointment)] still to come, soonest first


def clinic_page(actor: Actor, page: int = 1, per_page: int = 20) -> ClinicPage:
    """The clinician's own appointments in sections (a view of officers' records:
    audited), with the reminders still to come for the active ones. Past visits are
    paged. Changes nothing else."""
    clinician = clinician_of(actor)
    # Audited (and committed) before the rows are read: a commit after would expire them,
    # and the page would load each one again.
    record(actor, "appointment.list_viewed", target=f"clinician {clinician.id}",
           detail=f"needs you, today, upcoming; past page {page}", private=True)
    db.session.commit()
    now = clock.now()
    sections = _sections(clinician, now)
    ended = ~Appointment.status.in_(ACTIVE_APPOINTMENT) | (
        (Appointment.status == AppointmentStatus.RESCHEDULE_REQUESTED) & (Appointment.starts_at <= now))
    past = paginate(select(Appointment).where(Appointment.clinician_id == clinician.id, ended)
                    .order_by(Appointment.starts_at.desc(), Appointment.id.desc()), page, per_page)
    coming = [a for a, _ in sections.needs_you if a.starts_at > now] + sections.today + sections.upcoming
    to_come = sorted(((when, what, a) for a in coming for when, what in reminders.upcoming(None, a.starts_at)),
                     key=lambda t: (t[0], t[2].id))
    return ClinicPage(sections, past, to_come[:20])


@dataclass
class NoShowPreview:
    """What recording "did not attend" would do, in words for the confirmation page."""
    appointment: Appointment
    closes_evaluation: bool     # every incident behind it was withdrawn: closed, not reopened
    hr_told: int                # HR accounts sent the news, by name


def no_show_preview(actor: Actor, appointment: Appointment | int) -> NoShowPreview:
    """What `record_attendance(..., False)` would do to this appointment, or the reason
    it cannot be done yet (a DomainError, as the model gives it). Changes nothing."""
    appointment = _appointment_for(actor, appointment, clinician=True)
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED):
        raise DomainError(f"This appointment is {appointment.status.value.replace('_', ' ')}; "
                          "it cannot be marked as a no-show.")
    if clock.now() < appointment.starts_at:
        raise DomainError("A no-show can be recorded only once the appointment time has come.")
    if appointment.self_referral:  # nobody else is told of a visit the officer booked on their own
        return NoShowPreview(appointment, False, 0)
    closes = not _still_needed(appointment.evaluation)
    return NoShowPreview(appointment, closes, 0 if closes else len(hr_emails()))


def view_for_clinician(actor: Actor, appointment_id: int):
    """One appointment, with the incident details a clinician needs for an incident
    evaluation. Audited."""
    appointment = _appointment_for(actor, appointment_id, clinician=True)
    record(actor, "appointment.viewed", target=_target(appointment), private=True)
    db.session.commit()
    return appointment, incidents_for_clinician(appointment)


def incidents_for_clinician(appointment: Appointment) -> list:
    """The incidents a clinician may read for this appointment: while it is active,
    those behind the evaluation; once it has ended, only those recorded before it ended
    (a later incident belongs to whoever sees the officer next)."""
    if appointment.evaluation is None:  # a self-referral answers no incident
        return []
    linked = incident_service.incidents_of(appointment.evaluation)
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


def get_movable(actor: Actor, appointment_id: int) -> Appointment:
    """An appointment the booking page may move: not a self-referral, whose officer
    cancels and books again (its times are not bound to any due date)."""
    appointment = _appointment_for(actor, appointment_id, officer=True, hr=True)
    if appointment.self_referral:
        raise NotFound("Not found.")
    return appointment


def active_for(evaluation: WellnessEvaluation) -> Appointment | None:
    """The evaluation's appointment still to come (booked, confirmed or asked to move), if any."""
    return db.session.scalar(select(Appointment).where(Appointment.evaluation_id == evaluation.id,
                                                       Appointment.status.in_(ACTIVE_APPOINTMENT)))


def evaluation_for_booking(actor: Actor, evaluation_id: int) -> WellnessEvaluation:
    evaluation = get_or_404(WellnessEvaluation, evaluation_id)
    _may_book_for(actor, evaluation)
    return evaluation


# --- messages ------------------------------------------------------------------------------

# The first words of the subject, so an inbox tells a cancellation from a confirmation.
SUBJECTS = {"booked": "Booked", "confirmed": "Confirmed", "accepted": "Confirmed", "declined": "Cancelled",
            "cancelled": "Cancelled", "reschedule_requested": "Reschedule requested",
            "proposed": "New time proposed", "proposal_refused": "Proposed time refused", "rescheduled": "Moved",
            "no_show": "Not attended", "move_earlier": "Please move", "restored": "Not cancelled after all"}


def _local_words(moment: datetime) -> str:
    local = moment.astimezone(settings().zone)
    return f"{local:%a} {local.day} {local:%B} at {local:%H:%M %Z}"


def _when(moment: datetime) -> str:
    return moment.astimezone(settings().zone).strftime("%A %d %B %Y at %H:%M %Z")


def _ics(appointment: Appointment, cancelled: bool, who: str, download: bool = False) -> str:
    """The calendar entry as `who` (officer, clinician or hr) sees it: titled for them
    (the officer sees the clinician's name, the clinician the officer's). The emailed
    copy is an invitation to both and, like every message, never says "evaluation"; a
    download (behind sign-in) is the same event (UID, SEQUENCE) published, titled by
    `summary_for`."""
    zone = settings().zone
    officer, clinician = appointment.officer, appointment.clinician
    summary = summary_for(who, officer_rank=officer.rank, officer_name=officer.full_name,
                          clinician_name=clinician.name) if download \
        else f"Appointment with {clinician.name if who == 'officer' else officer.full_name}"
    return appointment_ics(
        uid=appointment.uid, sequence=appointment.sequence, starts_at=appointment.starts_at,
        ends_at=appointment.ends_at, zone=zone, summary=summary,
        location=clinician.place, description=f"Sign in to Beacon to see it: {current_app.config['BASE_URL']}/",
        organizer=current_app.config["MAIL_FROM"].rsplit("<", 1)[-1].strip(" >"),
        attendees=[] if download else [
            (officer.full_name, wellness_address(officer) if who == "officer" else officer.email),
            (clinician.name, clinician.email)],
        stamp=clock.now(), cancelled=cancelled, confirmed=appointment.status == AppointmentStatus.CONFIRMED,
        method="PUBLISH" if download else "")


def calendar_file(actor: Actor, appointment_id: int) -> tuple[str, str]:
    """The appointment as an .ics file (name, text) for its officer, its clinician or HR,
    titled for the reader; anyone else is told it does not exist. A called-off
    appointment comes as CANCELLED, so a calendar that has it drops it. Audited as a view
    of a wellness record."""
    appointment = _appointment_for(actor, appointment_id, officer=True, clinician=True, hr=True)
    if actor.has_role(Role.OFFICER) and _officer_id_of(actor) == appointment.officer_id:
        reader = "officer"
    elif actor.has_role(Role.CLINICIAN) and getattr(linked_clinician(actor), "id", None) == appointment.clinician_id:
        reader = "clinician"
    else:
        reader = "hr"
    cancelled = appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.DECLINED)
    text = _ics(appointment, cancelled, reader, download=True)
    record(actor, "appointment.calendar_downloaded", target=_target(appointment),
           detail=f"as {reader}", private=True)
    db.session.commit()
    return f"beacon-appointment-{_day(appointment.starts_at).isoformat()}.ics", text


def _subject(appointment: Appointment, event: str) -> str:
    if event == "proposed" and appointment.proposed_starts_at is not None:
        return (f"{SUBJECTS[event]}: {_local_words(appointment.proposed_starts_at)} "
                f"(instead of {_local_words(appointment.starts_at)})")
    return f"{SUBJECTS[event]}: appointment on {_local_words(appointment.starts_at)}"


def _body(appointment: Appointment, event: str, who: str, name: str) -> str:
    held = appointment.proposal_held_until(PROPOSAL_HOURS)
    return outbox.render_email("appointment.txt", event=event, who=who, name=name, appointment=appointment,
                               when=_when(appointment.starts_at),
                               proposed=_when(appointment.proposed_starts_at) if appointment.proposed_starts_at else "",
                               held_until=_when(held) if held else "")


def _invite(appointment: Appointment, event: str, cancelled: bool = False, to_officer: bool = True,
            to_clinician: bool = True) -> None:
    """A message with the calendar entry (REQUEST, or CANCEL), for each recipient."""
    method = "CANCEL" if cancelled else "REQUEST"
    for who, email, name in _recipients(appointment, to_officer, to_clinician):
        outbox.enqueue(kind=f"appointment_{event}", recipient=email, subject=_subject(appointment, event),
                       body=_body(appointment, event, who, name),
                       dedup_key=f"appt:{appointment.id}:{who}:{event}:{appointment.sequence}",
                       ics=_ics(appointment, cancelled, who), ics_method=method, expires_at=_moot_at(appointment))


def _notify(appointment: Appointment, event: str, to_officer: bool = True, to_clinician: bool = True,
            key_suffix: str = "", moot: bool = True) -> None:
    """A message without a calendar entry (nothing in the calendar changed)."""
    for who, email, name in _recipients(appointment, to_officer, to_clinician):
        outbox.enqueue(kind=f"appointment_{event}", recipient=email, subject=_subject(appointment, event),
                       body=_body(appointment, event, who, name),
                       dedup_key=f"appt:{appointment.id}:{who}:{event}:{appointment.sequence}:"
                                 f"{appointment.proposed_starts_at or ''}:{key_suffix}",
                       expires_at=_moot_at(appointment) if moot else None)


def _moot_at(appointment: Appointment):
    """When news of this appointment stops mattering to the officer and the clinician:
    once it (or the time proposed instead) has begun, a late email would only mislead.
    HR's notices have no such end: HR must learn of a decline or a no-show."""
    return max(appointment.starts_at, appointment.proposed_starts_at or appointment.starts_at)


def _recipients(appointment, to_officer, to_clinician):
    if to_officer:
        yield "officer", wellness_address(appointment.officer), appointment.officer.full_name
    if to_clinician:
        yield "clinician", appointment.clinician.email, appointment.clinician.name


def clinician_todo(actor: Actor) -> dict:
    """A clinician's home panel: bookings to confirm, attendance to record, what is next.
    An account not (yet) tied to a clinician record sees a note instead of an error."""
    clinician = linked_clinician(actor)
    if clinician is None:
        return {"unlinked": True, "to_confirm": 0, "to_record": 0, "to_propose": 0, "upcoming": []}
    now = clock.now()
    sections = _sections(clinician, now)
    coming = [a for a, _ in sections.needs_you if a.starts_at > now] + sections.today + sections.upcoming
    return {
        "to_confirm": sections.count(CONFIRM), "to_record": sections.count(RECORD),
        "to_propose": sections.count(PROPOSE),
        "upcoming": sorted(coming, key=lambda a: (a.starts_at, a.id))[:5],
    }
