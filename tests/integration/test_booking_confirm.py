"""Booking goes through a confirmation that says what will be booked; the officer's
"Cancel" says what will happen and can be undone for a few minutes by whoever cancelled;
a refused booking keeps the clinician and the day; pages of finished appointments say
what happened instead of offering times (issue 15). Mail is read at a real SMTP server.

Monday 2 March 2026, 09:00 in Chicago; the clinician sees officers 09:00-17:00 in
one-hour slots; the evaluation is due Wednesday 4 March.
"""
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core import clock
from core.db import db
from core.models import AuditEntry
from tests import factories
from wellness.models import Appointment, AppointmentStatus, EvaluationStatus, WellnessEvaluation
from wellness.services import appointments

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)        # 09:00 CST
TUESDAY_10 = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)    # 10:00 CST
DUE = date(2026, 3, 4)


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


@pytest.fixture
def now():
    with clock.frozen(MONDAY):
        yield MONDAY


@pytest.fixture
def clinic(app, now):
    user = factories.user(roles=["clinician"], email="dr.okafor@clinic.test", name="Dr. Ngozi Okafor")
    clinician = factories.clinician(name="Dr. Ngozi Okafor", user_row=user, email="dr.okafor@clinic.test",
                                    modality="in_person")
    other = factories.clinician(name="Dr. Iris Vale", email="dr.vale@clinic.test")
    hr = factories.user(roles=["hr"], email="hr.desk@pd.test")
    return clinician, other, hr


def scene(first="Nicole", last="Brown"):
    officer = factories.officer(first=first, last=last, email=f"{first.lower()}.{last.lower()}@pd.test")
    officer_user = factories.user(roles=["officer"], officer_row=officer)
    evaluation = factories.evaluation(officer, kind="incident", due_on=DUE)
    return officer, officer_user, evaluation


def deliver(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


def text(response):
    return response.get_data(as_text=True)


def booked(evaluation):
    return db.session.scalar(select(Appointment).where(Appointment.evaluation_id == evaluation.id))


def confirm_url(evaluation, clinician, starts_at):
    return (f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}"
            f"&at={starts_at.isoformat().replace('+', '%2B')}")


def test_a_slot_goes_through_a_confirmation_that_says_what_and_the_confirmation_books(auth, client, clinic):
    clinician, _, _ = clinic
    _, officer_user, evaluation = scene()
    auth.login(officer_user.email)
    picker = text(client.get(f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}"))
    assert 'id="slot-length"' in picker and "Each appointment lasts <strong>60 minutes</strong>" in picker
    assert "at=2026-03-03T16:00:00%2B00:00" in picker  # a slot is a link to its confirmation, not a POST
    assert 'name="starts_at"' not in picker

    page = client.get(confirm_url(evaluation, clinician, TUESDAY_10))
    assert page.status_code == 200
    body = text(page)
    assert ("Book <strong>Tuesday 3 March, 10:00–11:00 CST</strong> with <strong>Dr. Ngozi Okafor</strong>, "
            "in person at 1 Main St.") in body
    assert "Confirm the booking" in body and "Back to the times" in body
    assert f"clinician={clinician.id}&amp;day=2026-03-03#day-2026-03-03" in body  # Back keeps the choice
    assert booked(evaluation) is None  # nothing booked by looking

    no_token = client.post(f"/wellness/evaluations/{evaluation.id}/book",
                           data={"starts_at": TUESDAY_10.isoformat(), "clinician_id": clinician.id})
    assert no_token.status_code == 400 and booked(evaluation) is None  # CSRF-protected

    done = auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                     {"starts_at": TUESDAY_10.isoformat(), "clinician_id": clinician.id},
                     form_page=confirm_url(evaluation, clinician, TUESDAY_10))
    assert done.status_code == 302 and done.headers["Location"].endswith("/wellness/me")
    appointment = booked(evaluation)
    assert appointment.starts_at == TUESDAY_10 and appointment.clinician_id == clinician.id


def test_a_slot_not_free_or_after_the_due_date_is_refused_on_the_confirmation_step(auth, client, clinic):
    clinician, _, _ = clinic
    _, officer_user, evaluation = scene()
    auth.login(officer_user.email)
    late = text(client.get(confirm_url(evaluation, clinician, datetime(2026, 3, 5, 16, tzinfo=timezone.utc))))
    assert "after the due date" in late and "Confirm the booking" not in late
    odd = text(client.get(confirm_url(evaluation, clinician, TUESDAY_10 + timedelta(minutes=7))))
    assert 'id="booking-problem"' in odd and "Confirm the booking" not in odd
    garbage = client.get(f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}&at=soon")
    assert garbage.status_code == 200 and "Choose one of the listed times." in text(garbage)


def test_a_booking_lost_to_a_race_shows_the_times_again_with_the_clinician_and_day_kept(auth, client, clinic):
    clinician, other, hr = clinic
    _, officer_user, evaluation = scene()
    _, _, rival = scene("Eli", "Stone")
    auth.login(officer_user.email)
    form_page = confirm_url(evaluation, clinician, TUESDAY_10)
    assert "Confirm the booking" in text(client.get(form_page))
    appointments.book(factories.actor_for(hr), rival.id, clinician.id, TUESDAY_10)  # meanwhile
    lost = auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                     {"starts_at": TUESDAY_10.isoformat(), "clinician_id": clinician.id}, form_page=form_page)
    assert lost.status_code == 422
    body = text(lost)
    assert "That time was just taken by another booking" in body
    kept = f'aria-current="page"\n       href="/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}"'
    assert kept in body
    assert "<h2 class=\"h5\">Dr. Ngozi Okafor" in body and "Dr. Iris Vale," not in body
    assert 'id="chosen-day"' in body and 'id="day-2026-03-03"' in body
    assert booked(evaluation) is None


def test_hr_confirms_a_late_booking_with_its_reason_on_the_confirmation_page(auth, client, clinic):
    clinician, _, hr = clinic
    officer, _, evaluation = scene()
    auth.login(hr.email)
    thursday = datetime(2026, 3, 5, 16, tzinfo=timezone.utc)
    page = text(client.get(confirm_url(evaluation, clinician, thursday)))
    assert 'id="late-warning"' in page and f"for {officer.rank} Nicole Brown." in page and 'name="late_reason"' in page
    refused = auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                        {"starts_at": thursday.isoformat(), "clinician_id": clinician.id},
                        form_page=confirm_url(evaluation, clinician, thursday))
    assert refused.status_code == 422 and 'id="booking-confirm"' in text(refused)
    assert "confirm it and give a reason" in text(refused) and booked(evaluation) is None
    done = auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                     {"starts_at": thursday.isoformat(), "clinician_id": clinician.id, "late_reason": "Nights",
                      "late_confirmed": "y"}, form_page=confirm_url(evaluation, clinician, thursday))
    assert done.status_code == 302 and booked(evaluation).late_reason == "Nights"


def test_moving_goes_through_a_confirmation_too(auth, client, clinic):
    clinician, _, hr = clinic
    _, officer_user, evaluation = scene()
    appointment = appointments.book(factories.actor_for(hr), evaluation.id, clinician.id, TUESDAY_10)
    auth.login(officer_user.email)
    later = TUESDAY_10 + timedelta(hours=2)
    url = f"/wellness/appointments/{appointment.id}/move?at={later.isoformat().replace('+', '%2B')}"
    body = text(client.get(url))
    assert "Move the appointment with <strong>Dr. Ngozi Okafor</strong> from Tuesday 3 March, 10:00 CST to" in body
    assert "<strong>Tuesday 3 March, 12:00–13:00 CST</strong>" in body
    assert db.session.get(Appointment, appointment.id).starts_at == TUESDAY_10
    done = auth.post(f"/wellness/appointments/{appointment.id}/move", {"starts_at": later.isoformat()},
                     form_page=url)
    assert done.status_code == 302 and db.session.get(Appointment, appointment.id).starts_at == later


def _book_and_cancel(auth, client, clinic, runner, smtp_server):
    clinician, _, hr = clinic
    officer, officer_user, evaluation = scene()
    appointment = appointments.book(factories.actor_for(hr), evaluation.id, clinician.id, TUESDAY_10)
    uid = appointment.uid
    deliver(runner)
    smtp_server.messages.clear()
    auth.login(officer_user.email)
    page = client.get(f"/wellness/appointments/{appointment.id}/cancel")
    assert page.status_code == 200
    body = text(page)
    assert "Cancel <strong>Tuesday 3 March, 10:00–11:00 CST</strong>" in body
    assert "Dr. Ngozi Okafor and you are sent a cancellation" in body
    assert "goes back to needing a time: it is still due by 04 March 2026" in body
    assert "undo the cancellation for 5 minutes" in body
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.BOOKED  # nothing yet
    done = auth.post(f"/wellness/appointments/{appointment.id}/cancel", {},
                     form_page=f"/wellness/appointments/{appointment.id}/cancel")
    assert done.status_code == 302
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.CANCELLED
    mine = text(client.get("/wellness/me"))
    assert "Undo the cancellation" in mine and "Undo until 09:05 CST" in mine
    return appointment.id, uid, evaluation, officer_user


def test_the_canceller_undoes_the_cancellation_and_the_clinician_is_told(auth, client, clinic, runner,
                                                                         smtp_server):
    appointment_id, uid, evaluation, _ = _book_and_cancel(auth, client, clinic, runner, smtp_server)
    with clock.frozen(MONDAY + timedelta(minutes=4)):
        done = auth.post(f"/wellness/appointments/{appointment_id}/undo-cancel", {}, form_page="/wellness/me")
        assert done.status_code == 302
        mine = text(client.get("/wellness/me"))
        deliver(runner)
    assert "Cancellation undone" in mine
    appointment = db.session.get(Appointment, appointment_id)
    assert appointment.status == AppointmentStatus.BOOKED and appointment.starts_at == TUESDAY_10
    assert appointment.uid == uid and appointment.sequence == 2 and appointment.closed_at is None
    assert db.session.get(WellnessEvaluation, evaluation.id).status == EvaluationStatus.SCHEDULED
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.cancel_undone"))
    assert entry is not None and entry.private and entry.target == f"appointment {appointment_id}"
    to_clinician = smtp_server.to("dr.okafor@clinic.test")
    assert [m["Subject"] for m in to_clinician] == ["Cancelled: appointment on Tue 3 March at 10:00 CST",
                                                    "Not cancelled after all: appointment on Tue 3 March at 10:00 CST"]
    restored = to_clinician[-1]
    assert "was undone: the appointment stands" in smtp_server.text(restored)
    assert "incident" not in smtp_server.text(restored).lower()
    part = next(p for p in restored.iter_attachments() if p.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(part.get_content())
    event = calendar.walk("VEVENT")[0]
    assert str(calendar["METHOD"]) == "REQUEST" and str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2
    assert event.decoded("DTSTART") == TUESDAY_10


def test_undo_is_refused_once_the_window_has_passed(auth, client, clinic, runner, smtp_server):
    appointment_id, _, _, _ = _book_and_cancel(auth, client, clinic, runner, smtp_server)
    with clock.frozen(MONDAY + timedelta(minutes=6)):
        auth.post(f"/wellness/appointments/{appointment_id}/undo-cancel", {}, form_page="/wellness/me")
        mine = text(client.get("/wellness/me"))
    assert "Too late to undo: a cancellation can be undone for 5 minutes" in mine
    assert "Undo the cancellation" not in mine
    assert db.session.get(Appointment, appointment_id).status == AppointmentStatus.CANCELLED


def test_undo_is_refused_when_the_time_was_taken_meanwhile(auth, client, clinic, runner, smtp_server):
    clinician, _, hr = clinic
    appointment_id, _, _, _ = _book_and_cancel(auth, client, clinic, runner, smtp_server)
    _, _, rival = scene("Eli", "Stone")
    appointments.book(factories.actor_for(hr), rival.id, clinician.id, TUESDAY_10)
    auth.post(f"/wellness/appointments/{appointment_id}/undo-cancel", {}, form_page="/wellness/me")
    mine = text(client.get("/wellness/me"))
    assert "The cancellation cannot be undone: Tue 3 March at 10:00 CST with Dr. Ngozi Okafor is no longer free" \
        in mine
    assert db.session.get(Appointment, appointment_id).status == AppointmentStatus.CANCELLED


def test_only_the_person_who_cancelled_may_undo(auth, client, clinic, runner, smtp_server):
    _, _, hr = clinic
    appointment_id, _, _, _ = _book_and_cancel(auth, client, clinic, runner, smtp_server)
    auth.logout()
    _, stranger, _ = scene("Eli", "Stone")
    auth.login(stranger.email)
    refused = auth.post(f"/wellness/appointments/{appointment_id}/undo-cancel", {}, form_page="/wellness/me")
    assert refused.status_code == 404
    auth.logout()
    auth.login(hr.email)
    auth.post(f"/wellness/appointments/{appointment_id}/undo-cancel", {}, form_page="/wellness/")
    appointment = db.session.get(Appointment, appointment_id)
    assert appointment.status == AppointmentStatus.CANCELLED
    record = text(client.get(f"/wellness/officers/{appointment.officer_id}"))
    assert "Only the person who cancelled this appointment can undo the cancellation." in record
    assert "Undo the cancellation" not in record


def test_pages_of_finished_appointments_say_what_happened_instead_of_offering_times(auth, client, clinic):
    clinician, _, hr = clinic
    _, officer_user, evaluation = scene()
    hr_actor = factories.actor_for(hr)
    appointment = appointments.book(hr_actor, evaluation.id, clinician.id, TUESDAY_10)
    auth.login(officer_user.email)
    booking = text(client.get(f"/wellness/evaluations/{evaluation.id}/book"))
    assert 'id="booking-finished"' in booking and "slot-btn" not in booking
    assert "The evaluation has an appointment" in booking and f"/wellness/appointments/{appointment.id}/move" in booking
    appointments.cancel(hr_actor, appointment.id)
    moved = text(client.get(f"/wellness/appointments/{appointment.id}/move"))
    assert 'id="booking-finished"' in moved and "slot-btn" not in moved and "cancelled" in moved
    assert "Undo the cancellation" not in moved  # HR cancelled it, not this officer
    assert f'href="/wellness/evaluations/{evaluation.id}/book">Book a new time' in moved
    done = db.session.get(WellnessEvaluation, evaluation.id)
    done.status, done.completed_on = EvaluationStatus.COMPLETED, date(2026, 3, 1)
    db.session.commit()
    completed = text(client.get(f"/wellness/evaluations/{evaluation.id}/book"))
    assert "The evaluation was completed on 01 March 2026" in completed and "slot-btn" not in completed
    assert "Book a new time" not in completed


def test_an_undone_cancellation_gets_back_the_reminders_the_cancel_dropped(app):
    """Reminders queued but not yet delivered are dropped by the cancel; once it is undone,
    the next sweep queues them again (their keys are the appointment's and its time's)."""
    from core.models import OutboxMessage, OutboxStatus
    from wellness.services import reminders
    with clock.frozen(MONDAY):
        user = factories.user(roles=["clinician"], email="dr.undo@clinic.test", name="Dr. Undo")
        clinician = factories.clinician(name="Dr. Undo", user_row=user, email="dr.undo@clinic.test")
        officer = factories.officer(first="Nicole", last="Brown", email="nicole.undo@pd.test")
        officer_user = factories.user(roles=["officer"], officer_row=officer)
        evaluation = factories.evaluation(officer, due_on=DUE)
        me = factories.actor_for(officer_user)
        appointment = appointments.book(me, evaluation.id, clinician.id, TUESDAY_10)
    key = f"remind:appt:{appointment.id}:"

    def reminders_in(status):
        return db.session.scalars(select(OutboxMessage.dedup_key).where(
            OutboxMessage.dedup_key.startswith(key), OutboxMessage.status == status)).all()

    with clock.frozen(TUESDAY_10 - timedelta(hours=23)):
        reminders.sweep()
        queued = sorted(reminders_in(OutboxStatus.QUEUED))
        assert queued, "the 24-hour reminders are waiting for the mail relay"
        appointments.cancel(me, appointment.id)
        assert reminders_in(OutboxStatus.QUEUED) == []
        appointments.undo_cancel(me, appointment.id)
    with clock.frozen(TUESDAY_10 - timedelta(hours=22)):
        reminders.sweep()
        assert sorted(reminders_in(OutboxStatus.QUEUED)) == queued
        assert len(reminders_in(OutboxStatus.DROPPED)) == len(queued), "the dropped ones stay on record"
