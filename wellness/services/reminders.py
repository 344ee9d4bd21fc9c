"""Wellness reminders: the sweep that turns wellness.rules' "what is due now?" into
outbox messages under de-duplication keys, and HR's daily digest.

Keys are stable facts (`remind:appt:<id>:t<starts_at as Unix seconds>:officer:24h`), so
a second sweep, a restart or a second scheduler queues nothing twice. The key names the
appointment's time, not its calendar SEQUENCE: a confirmation raises the SEQUENCE and
must not re-send a reminder, while a moved appointment (a new time) gets fresh ones and
its old pending ones are dropped by the service that moved it (everything under
`remind:appt:<id>:`). Only active accounts are reminded.
"""
from collections import Counter
from functools import partial
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from core import clock
from core.db import db
from core.models import AccountStatus, Officer, OfficerStatus, Unit, User
from core.services import outbox
from wellness import rules
from wellness.models import (
    Appointment, AppointmentStatus, AttentionItem, Clinician, EvaluationStatus, WellnessEvaluation,
)
from wellness.services.common import hr_emails, settings
from wellness.services.private_address import wellness_addresses

# The messages this module sends, all listed on HR's reminders page. Health-related
# ones (private) show administrators only that they exist; a clinician's license is not.
COMING_DUE = outbox.kind("reminder_coming_due", private=True, reminder=True, label="coming due")
APPOINTMENT = outbox.kind("reminder_appointment", private=True, reminder=True, label="appointment")
UNCONFIRMED = outbox.kind("reminder_unconfirmed", private=True, reminder=True, label="unconfirmed")
# The same reminder for a confidential self-referral, and the clinician's nudge for one:
# not listed on HR's reminders page (HR may not know such a visit exists).
VISIT = outbox.kind("reminder_visit", private=True, label="visit reminder")
VISIT_UNCONFIRMED = outbox.kind("reminder_visit_unconfirmed", private=True, label="visit unconfirmed")
LICENSE_WARNING = outbox.kind("license_warning", reminder=True)
HR_DIGEST = outbox.kind("hr_digest", private=True, reminder=True)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(settings().zone)


def sweep(now: datetime | None = None) -> Counter:
    """Queue every wellness reminder due at `now`. Returns how many of each kind were
    queued (nothing on a repeat: keys already in the outbox are neither rendered nor
    sent again). Commits."""
    now = now or clock.now()
    s = settings()
    today = _local(now).date()
    batch = outbox.Batch()
    officer_account = aliased(User)

    # Coming due, not booked: the officer, 30/14/7 days before.
    horizon = today + timedelta(days=max(rules.COMING_DUE_LEADS))
    rows = db.session.execute(
        select(WellnessEvaluation.id, WellnessEvaluation.due_on, Officer.first_name, Officer.last_name,
               officer_account.email, Officer.id.label("officer_id"))
        .join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .join(officer_account, and_(officer_account.officer_id == Officer.id,
                                    officer_account.status == AccountStatus.ACTIVE))
        .where(WellnessEvaluation.status == EvaluationStatus.OPEN, Officer.status == OfficerStatus.ACTIVE,
               WellnessEvaluation.due_on.between(today, horizon))
    ).all()
    # A first night after a new roster brings tens of thousands at once: what depends only
    # on the due date (the lead, the expiry) is worked out once per date, and the template
    # is looked up once.
    leads = {due_on: rules.coming_due_lead(due_on, today) for due_on in {row.due_on for row in rows}}
    ends = {due_on: _end_of(due_on, s.zone) for due_on, lead in leads.items() if lead is not None}
    render = outbox.email_template("reminder_coming_due.txt")
    # An officer's confirmed personal address (the private channel), looked up once for all.
    personal = wellness_addresses(row.officer_id for row in rows if leads[row.due_on] is not None)
    for evaluation_id, due_on, first, last, email, officer_id in rows:
        lead = leads[due_on]
        if lead is not None:
            batch.add("coming_due", f"remind:eval:{evaluation_id}:due:{lead}d",
                      partial(_coming_due, render, evaluation_id, due_on, f"{first} {last}",
                              personal.get(officer_id, email), ends[due_on]))

    # Appointments: officer and clinician, 72 and 24 hours before; unconfirmed bookings.
    clinician_account = aliased(User)
    appointments = db.session.execute(
        select(Appointment, officer_account.status, clinician_account.status)
        .join(Officer, Officer.id == Appointment.officer_id)
        .outerjoin(officer_account, officer_account.officer_id == Officer.id)
        .join(Clinician, Clinician.id == Appointment.clinician_id)
        .outerjoin(clinician_account, clinician_account.id == Clinician.user_id)
        .where(Appointment.status.in_((AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)),
               Appointment.starts_at > now,
               or_(Appointment.starts_at <= now + timedelta(hours=max(rules.APPOINTMENT_LEADS)),
                   Appointment.status == AppointmentStatus.BOOKED))
    ).all()
    hr = None
    personal = wellness_addresses(appointment.officer_id for appointment, officer_status, _ in appointments
                                  if officer_status == AccountStatus.ACTIVE)
    for appointment, officer_status, clinician_status in appointments:
        key = f"remind:appt:{appointment.id}:t{int(appointment.starts_at.timestamp())}"
        lead = rules.appointment_lead(appointment.starts_at, now, appointment.booked_at)
        if lead is not None:
            if officer_status == AccountStatus.ACTIVE:
                batch.add("appointment", f"{key}:officer:{lead}h",
                          partial(_before, appointment, "officer", now, personal.get(appointment.officer_id)))
            if clinician_status != AccountStatus.DISABLED:
                batch.add("appointment", f"{key}:clinician:{lead}h", partial(_before, appointment, "clinician", now))
        if appointment.status == AppointmentStatus.BOOKED:
            for who in rules.unconfirmed_audiences(appointment.booked_at, appointment.starts_at, now):
                if who == "clinician" and clinician_status != AccountStatus.DISABLED:
                    batch.add("unconfirmed", f"{key}:unconfirmed:clinician",
                              partial(_unconfirmed, appointment, appointment.clinician.email))
                elif who == "hr" and not appointment.self_referral:  # HR never hears of a self-referral
                    hr = hr if hr is not None else hr_emails()
                    for email in hr:
                        batch.add("unconfirmed", f"{key}:unconfirmed:hr:{email}",
                                  partial(_unconfirmed, appointment, email))

    # Licenses: HR, 30 days before a clinician's license expires.
    expiring = db.session.scalars(select(Clinician).where(
        Clinician.license_expires.between(today, today + timedelta(days=s.license_warning_days)))).all()
    for clinician in expiring:
        hr = hr if hr is not None else hr_emails()
        for email in hr:
            batch.add("license", f"license:{clinician.id}:{clinician.license_expires}:{email}",
                      partial(_license, clinician, email))
    queued = batch.flush()
    db.session.commit()
    return queued


def _end_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


# Each reminder expires when it stops being true (outbox: never sent late): "book by" at the
# end of the due date, an appointment's reminders when it begins, a license warning when
# the license lapses, the digest when the next one is due.
def _coming_due(render, evaluation_id: int, due_on: date, name: str, email: str, expires_at: datetime) -> dict:
    return dict(kind=COMING_DUE, recipient=email, subject=f"Beacon: please book by {due_on.day} {due_on:%B}",
                body=render(name=name, due_on=due_on, evaluation_id=evaluation_id), expires_at=expires_at)


# A reminder names the day as the recipient reads it on the day it is sent ("today at
# 10:00", "tomorrow at 10:00"), never a lead time the booking may not have had.
def _before(appointment: Appointment, who: str, now: datetime, recipient: str | None = None) -> dict:
    person = appointment.officer if who == "officer" else appointment.clinician
    name = person.full_name if who == "officer" else person.name
    zone = settings().zone
    return dict(kind=VISIT if appointment.self_referral else APPOINTMENT, recipient=recipient or person.email,
                subject=f"Reminder: appointment {rules.appointment_when(appointment.starts_at, zone, now, short=True)}",
                body=outbox.render_email("reminder_appointment.txt", name=name, who=who, appointment=appointment,
                                         when=rules.appointment_when(appointment.starts_at, zone, now)),
                expires_at=appointment.starts_at)


def _unconfirmed(appointment: Appointment, email: str) -> dict:
    """The clinician's nudge, or HR's. HR may know whose appointment it is, so theirs
    names the officer and links to the officer's page; the clinician's is unchanged."""
    to_clinician = email == appointment.clinician.email
    when = rules.appointment_when(appointment.starts_at, settings().zone, short=True)
    return dict(kind=VISIT_UNCONFIRMED if appointment.self_referral else UNCONFIRMED, recipient=email,
                subject=f"Unconfirmed: appointment {when}",
                body=outbox.render_email("reminder_unconfirmed.txt", who="clinician" if to_clinician else "hr",
                                         when=_local(appointment.starts_at),
                                         name=appointment.clinician.name if to_clinician else "",
                                         clinician=appointment.clinician.name,
                                         officer=None if to_clinician else appointment.officer),
                expires_at=appointment.starts_at)


def _license(clinician: Clinician, email: str) -> dict:
    return dict(kind=LICENSE_WARNING, recipient=email,
                subject=f"Beacon: a clinician's license expires on {clinician.license_expires:%d %B %Y}",
                body=outbox.render_email("license_warning.txt", clinician=clinician),
                expires_at=_end_of(clinician.license_expires, settings().zone))


def digest(now: datetime | None = None) -> int:
    """HR's daily digest of overdue evaluations, recent no-shows and the open items of the
    Needs attention list: one message per HR person per day, only when there is something
    to say; never the reason, never to supervisors. Called by the scheduler and tests.
    Commits."""
    now = now or clock.now()
    today = _local(now).date()
    overdue = db.session.execute(
        select(Officer.badge_number, Officer.last_name, Officer.first_name, Unit.name, WellnessEvaluation.due_on)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id).join(Unit, Unit.id == Officer.unit_id)
        .where(WellnessEvaluation.status.in_((EvaluationStatus.OPEN, EvaluationStatus.SCHEDULED)),
               WellnessEvaluation.due_on < today, Officer.status == OfficerStatus.ACTIVE)
        .order_by(WellnessEvaluation.due_on, Officer.last_name)
    ).all()
    no_shows = db.session.execute(
        select(Officer.badge_number, Officer.last_name, Officer.first_name, Unit.name, Appointment.starts_at)
        .join(Officer, Officer.id == Appointment.officer_id).join(Unit, Unit.id == Officer.unit_id)
        .where(Appointment.status == AppointmentStatus.NO_SHOW, Appointment.starts_at >= now - timedelta(days=7))
        .order_by(Appointment.starts_at)
    ).all()
    attention = db.session.execute(
        select(AttentionItem, Officer.badge_number, Officer.last_name, Officer.first_name)
        .join(WellnessEvaluation, WellnessEvaluation.id == AttentionItem.evaluation_id)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .where(AttentionItem.resolved_at.is_(None))
        .order_by(AttentionItem.opened_at, Officer.last_name)
    ).all()
    if not overdue and not no_shows and not attention:
        return 0
    sent = 0
    body = outbox.render_email("hr_digest.txt", overdue=overdue, no_shows=no_shows, attention=attention,
                               today=today, local=_local)
    for email in hr_emails():
        sent += outbox.enqueue(kind=HR_DIGEST, recipient=email, subject=f"Beacon: daily summary for {today:%d %B}",
                               body=body, dedup_key=f"digest:{today}:{email}", expires_at=now + timedelta(days=1))
    db.session.commit()
    return sent


def upcoming(due_on: date | None, starts_at: datetime | None) -> list[tuple[datetime, str]]:
    """The reminders a person will still get, for their own page."""
    now = clock.now()
    return [(when, what) for when, what in rules.reminder_schedule(due_on, starts_at, settings().zone) if when > now]


def drop_for_appointment(appointment: Appointment) -> int:
    """Called when an appointment is moved or called off, in the caller's transaction."""
    return outbox.drop_pending(f"remind:appt:{appointment.id}:")


def restore_for_appointment(appointment: Appointment) -> int:
    """A cancellation undone: the reminders the cancel dropped for this appointment at
    this time may be queued again by the next sweep (which leaves out any no longer
    due). In the caller's transaction."""
    return outbox.release_dropped(f"remind:appt:{appointment.id}:t{int(appointment.starts_at.timestamp())}:")


def drop_for_evaluation(evaluation_id: int) -> int:
    return outbox.drop_pending(f"remind:eval:{evaluation_id}:")

