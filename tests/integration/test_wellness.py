"""Wellness evaluations through the pages and commands: incidents, the sweep, booking,
the appointment lifecycle, email and .ics content read at a real SMTP server."""
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import OfficerStatus, User
from core.models import OutboxMessage
from tests import factories
from wellness.models import (Appointment, AppointmentStatus, EvaluationKind, EvaluationStatus, IncidentType,
                             WellnessEvaluation)
from wellness.services import appointments, evaluations

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)      # 09:00 in Chicago (CST)
TUESDAY_10_LOCAL = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)  # 10:00 CST
FORBIDDEN_WORDS = ("mental", "health", "incident", "trauma", "death", "shooting", "psych", "counsel")


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


@pytest.fixture
def now():
    with clock.frozen(MONDAY):
        yield MONDAY


def evaluations_of(officer):
    return db.session.scalars(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id)
                              .order_by(WellnessEvaluation.id)).all()


def incident_type(days):
    return db.session.scalar(select(IncidentType).where(IncidentType.window_days == days))


def deliver(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


# --- incidents -----------------------------------------------------------------------------

def test_unit_member_death_makes_evaluations_due_within_fourteen_days_for_the_whole_unit(auth, client, now):
    members = [factories.officer(unit_name="Squad 7") for _ in range(3)]
    gone = factories.officer(unit_name="Squad 7", status=OfficerStatus.SEPARATED)
    outsider = factories.officer(unit_name="Squad 9")
    auth.as_role("hr")
    unit_id = members[0].unit_id
    response = auth.post("/wellness/incidents/new", {
        "type_id": incident_type(14).id, "occurred_on": "2026-02-28", "unit_ids": [unit_id],
        "description": "A member of Squad 7 died on duty."}, form_page="/wellness/incidents/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    for officer in members:
        [evaluation] = evaluations_of(officer)
        assert evaluation.kind == EvaluationKind.INCIDENT and evaluation.due_on == date(2026, 3, 14)
        assert evaluation.status == EvaluationStatus.OPEN
    assert evaluations_of(gone) == [] and evaluations_of(outsider) == []
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("unit</td>") == 3


def test_incident_joins_an_open_evaluation_at_the_earlier_date(auth, now):
    officer = factories.officer(badge="3001")
    annual = factories.evaluation(officer, due_on=date(2026, 4, 20))
    auth.as_role("hr")
    auth.post("/wellness/incidents/new", {"type_id": incident_type(3).id, "occurred_on": "2026-03-01",
                                          "badges": "3001", "description": "Discharge of a firearm on duty."},
              form_page="/wellness/incidents/new")
    [only] = evaluations_of(officer)
    assert only.id == annual.id and only.due_on == date(2026, 3, 4)
    assert len(only.incident_links) == 1
    # A later incident with a later window does not push the date back.
    auth.post("/wellness/incidents/new", {"type_id": incident_type(14).id, "occurred_on": "2026-03-02",
                                          "badges": "3001", "description": "Another event."},
              form_page="/wellness/incidents/new")
    db.session.expire_all()
    [only] = evaluations_of(officer)
    assert only.due_on == date(2026, 3, 4) and len(only.incident_links) == 2


def test_incident_form_errors_appear_beside_their_field_and_nothing_is_written(auth, now):
    auth.as_role("hr")
    response = auth.post("/wellness/incidents/new", {"type_id": incident_type(7).id, "occurred_on": "2026-03-01",
                                                     "badges": "NOPE-1", "description": "x"},
                         form_page="/wellness/incidents/new")
    assert "Not on the roster: NOPE-1" in response.get_data(as_text=True)
    future = auth.post("/wellness/incidents/new", {"type_id": incident_type(7).id, "occurred_on": "2026-04-01",
                                                   "badges": "", "description": "x"},
                       form_page="/wellness/incidents/new")
    assert "cannot be in the future" in future.get_data(as_text=True) or "Choose the officers" in future.get_data(
        as_text=True)
    assert db.session.scalars(select(WellnessEvaluation)).all() == []


def test_hr_defines_a_new_incident_type(auth, now):
    auth.as_role("hr")
    auth.post("/wellness/incident-types", {"name": "Mass-casualty event", "window_days": 5},
              form_page="/wellness/incidents")
    assert db.session.scalar(select(IncidentType.window_days).where(IncidentType.name == "Mass-casualty event")) == 5


# --- the sweep -------------------------------------------------------------------------------

def test_sweep_opens_annual_evaluations_within_sixty_days_and_is_idempotent(runner, now):
    due_in_59 = factories.officer(hire_date=date(2025, 4, 30))   # due 2026-04-30: opens now
    due_in_61 = factories.officer(hire_date=date(2025, 5, 2))    # due 2026-05-02: not yet
    evaluated = factories.officer(hire_date=date(2010, 1, 1))
    done = factories.evaluation(evaluated, status="open", due_on=date(2025, 6, 1))
    done.status, done.completed_on = EvaluationStatus.COMPLETED, date(2025, 5, 1)   # next due 2026-05-01: opens
    db.session.commit()
    result = runner.invoke(args=["wellness", "sweep", "--now", "2026-03-02T15:00:00+00:00"])
    assert result.exit_code == 0 and "opened 2 annual evaluation(s)" in result.output
    assert [e.due_on for e in evaluations_of(due_in_59)] == [date(2026, 4, 30)]
    assert evaluations_of(due_in_61) == []
    assert evaluations_of(evaluated)[-1].due_on == date(2026, 5, 1)
    again = runner.invoke(args=["wellness", "sweep", "--now", "2026-03-02T15:00:00+00:00"])
    assert "opened 0 annual evaluation(s)" in again.output
    later = runner.invoke(args=["wellness", "sweep", "--now", "2026-03-03T15:00:00+00:00"])
    assert "opened 1 annual evaluation(s)" in later.output   # due_in_61's window has come


def test_sweep_closes_a_separated_officers_evaluation_and_pauses_for_leave(runner, now):
    leaving = factories.officer()
    booked = factories.appointment(factories.evaluation(leaving))
    resting = factories.officer()
    paused = factories.evaluation(resting, due_on=date(2026, 3, 10))
    leaving.status = OfficerStatus.SEPARATED
    resting.status = OfficerStatus.LEAVE
    db.session.commit()
    result = runner.invoke(args=["wellness", "sweep"])
    assert "closed 1 (separated), paused 1" in result.output
    assert db.session.get(Appointment, booked.id).status == AppointmentStatus.CANCELLED
    assert evaluations_of(leaving)[0].status == EvaluationStatus.CLOSED
    # Back after 20 days of leave: the due date moves by 20 days, and it is not overdue meanwhile.
    clock.advance(timedelta(days=20))
    assert evaluations.sweep().overdue == 0
    db.session.get(type(resting), resting.id).status = OfficerStatus.ACTIVE
    db.session.commit()
    assert evaluations.sweep().resumed == 1
    assert db.session.get(WellnessEvaluation, paused.id).due_on == date(2026, 3, 30)


# --- booking and the lifecycle -----------------------------------------------------------------

def setup_booking():
    officer = factories.officer(first="Dana", last="Reed", email="dana.reed@pd.test")
    officer_user = factories.user(roles=["officer"], officer_row=officer)
    clinician_user = factories.user(roles=["clinician"], email="dr.vale@clinic.test", name="Dr. Iris Vale")
    clinician = factories.clinician(name="Dr. Iris Vale", user_row=clinician_user, email="dr.vale@clinic.test")
    evaluation = factories.evaluation(officer, kind="incident", due_on=date(2026, 3, 9))
    return officer, officer_user, clinician_user, clinician, evaluation


def book_as(auth, evaluation, clinician, starts_at=TUESDAY_10_LOCAL):
    page = f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}"
    return auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                     {"starts_at": starts_at.isoformat(), "clinician_id": clinician.id}, form_page=page)


def ics_of(message):
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content()), part


def test_hr_books_a_free_slot_and_both_get_a_neutral_invitation(auth, client, runner, smtp_server, now):
    officer, _, _, clinician, evaluation = setup_booking()
    auth.as_role("hr")
    slots = client.get(f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}").get_data(as_text=True)
    assert "Tuesday 03 March 2026" in slots and ">10:00<" in slots
    assert book_as(auth, evaluation, clinician).status_code == 302
    assert db.session.get(WellnessEvaluation, evaluation.id).status == EvaluationStatus.SCHEDULED
    deliver(runner)
    [to_officer] = smtp_server.to("dana.reed@pd.test")
    [to_clinician] = smtp_server.to("dr.vale@clinic.test")
    assert to_officer["Subject"] == "Booked: appointment on Tue 3 March at 10:00 CST"
    body = smtp_server.text(to_officer)
    assert "You have an appointment with Dr. Iris Vale" in body and "Tuesday 03 March 2026 at 10:00 CST" in body
    assert "Sign in to Beacon to see it: http://beacon.test/" in body
    assert "Dana Reed" in smtp_server.text(to_clinician)
    calendar, part = ics_of(to_officer)
    assert part.get_param("method", header="content-type") == "REQUEST"
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event["SEQUENCE"] == 0
    start = event.decoded("DTSTART")
    assert str(start.tzinfo) == "America/Chicago" and start.hour == 10
    assert "DTSTART;TZID=America/Chicago:20260303T100000" in part.get_content()
    for message in (to_officer, to_clinician):
        text = (message["Subject"] + smtp_server.text(message) + ics_of(message)[1].get_content()).lower()
        assert not [w for w in FORBIDDEN_WORDS if w in text]


def test_officer_books_their_own_evaluation_and_not_anyone_elses(auth, app, now):
    officer, officer_user, _, clinician, evaluation = setup_booking()
    other = factories.evaluation()
    auth.login(officer_user.email)
    assert book_as(auth, evaluation, clinician).status_code == 302
    assert db.session.get(WellnessEvaluation, evaluation.id).status == EvaluationStatus.SCHEDULED
    assert auth.client.get(f"/wellness/evaluations/{other.id}/book").status_code == 404
    assert book_as(auth, other, clinician, TUESDAY_10_LOCAL + timedelta(hours=1)).status_code == 404
    assert db.session.get(WellnessEvaluation, other.id).status == EvaluationStatus.OPEN


def test_a_taken_slot_is_refused_with_a_clear_error(auth, client, now):
    _, _, _, clinician, evaluation = setup_booking()
    second = factories.evaluation()
    auth.as_role("hr")
    book_as(auth, evaluation, clinician)
    response = book_as(auth, second, clinician)
    assert response.status_code == 422  # refused, shown again with the reason
    assert "That time was just taken" in response.get_data(as_text=True)
    assert db.session.get(WellnessEvaluation, second.id).status == EvaluationStatus.OPEN


def test_only_trauma_specialists_with_a_valid_license_can_be_booked(app, now):
    evaluation = factories.evaluation()
    generalist = factories.clinician(trauma=False)
    lapsing = factories.clinician(expires=date(2026, 3, 2))
    hr = Actor.for_user(factories.user(roles=["hr"]))
    with pytest.raises(DomainError, match="only trauma specialists"):
        appointments.book(hr, evaluation.id, generalist.id, TUESDAY_10_LOCAL)
    with pytest.raises(DomainError):
        appointments.book(hr, evaluation.id, lapsing.id, TUESDAY_10_LOCAL)  # past the expiry: no free slot
    assert db.session.scalars(select(Appointment)).all() == []


def test_the_database_refuses_a_second_active_appointment_for_one_slot_or_one_officer(app, now):
    first = factories.appointment(starts_at=TUESDAY_10_LOCAL)
    # PostgreSQL names the index, SQLite its columns.
    with pytest.raises(IntegrityError,
                       match=r"uq_appointments_clinician_slot|appointments\.clinician_id, appointments\.starts_at"):
        factories.appointment(clinician_row=db.session.get(type(first.clinician), first.clinician_id),
                              starts_at=TUESDAY_10_LOCAL)
    db.session.rollback()
    evaluation = db.session.get(WellnessEvaluation, first.evaluation_id)
    with pytest.raises(IntegrityError, match=r"uq_appointments_officer_active|appointments\.officer_id"):
        factories.appointment(evaluation_row=evaluation, starts_at=TUESDAY_10_LOCAL + timedelta(days=1))
    db.session.rollback()


def test_two_people_booking_the_same_slot_at_once_get_one_booking_and_one_error(app, now, database_url, monkeypatch):
    first, second = factories.evaluation(), factories.evaluation()
    clinician = factories.clinician()
    hr = Actor.for_user(factories.user(roles=["hr"]))
    both_checked = threading.Barrier(2, timeout=10)
    original = appointments._check_slot

    def check_then_wait(*args, **kwargs):
        result = original(*args, **kwargs)
        both_checked.wait()  # both have seen the slot free before either writes
        return result

    monkeypatch.setattr(appointments, "_check_slot", check_then_wait)
    outcomes = []

    def attempt(evaluation_id):
        with clock.frozen(MONDAY), app.app_context():
            try:
                appointments.book(hr, evaluation_id, clinician.id, TUESDAY_10_LOCAL)
                outcomes.append("booked")
            except DomainError as exc:
                outcomes.append(str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(e.id,)) for e in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes) == sorted(["booked", appointments.TAKEN])
    db.session.expire_all()
    booked = db.session.scalars(select(Appointment)).all()
    assert len(booked) == 1
    statuses = {e.id: db.session.get(WellnessEvaluation, e.id).status for e in (first, second)}
    assert sorted(statuses.values()) == [EvaluationStatus.OPEN, EvaluationStatus.SCHEDULED]


def test_clinician_confirms_and_the_officer_sees_it_confirmed(app, auth, client, runner, smtp_server, now):
    officer, officer_user, clinician_user, clinician, evaluation = setup_booking()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10_LOCAL)
    auth.login(clinician_user.email)
    page = client.get(f"/wellness/clinic/appointments/{appointment.id}").get_data(as_text=True)
    assert "Dana Reed" in page and "Confirm" in page
    auth.post(f"/wellness/appointments/{appointment.id}/confirm", {}, form_page="/wellness/clinic")
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.CONFIRMED
    auth.logout()
    auth.login(officer_user.email)
    assert "confirmed" in client.get("/wellness/me").get_data(as_text=True)
    assert "(confirmed)" in client.get("/").get_data(as_text=True)
    deliver(runner)
    assert "is confirmed" in smtp_server.text(smtp_server.to("dana.reed@pd.test")[-1])


def test_decline_reopens_the_evaluation_tells_hr_and_cancels_the_officers_calendar(auth, client, runner,
                                                                                    smtp_server, now):
    officer, _, clinician_user, clinician, evaluation = setup_booking()
    hr = factories.user(roles=["hr"], email="hr.desk@pd.test")
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10_LOCAL)
    auth.login(clinician_user.email)
    auth.post(f"/wellness/appointments/{appointment.id}/decline", {"reason": "Out of the office that week"},
              form_page="/wellness/clinic")
    assert db.session.get(WellnessEvaluation, evaluation.id).status == EvaluationStatus.OPEN
    deliver(runner)
    [cancel] = smtp_server.to("dana.reed@pd.test")
    calendar, part = ics_of(cancel)
    assert calendar["METHOD"] == "CANCEL" and part.get_param("method", header="content-type") == "CANCEL"
    assert calendar.walk("VEVENT")[0]["UID"] == appointment.uid and calendar.walk("VEVENT")[0]["SEQUENCE"] == 1
    [to_hr] = smtp_server.to("hr.desk@pd.test")
    # HR may know who: the officer is named and the record linked; the clinician's free-text
    # reason stays on the record, out of the mailbox.
    assert to_hr["Subject"] == f"Declined: Dana Reed ({officer.badge_number}), appointment on Tue 3 March at 10:00 CST"
    assert f"/wellness/officers/{officer.id}" in smtp_server.text(to_hr)
    assert "Out of the office" not in smtp_server.text(to_hr)
    auth.logout()
    auth.login(hr.email)
    assert "Out of the office that week" in client.get(f"/wellness/officers/{officer.id}").get_data(as_text=True)


def test_reschedule_keeps_the_uid_and_raises_the_sequence(auth, client, runner, smtp_server, now):
    officer, officer_user, clinician_user, clinician, evaluation = setup_booking()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10_LOCAL)
    auth.login(officer_user.email)
    auth.post(f"/wellness/appointments/{appointment.id}/request-reschedule", {}, form_page="/wellness/me")
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.RESCHEDULE_REQUESTED
    later = TUESDAY_10_LOCAL + timedelta(days=1, hours=2)
    auth.post(f"/wellness/appointments/{appointment.id}/move", {"starts_at": later.isoformat()},
              form_page=f"/wellness/appointments/{appointment.id}/move")
    moved = db.session.get(Appointment, appointment.id)
    assert moved.starts_at == later and moved.status == AppointmentStatus.BOOKED and moved.sequence == 1
    deliver(runner)
    updates = [m for m in smtp_server.to("dana.reed@pd.test") if any(
        p.get_content_type() == "text/calendar" for p in m.iter_attachments())]
    event = ics_of(updates[-1])[0].walk("VEVENT")[0]
    assert event["UID"] == appointment.uid and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART").hour == 12


def test_clinician_proposes_another_time_and_the_officer_accepts_it(auth, client, now):
    _, officer_user, clinician_user, clinician, evaluation = setup_booking()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10_LOCAL)
    proposal = TUESDAY_10_LOCAL + timedelta(days=2)
    auth.login(clinician_user.email)
    auth.post(f"/wellness/appointments/{appointment.id}/propose", {"starts_at": proposal.isoformat(),
                                                                   "clinician_id": clinician.id},
              form_page=f"/wellness/clinic/appointments/{appointment.id}")
    assert db.session.get(Appointment, appointment.id).proposed_starts_at == proposal
    auth.logout()
    auth.login(officer_user.email)
    assert "Accept proposed time" in client.get("/wellness/me").get_data(as_text=True)
    auth.post(f"/wellness/appointments/{appointment.id}/move", {"starts_at": proposal.isoformat()},
              form_page="/wellness/me")
    accepted = db.session.get(Appointment, appointment.id)
    assert accepted.starts_at == proposal and accepted.proposed_starts_at is None


def test_officer_cancels_and_both_calendars_get_a_cancellation(auth, runner, smtp_server, now):
    _, officer_user, _, clinician, evaluation = setup_booking()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10_LOCAL)
    auth.login(officer_user.email)
    auth.post(f"/wellness/appointments/{appointment.id}/cancel", {}, form_page="/wellness/me")
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.CANCELLED
    assert db.session.get(WellnessEvaluation, evaluation.id).status == EvaluationStatus.OPEN
    deliver(runner)
    for address in ("dana.reed@pd.test", "dr.vale@clinic.test"):
        assert ics_of(smtp_server.to(address)[-1])[0]["METHOD"] == "CANCEL"


def test_attended_completes_the_evaluation_and_the_dashboard_counts_it(auth, client, now):
    officer, _, clinician_user, clinician, evaluation = setup_booking()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10_LOCAL, status="confirmed")
    auth.login(clinician_user.email)
    too_early = auth.post(f"/wellness/appointments/{appointment.id}/attended", {}, form_page="/wellness/clinic",
                          follow_redirects=True)
    assert "only once the appointment has begun" in too_early.get_data(as_text=True)
    clock.advance(timedelta(days=1, hours=2))
    auth.login(clinician_user.email)  # the earlier session has long gone idle
    auth.post(f"/wellness/appointments/{appointment.id}/attended", {}, form_page="/wellness/clinic")
    done = db.session.get(WellnessEvaluation, evaluation.id)
    assert done.status == EvaluationStatus.COMPLETED and done.completed_on == date(2026, 3, 3)
    auth.logout()
    auth.as_role("hr")
    page = client.get("/wellness/").get_data(as_text=True)
    assert 'id="count-completed">1<' in page
    assert "100.0% compliant (1 of 1 officers" in page


def test_no_show_reopens_the_evaluation_and_tells_hr_by_name(auth, runner, smtp_server, now):
    officer, _, clinician_user, clinician, evaluation = setup_booking()
    factories.user(roles=["hr"], email="hr.desk@pd.test")
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10_LOCAL, status="confirmed")
    clock.advance(timedelta(days=1, hours=2))
    auth.login(clinician_user.email)
    auth.post(f"/wellness/appointments/{appointment.id}/no-show", {}, form_page="/wellness/clinic")
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.NO_SHOW
    assert db.session.get(WellnessEvaluation, evaluation.id).status == EvaluationStatus.OPEN
    deliver(runner)
    [to_hr] = smtp_server.to("hr.desk@pd.test")
    assert to_hr["Subject"].startswith(f"Not attended: Dana Reed ({officer.badge_number})")
    assert "did not attend" in smtp_server.text(to_hr) and f"/wellness/officers/{officer.id}" in smtp_server.text(to_hr)
    [to_officer] = smtp_server.to("dana.reed@pd.test")
    assert to_officer["Subject"] == "Not attended: appointment on Tue 3 March at 10:00 CST"
    assert not any(word in smtp_server.text(to_officer).lower() for word in FORBIDDEN_WORDS)


# --- clinicians and hours -------------------------------------------------------------------

def test_hr_adds_a_clinician_publishes_hours_and_creates_the_account(auth, client, now):
    auth.as_role("hr")
    response = auth.post("/wellness/clinicians/new", {
        "name": "Dr. Lena Park", "practice": "Park Psychology", "email": "Lena.Park@clinic.test", "phone": "1",
        "license_number": "PSY-1", "license_state": "mo", "license_expires": "2028-01-31", "trauma_specialty": "y",
        "specialty_description": "PTSD", "modality": "telehealth", "address": ""}, form_page="/wellness/clinicians/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    clinician_id = int(response.headers["Location"].rsplit("/", 1)[1])
    auth.post(f"/wellness/clinicians/{clinician_id}/hours", {"weekdays": ["1", "3"], "starts": "09:00",
                                                              "ends": "12:00", "slot_minutes": "60",
                                                              "valid_from": "2026-03-01"},
              form_page=f"/wellness/clinicians/{clinician_id}")
    auth.post(f"/wellness/clinicians/{clinician_id}/blocks", {"day": "2026-03-05", "note": "training"},
              form_page=f"/wellness/clinicians/{clinician_id}")
    auth.post(f"/wellness/clinicians/{clinician_id}/account", {}, form_page=f"/wellness/clinicians/{clinician_id}")
    from wellness.models import Clinician
    from wellness.services import clinicians
    clinician = db.session.get(Clinician, clinician_id)
    assert clinician.email == "lena.park@clinic.test" and clinician.license_state == "MO"
    assert clinician.user_id is not None
    days = {s.astimezone(clinicians.settings().zone).date() for s, _ in clinicians.free_slots(clinician)}
    assert date(2026, 3, 3) in days and date(2026, 3, 5) not in days  # Thursday 5th blocked
    assert {d.weekday() for d in days} == {1, 3}
    # The clinician role waits for an administrator: no invitation until it is approved.
    assert db.session.get(User, clinician.user_id).roles == set()
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "lena.park@clinic.test")) is None
    factories.approve_grants("lena.park@clinic.test")
    assert db.session.get(User, clinician.user_id).roles == {"clinician"}
    invite = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "lena.park@clinic.test"))
    assert invite.kind == "invite"


def test_clinician_manages_their_own_hours_only(auth, now):
    mine_user = factories.user(roles=["clinician"])
    mine = factories.clinician(user_row=mine_user, hours=False)
    theirs = factories.clinician()
    auth.login(mine_user.email)
    ok = auth.post(f"/wellness/clinicians/{mine.id}/hours", {"weekdays": ["0"], "starts": "08:00", "ends": "10:00",
                                                             "slot_minutes": "30", "valid_from": "2026-03-01",
                                                             "back": "clinic"}, form_page="/wellness/clinic/hours")
    assert ok.status_code == 302 and len(db.session.get(type(mine), mine.id).hours) == 1
    refused = auth.post(f"/wellness/clinicians/{theirs.id}/hours", {"weekdays": ["0"], "starts": "08:00",
                                                                    "ends": "10:00", "slot_minutes": "30",
                                                                    "valid_from": "2026-03-01"},
                        form_page="/wellness/clinic/hours")
    assert refused.status_code == 403


def test_license_expiring_within_thirty_days_warns_hr_by_page_and_email_once(auth, client, runner, smtp_server, now):
    factories.user(roles=["hr"], email="hr.desk@pd.test")
    factories.clinician(name="Dr. Soon Lapsing", expires=date(2026, 3, 25))
    factories.clinician(name="Dr. Long Valid", expires=date(2027, 3, 25))
    runner.invoke(args=["reminders", "run"])
    runner.invoke(args=["reminders", "run"])
    deliver(runner)
    [warning] = smtp_server.to("hr.desk@pd.test")
    assert "25 March 2026" in warning["Subject"] and "Dr. Soon Lapsing" in smtp_server.text(warning)
    auth.login("hr.desk@pd.test")
    page = client.get("/wellness/").get_data(as_text=True)
    assert "Dr. Soon Lapsing" in page.split("Licenses expiring")[1] and "Dr. Long Valid" not in page


# --- the dashboard ---------------------------------------------------------------------------

def test_dashboard_counts_each_state_per_unit_and_exports_csv(auth, client, now):
    north = [factories.officer(unit_name="North") for _ in range(4)]
    south = factories.officer(unit_name="South")
    factories.evaluation(north[0], due_on=date(2026, 2, 20))                  # overdue
    factories.evaluation(north[1], due_on=date(2026, 3, 20))                  # due soon, not booked
    factories.appointment(factories.evaluation(north[2], due_on=date(2026, 3, 25)))   # booked, awaiting
    done = factories.evaluation(south, status="open", due_on=date(2026, 1, 10))
    done.status, done.completed_on = EvaluationStatus.COMPLETED, date(2026, 1, 5)
    db.session.commit()
    auth.as_role("hr")
    page = client.get("/wellness/").get_data(as_text=True)
    for state, count in (("overdue", 1), ("due_soon", 1), ("awaiting_confirmation", 1), ("completed", 1)):
        assert f'id="count-{state}">{count}<' in page, state
    assert "20.0% compliant (1 of 5 officers" in page
    unit_rows = page.split('id="unit-compliance"')[1].split("</table>")[0]
    assert "North" in unit_rows and "0.0%" in unit_rows and "100.0%" in unit_rows
    overdue_only = client.get("/wellness/?state=overdue").get_data(as_text=True).split('id="evaluations"')[1]
    assert north[0].last_name in overdue_only and north[1].last_name not in overdue_only
    csv_text = client.get("/wellness/dashboard.csv").get_data(as_text=True)
    header, *rows = csv_text.strip().splitlines()
    assert header == "badge_number,last_name,first_name,unit,kind,status,state,due_on,appointment,completed_on"
    assert len(rows) == 4 and any(",overdue,2026-02-20," in r for r in rows)


def test_the_dashboards_sql_states_agree_with_the_rule(app, now):
    """The dashboard counts in SQL; wellness.rules.dashboard_state is the decision.
    Every combination of status, due date, officer status and appointment agrees."""
    from wellness import rules
    from core.department import today
    day = today()
    cases = []
    for due in (day - timedelta(days=1), day, day + timedelta(days=30), day + timedelta(days=31)):
        for officer_status in (OfficerStatus.ACTIVE, OfficerStatus.LEAVE):
            for appointment in (None, "booked", "confirmed"):
                for flag in (None, "no_show", "booked_late"):  # an item on the Needs attention list, or none
                    officer = factories.officer(status=officer_status)
                    evaluation = factories.evaluation(officer, due_on=due)
                    evaluation.attention = flag
                    if appointment:
                        factories.appointment(evaluation, starts_at=MONDAY + timedelta(days=2, hours=len(cases)),
                                              status=appointment)
                    cases.append((evaluation.id, officer_status.value, appointment, flag))
    total, lines = evaluations._lines(day, None, None, 0, 1000)
    assert total == len(cases)
    by_id = {line.id: line for line in lines}
    for evaluation_id, officer_status, appointment, flag in cases:
        evaluation = db.session.get(WellnessEvaluation, evaluation_id)
        expected = rules.dashboard_state(evaluation.status.value, evaluation.due_on, day, officer_status, appointment,
                                         attention=flag)
        assert by_id[evaluation_id].state == expected, (evaluation.due_on, officer_status, appointment, flag)
    # The list filtered by a state (read through the index on due dates, with conditions
    # each state implies) holds exactly the evaluations in that state, in due-date order.
    for state in evaluations.STATES:
        if state == "completed":
            continue
        expected = sorted((line.due_on, line.id) for line in lines if line.state == state)
        listed, page = evaluations._lines(day, None, state, 0, 1000)
        assert [(line.due_on, line.id) for line in page] == expected and listed == len(expected), state
