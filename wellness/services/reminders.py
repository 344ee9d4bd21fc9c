"""Wellness reminders: the sweep that turns wellness.rules' "what is due now?" into
outbox messages under de-duplication keys, and HR's daily digest.

Keys are stable facts (`remind:appt:<id>:s<sequence>:officer:24h`), so a second sweep,
a restart or a second scheduler queues nothing twice; a moved appointment (higher
sequence) gets fresh reminders, and its old pending ones are dropped by the service
that moved it. Only active accounts are reminded.
"""
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from core import clock
from core.db import db
from core.models import AccountStatus, Officer, OfficerStatus, Unit, User
from notifications import services as outbox
from wellness import rules
from wellness.models import Appointment, AppointmentStatus, Clinician, EvaluationStatus, WellnessEvaluation
from wellness.services.common import hr_emails, settings


def _local(moment: datetime) -> datetime:
    return moment.astimezone(settings().zone)


def sweep(now: datetime | None = None) -> Counter:
    """Queue every wellness reminder due at `now`. Returns how many of each kind were
    queued (0 for a repeat). Commits."""
    now = now or clock.now()
    s = settings()
    today = _local(now).date()
    queued = Counter()
    officer_account = aliased(User)

    # Coming due, not booked: the officer, 30/14/7 days before.
    horizon = today + timedelta(days=max(rules.COMING_DUE_LEADS))
    rows = db.session.execute(
        select(WellnessEvaluation.id, WellnessEvaluation.due_on, Officer.first_name, Officer.last_name,
               officer_account.email)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .join(officer_account, and_(officer_account.officer_id == Officer.id,
                                    officer_account.status == AccountStatus.ACTIVE))
        .where(WellnessEvaluation.status == EvaluationStatus.OPEN, Officer.status == OfficerStatus.ACTIVE,
               WellnessEvaluation.due_on.between(today, horizon))
    ).all()
    for evaluation_id, due_on, first, last, email in rows:
        lead = rules.coming_due_lead(due_on, today)
        if lead is None:
            continue
        queued["coming_due"] += outbox.enqueue(
            kind="reminder_coming_due", recipient=email, subject=f"Beacon: please book by {due_on.day} {due_on:%B}",
            body=outbox.render_email("reminder_coming_due.txt", name=f"{first} {last}", due_on=due_on,
                                     evaluation_id=evaluation_id),
            dedup_key=f"remind:eval:{evaluation_id}:due:{lead}d", private=True)

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
    for appointment, officer_status, clinician_status in appointments:
        key = f"remind:appt:{appointment.id}:s{appointment.sequence}"
        when = _local(appointment.starts_at)
        subject = f"Beacon: appointment on {when.day} {when:%B}"
        lead = rules.appointment_lead(appointment.starts_at, now)
        if lead is not None:
            people = []
            if officer_status == AccountStatus.ACTIVE:
                people.append(("officer", appointment.officer.email, appointment.officer.full_name))
            if clinician_status != AccountStatus.DISABLED:
                people.append(("clinician", appointment.clinician.email, appointment.clinician.name))
            for who, email, name in people:
                queued["appointment"] += outbox.enqueue(
                    kind="reminder_appointment", recipient=email, subject=subject,
                    body=outbox.render_email("reminder_appointment.txt", name=name, who=who, appointment=appointment,
                                             when=when, hours=lead),
                    dedup_key=f"{key}:{who}:{lead}h", private=True)
        if appointment.status == AppointmentStatus.BOOKED:
            for who in rules.unconfirmed_audiences(appointment.booked_at, appointment.starts_at, now):
                if who == "clinician" and clinician_status != AccountStatus.DISABLED:
                    queued["unconfirmed"] += outbox.enqueue(
                        kind="reminder_unconfirmed", recipient=appointment.clinician.email, subject=subject,
                        body=outbox.render_email("reminder_unconfirmed.txt", who=who, when=when,
                                                 name=appointment.clinician.name),
                        dedup_key=f"{key}:unconfirmed:clinician", private=True)
                elif who == "hr":
                    hr = hr if hr is not None else hr_emails()
                    for email in hr:
                        queued["unconfirmed"] += outbox.enqueue(
                            kind="reminder_unconfirmed", recipient=email, subject=subject,
                            body=outbox.render_email("reminder_unconfirmed.txt", who=who, when=when, name="",
                                                     clinician=appointment.clinician.name),
                            dedup_key=f"{key}:unconfirmed:hr:{email}", private=True)

    # Licenses: HR, 30 days before a clinician's license expires.
    expiring = db.session.scalars(select(Clinician).where(
        Clinician.license_expires.between(today, today + timedelta(days=s.license_warning_days)))).all()
    for clinician in expiring:
        hr = hr if hr is not None else hr_emails()
        for email in hr:
            queued["license"] += outbox.enqueue(
                kind="license_warning", recipient=email,
                subject=f"Beacon: a clinician's license expires on {clinician.license_expires:%d %B %Y}",
                body=outbox.render_email("license_warning.txt", clinician=clinician),
                dedup_key=f"license:{clinician.id}:{clinician.license_expires}:{email}")
    db.session.commit()
    return queued


def digest(now: datetime | None = None) -> int:
    """HR's daily digest of overdue evaluations and recent no-shows: one message per HR
    person per day, only when there is something to say; never the reason, never to
    supervisors. Commits."""
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
    if not overdue and not no_shows:
        return 0
    sent = 0
    body = outbox.render_email("hr_digest.txt", overdue=overdue, no_shows=no_shows, today=today, local=_local)
    for email in hr_emails():
        sent += outbox.enqueue(kind="hr_digest", recipient=email, subject=f"Beacon: daily summary for {today:%d %B}",
                               body=body, dedup_key=f"digest:{today}:{email}", private=True)
    db.session.commit()
    return sent


def upcoming(due_on: date | None, starts_at: datetime | None) -> list[tuple[datetime, str]]:
    """The reminders a person will still get, for their own page."""
    now = clock.now()
    return [(when, what) for when, what in rules.reminder_schedule(due_on, starts_at, settings().zone) if when > now]


def drop_for_appointment(appointment: Appointment) -> int:
    """Called when an appointment is moved or called off, in the caller's transaction."""
    return outbox.drop_pending(f"remind:appt:{appointment.id}:")


def drop_for_evaluation(evaluation_id: int) -> int:
    return outbox.drop_pending(f"remind:eval:{evaluation_id}:")

