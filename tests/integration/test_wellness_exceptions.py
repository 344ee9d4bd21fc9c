"""Off the happy path in wellness: deadlines, declines, cancellations, proposals, blocked
days and the Needs attention list, through the pages, with mail read at a real SMTP server.

Monday 2 March 2026, 09:00 in Chicago. The clinician sees officers every day 09:00-17:00
in one-hour slots; the evaluation is due Wednesday 4 March, so Monday 10:00 to Wednesday
16:00 are on time and Thursday on is after the due date.
"""
import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core import clock
from core.db import db
from core.models import AuditEntry
from tests import factories
from wellness.models import Appointment, AppointmentStatus, AttentionItem, EvaluationStatus, WellnessEvaluation
from wellness.services import appointments

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)        # 09:00 CST
TUESDAY_10 = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)    # 10:00 CST, on time
TUESDAY_11 = TUESDAY_10 + timedelta(hours=1)
THURSDAY_10 = datetime(2026, 3, 5, 16, 0, tzinfo=timezone.utc)   # after the due date
DUE = date(2026, 3, 4)
FORBIDDEN_WORDS = ("mental", "health", "incident", "trauma", "death", "shooting", "psych", "counsel")


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


@pytest.fixture
def now():
    with clock.frozen(MONDAY):
        yield MONDAY


def deliver(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


def ics_of(message):
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content()).walk("VEVENT")[0]


def scene(first="Dana", last="Reed", due=DUE):
    officer = factories.officer(first=first, last=last, email=f"{first.lower()}.{last.lower()}@pd.test")
    officer_user = factories.user(roles=["officer"], officer_row=officer)
    evaluation = factories.evaluation(officer, kind="incident", due_on=due)
    return officer, officer_user, evaluation


@pytest.fixture
def clinic(app, now):
    user = factories.user(roles=["clinician"], email="dr.vale@clinic.test", name="Dr. Iris Vale")
    clinician = factories.clinician(name="Dr. Iris Vale", user_row=user, email="dr.vale@clinic.test")
    hr = factories.user(roles=["hr"], email="hr.desk@pd.test")
    return user, clinician, hr


def book_page(client, evaluation, clinician):
    return client.get(f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}").get_data(as_text=True)


def post_booking(auth, evaluation, clinician, starts_at, **extra):
    page = f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}"
    return auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                     {"starts_at": starts_at.isoformat(), "clinician_id": clinician.id, **extra}, form_page=page)


def open_items(evaluation):
    return {i.kind: i for i in db.session.scalars(select(AttentionItem).where(
        AttentionItem.evaluation_id == evaluation.id, AttentionItem.resolved_at.is_(None)))}


# --- 1. deadline-aware booking ------------------------------------------------------------------

def test_officer_is_offered_only_times_by_the_due_date_and_cannot_book_later(auth, client, clinic):
    _, clinician, _ = clinic
    officer, officer_user, evaluation = scene()
    auth.login(officer_user.email)
    page = book_page(client, evaluation, clinician)
    assert "Tuesday 03 March 2026" in page and "Wednesday 04 March 2026" in page
    assert "Thursday 05 March 2026" not in page and "late-slots" not in page
    response = post_booking(auth, evaluation, clinician, THURSDAY_10)
    assert response.status_code == 422
    assert "after the due date" in response.get_data(as_text=True)
    assert db.session.get(WellnessEvaluation, evaluation.id).status == EvaluationStatus.OPEN


def test_hr_books_after_the_due_date_only_with_confirmation_and_reason(auth, client, clinic):
    _, clinician, hr = clinic
    officer, _, evaluation = scene()
    auth.login(hr.email)
    page = book_page(client, evaluation, clinician)
    late = page[page.index('id="late-slots"'):]
    assert 'aria-label="Thursday 05 March at 10:00 CST, after the due date"' in late and "Tue 03 Mar" not in late
    refused = post_booking(auth, evaluation, clinician, THURSDAY_10, late_reason="")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "confirm it and give a reason" in text and 'id="booking-confirm"' in text  # the confirmation again
    assert db.session.scalar(select(Appointment.id).where(Appointment.evaluation_id == evaluation.id)) is None
    booked = post_booking(auth, evaluation, clinician, THURSDAY_10, late_reason="Officer on nights until Thursday",
                          late_confirmed="y")
    assert booked.status_code == 302
    appointment = db.session.scalar(select(Appointment).where(Appointment.evaluation_id == evaluation.id))
    assert appointment.late_reason == "Officer on nights until Thursday"
    assert open_items(evaluation)["booked_late"].detail == "Officer on nights until Thursday"
    record = client.get(f"/wellness/officers/{officer.id}").get_data(as_text=True)
    assert "Booked after the due date: Officer on nights until Thursday" in record
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.booked"))
    assert "Officer on nights until Thursday" in audit.detail and audit.private


def test_an_officer_with_no_time_before_the_due_date_is_told_to_contact_hr_and_hr_is_told(
        auth, client, runner, smtp_server, clinic):
    _, clinician, _ = clinic
    officer, officer_user, evaluation = scene(due=date(2026, 3, 2))  # due today, and today's slots are taken
    for hour in range(9, 17):
        other = factories.evaluation(factories.officer())
        factories.appointment(other, clinician, datetime(2026, 3, 2, hour + 6, tzinfo=timezone.utc))
    auth.login(officer_user.email)
    page = book_page(client, evaluation, clinician)
    assert 'id="no-time-by-due"' in page and "contact HR" in page
    book_page(client, evaluation, clinician)  # a second look alerts no one again
    assert set(open_items(evaluation)) == {"no_slots"}
    deliver(runner)
    [to_hr] = smtp_server.to("hr.desk@pd.test")
    assert to_hr["Subject"] == f"No time before the due date: Dana Reed ({officer.badge_number})"
    assert f"/wellness/officers/{officer.id}" in smtp_server.text(to_hr)
    # HR books a time after the due date: the alert is answered.
    hr = factories.user(roles=["hr"])
    auth.logout()
    auth.login(hr.email)
    post_booking(auth, evaluation, clinician, TUESDAY_10, late_reason="First free time", late_confirmed="y")
    assert set(open_items(evaluation)) == {"booked_late"}
    resolved = db.session.scalar(select(AttentionItem).where(AttentionItem.kind == "no_slots"))
    assert resolved.resolution == "rebooked"


# --- 2. declines, cancellations, no-shows on the list, until someone acts --------------------------

def test_clinician_cancels_a_confirmed_appointment_and_hr_rebooks_it(auth, client, runner, smtp_server, clinic):
    clinician_user, clinician, hr = clinic
    officer, _, evaluation = scene()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10, status="confirmed")
    auth.login(clinician_user.email)
    refused = auth.post(f"/wellness/appointments/{appointment.id}/decline", {"reason": ""},
                        form_page=f"/wellness/clinic/appointments/{appointment.id}")
    assert refused.status_code == 302 and db.session.get(Appointment, appointment.id).is_active
    auth.post(f"/wellness/appointments/{appointment.id}/decline", {"reason": "Ill this week"},
              form_page=f"/wellness/clinic/appointments/{appointment.id}")
    cancelled = db.session.get(Appointment, appointment.id)
    assert cancelled.status == AppointmentStatus.DECLINED and cancelled.decline_reason == "Ill this week"
    reopened = db.session.get(WellnessEvaluation, evaluation.id)
    assert reopened.status == EvaluationStatus.OPEN and reopened.due_on == DUE
    assert reopened.attention == "clinician_cancelled"
    deliver(runner)
    [to_officer] = smtp_server.to("dana.reed@pd.test")
    assert to_officer["Subject"] == "Cancelled: appointment on Tue 3 March at 10:00 CST"
    assert "Ill" not in smtp_server.text(to_officer)
    assert ics_of(to_officer)["STATUS"] == "CANCELLED"
    [to_hr] = smtp_server.to("hr.desk@pd.test")
    assert to_hr["Subject"] == f"Cancelled: Dana Reed ({officer.badge_number}), appointment on Tue 3 March at 10:00 CST"
    assert "Ill this week" not in smtp_server.text(to_hr)
    # HR sees it on the list and on the dashboard, then books again; the declined time is not offered.
    auth.logout()
    auth.login(hr.email)
    listing = client.get("/wellness/attention").get_data(as_text=True)
    assert "Cancelled by the clinician" in listing and "Reason: Ill this week" in listing
    dashboard = client.get("/wellness/?state=clinician_cancelled").get_data(as_text=True)
    assert "Reed, Dana" in dashboard
    assert "Tuesday 03 March" in (page := book_page(client, evaluation, clinician))
    assert 'aria-label="Book Tuesday 03 March at 10:00 CST"' not in page
    assert 'aria-label="Book Tuesday 03 March at 11:00 CST"' in page
    post_booking(auth, evaluation, clinician, TUESDAY_11)
    assert open_items(evaluation) == {} and db.session.get(WellnessEvaluation, evaluation.id).attention is None
    assert 'id="attention-empty"' in client.get("/wellness/attention").get_data(as_text=True)


def test_the_declined_time_is_still_offered_to_other_officers(auth, client, clinic):
    clinician_user, clinician, hr = clinic
    _, _, evaluation = scene()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10)
    appointments.decline(factories.actor_for(clinician_user), appointment.id, "Away that morning")
    _, _, other = scene("Lee", "Park")
    auth.login(hr.email)
    assert 'aria-label="Book Tuesday 03 March at 10:00 CST"' in book_page(client, other, clinician)
    assert 'aria-label="Book Tuesday 03 March at 10:00 CST"' not in book_page(client, evaluation, clinician)


def test_no_show_is_a_dashboard_state_in_the_counts_filter_and_csv(auth, client, clinic):
    clinician_user, clinician, hr = clinic
    officer, _, evaluation = scene()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10, status="confirmed")
    clock.advance(timedelta(days=1, hours=2))
    appointments.record_attendance(factories.actor_for(clinician_user), appointment.id, attended=False)
    auth.login(hr.email)
    page = client.get("/wellness/").get_data(as_text=True)
    assert 'id="count-no_show">Did not attend: 1<' in page
    rows = list(csv.DictReader(io.StringIO(client.get("/wellness/dashboard.csv?state=no_show").get_data(as_text=True))))
    assert [(r["badge_number"], r["state"]) for r in rows] == [(officer.badge_number, "no_show")]
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-attention"><strong>1</strong> needs attention' in home


def test_hr_keeps_an_item_with_a_reason_and_it_leaves_the_list_audited(auth, client, clinic):
    _, clinician, hr = clinic
    officer, _, evaluation = scene()
    auth.login(hr.email)
    post_booking(auth, evaluation, clinician, THURSDAY_10, late_reason="Court all week", late_confirmed="y")
    item = open_items(evaluation)["booked_late"]
    refused = auth.post(f"/wellness/attention/{item.id}/keep", {"note": ""}, form_page="/wellness/attention")
    assert refused.status_code == 302 and open_items(evaluation)
    auth.post(f"/wellness/attention/{item.id}/keep", {"note": "Earliest the officer can attend", "officer": officer.id},
              form_page="/wellness/attention")
    assert open_items(evaluation) == {}
    kept = db.session.get(AttentionItem, item.id)
    assert (kept.resolution, kept.note, kept.resolved_by_id) == ("kept", "Earliest the officer can attend", hr.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "attention.resolved"))
    assert "kept (Earliest the officer can attend)" in entry.detail and entry.private
    record = client.get(f"/wellness/officers/{officer.id}").get_data(as_text=True)
    assert "kept (Earliest the officer can attend)" in record


# --- 3. proposals hold ------------------------------------------------------------------------------

def test_a_proposed_time_is_held_for_the_officer_and_accepting_it_confirms(auth, client, runner, smtp_server, clinic):
    clinician_user, clinician, hr = clinic
    officer, officer_user, evaluation = scene()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10)
    appointments.propose(factories.actor_for(clinician_user), appointment.id, TUESDAY_11)
    _, _, other = scene("Lee", "Park")
    auth.login(hr.email)
    assert 'aria-label="Book Tuesday 03 March at 11:00 CST"' not in book_page(client, other, clinician)
    assert post_booking(auth, other, clinician, TUESDAY_11).status_code == 422
    auth.logout()
    auth.login(officer_user.email)
    officer_page = client.get("/wellness/me").get_data(as_text=True)
    assert "New time proposed: <strong>Tue 03 Mar 11:00 CST</strong>" in officer_page
    auth.post(f"/wellness/appointments/{appointment.id}/accept", {}, form_page="/wellness/me")
    accepted = db.session.get(Appointment, appointment.id)
    assert (accepted.starts_at, accepted.status, accepted.proposed_starts_at) == (
        TUESDAY_11, AppointmentStatus.CONFIRMED, None)
    assert open_items(evaluation) == {}
    deliver(runner)
    mail = smtp_server.to("dana.reed@pd.test")
    [proposal] = [m for m in mail if m["Subject"].startswith("New time")]
    [confirmed] = [m for m in mail if m["Subject"].startswith("Confirmed")]
    assert proposal["Subject"] == "New time proposed: Tue 3 March at 11:00 CST (instead of Tue 3 March at 10:00 CST)"
    assert "Tuesday 03 March 2026 at 11:00" in smtp_server.text(proposal)
    assert confirmed["Subject"] == "Confirmed: appointment on Tue 3 March at 11:00 CST"
    event = ics_of(confirmed)
    assert event["STATUS"] == "CONFIRMED" and event["UID"] == appointment.uid and event["SEQUENCE"] == 1
    [to_clinician] = [m for m in smtp_server.to("dr.vale@clinic.test") if m["Subject"].startswith("Confirmed")]
    assert "accepted the time you proposed" in smtp_server.text(to_clinician)


def test_an_unanswered_proposal_expires_after_48_hours_and_hr_is_told(runner, smtp_server, clinic):
    clinician_user, clinician, _ = clinic
    officer, _, evaluation = scene(due=date(2026, 3, 20))
    appointment = factories.appointment(evaluation, clinician, datetime(2026, 3, 10, 16, tzinfo=timezone.utc),
                                        status="confirmed")
    held = datetime(2026, 3, 11, 16, tzinfo=timezone.utc)
    appointments.propose(factories.actor_for(clinician_user), appointment.id, held)
    clock.advance(timedelta(hours=47))
    runner.invoke(args=["reminders", "run"])
    assert set(open_items(evaluation)) == {"proposal_waiting"}
    clock.advance(timedelta(hours=2))
    runner.invoke(args=["reminders", "run"])
    assert set(open_items(evaluation)) == {"proposal_expired"}
    assert db.session.get(Appointment, appointment.id).proposed_starts_at is None
    assert held in [s for s, _ in appointments.proposable(factories.appointment(
        factories.evaluation(factories.officer()), clinician, datetime(2026, 3, 12, 16, tzinfo=timezone.utc)))]
    deliver(runner)
    subjects = [m["Subject"] for m in smtp_server.to("hr.desk@pd.test")]
    assert f"No answer to proposed time: Dana Reed ({officer.badge_number}), appointment on Tue 10 March at 11:00 CDT" \
        in subjects, subjects


# --- 4. a clinician blocks a day that has appointments ----------------------------------------------

def test_blocking_a_day_asks_about_each_appointment_then_proposes_or_cancels(auth, client, runner, smtp_server,
                                                                            clinic):
    clinician_user, clinician, hr = clinic
    dana, _, first = scene()
    lee, _, second = scene("Lee", "Park")
    kept = factories.appointment(first, clinician, TUESDAY_10, status="confirmed")
    dropped = factories.appointment(second, clinician, TUESDAY_11)
    auth.login(clinician_user.email)
    page = auth.post(f"/wellness/clinicians/{clinician.id}/blocks",
                     {"day": "2026-03-03", "note": "Family matter", "back": "clinic"},
                     form_page="/wellness/clinic/hours")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Dana Reed" in text and "Lee Park" in text
    assert "Propose Monday 02 March at 10:00 CST instead" in text
    assert not db.session.scalars(select(Appointment).where(Appointment.status == AppointmentStatus.DECLINED)).all()
    auth.post(f"/wellness/clinicians/{clinician.id}/blocks",
              {"day": "2026-03-03", "note": "Family matter", "back": "clinic", f"decision-{kept.id}": "propose",
               f"decision-{dropped.id}": "cancel"}, form_page="/wellness/clinic/hours")
    assert db.session.get(Appointment, dropped.id).status == AppointmentStatus.DECLINED
    moved = db.session.get(Appointment, kept.id)
    assert moved.is_active and moved.proposed_starts_at == datetime(2026, 3, 2, 16, tzinfo=timezone.utc)
    assert set(open_items(first)) == {"clinician_unavailable", "proposal_waiting"}
    assert set(open_items(second)) == {"declined"}
    assert db.session.get(WellnessEvaluation, second.id).due_on == DUE
    deliver(runner)
    # The clinician's note is for HR's eyes on the record, not for a mailbox.
    assert "Family matter" in open_items(first)["clinician_unavailable"].detail
    assert not any("Family matter" in smtp_server.text(m) for m in smtp_server.messages)
    hr_subjects = sorted(m["Subject"] for m in smtp_server.to("hr.desk@pd.test"))
    assert hr_subjects == [
        f"Clinician unavailable: Dana Reed ({dana.badge_number}), appointment on Tue 3 March at 10:00 CST",
        f"Declined: Lee Park ({lee.badge_number}), appointment on Tue 3 March at 11:00 CST"]
    [to_dana] = smtp_server.to("dana.reed@pd.test")
    assert to_dana["Subject"] == "New time proposed: Mon 2 March at 10:00 CST (instead of Tue 3 March at 10:00 CST)"
    [to_lee] = smtp_server.to("lee.park@pd.test")
    assert to_lee["Subject"] == "Cancelled: appointment on Tue 3 March at 11:00 CST"
    for message in (to_dana, to_lee):
        assert not any(word in smtp_server.text(message).lower() for word in FORBIDDEN_WORDS)


# --- 5. confirmations and what time brings ----------------------------------------------------------

def test_confirming_sends_a_confirmed_calendar_entry_with_the_same_uid(auth, runner, smtp_server, clinic):
    clinician_user, clinician, _ = clinic
    _, _, evaluation = scene()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10)
    auth.login(clinician_user.email)
    auth.post(f"/wellness/appointments/{appointment.id}/confirm", {},
              form_page=f"/wellness/clinic/appointments/{appointment.id}")
    deliver(runner)
    [to_officer] = smtp_server.to("dana.reed@pd.test")
    assert to_officer["Subject"] == "Confirmed: appointment on Tue 3 March at 10:00 CST"
    event = ics_of(to_officer)
    assert (event["UID"], event["SEQUENCE"], event["STATUS"]) == (appointment.uid, 1, "CONFIRMED")
    [to_clinician] = smtp_server.to("dr.vale@clinic.test")
    assert str(ics_of(to_clinician)["SUMMARY"]) == "Appointment with Dana Reed"


def test_time_raises_unconfirmed_and_license_flags_and_resolves_them_when_no_longer_true(runner, clinic):
    clinician_user, clinician, _ = clinic
    _, _, evaluation = scene(due=date(2026, 3, 20))
    appointment = factories.appointment(evaluation, clinician, datetime(2026, 3, 12, 15, tzinfo=timezone.utc))
    clinician.license_expires = date(2026, 3, 10)
    db.session.commit()
    runner.invoke(args=["reminders", "run"])
    assert set(open_items(evaluation)) == {"license_expiring"}
    clock.advance(timedelta(hours=49))
    runner.invoke(args=["reminders", "run"])
    assert set(open_items(evaluation)) == {"license_expiring", "unconfirmed"}
    assert db.session.get(WellnessEvaluation, evaluation.id).attention == "license_expiring"
    clinician.license_expires = date(2028, 3, 10)  # renewed
    db.session.commit()
    appointments.confirm(factories.actor_for(clinician_user), appointment.id)
    runner.invoke(args=["reminders", "run"])
    assert open_items(evaluation) == {}
    assert db.session.get(WellnessEvaluation, evaluation.id).attention is None


# --- 6. what an independent review found ------------------------------------------------------------

def test_a_late_booking_moved_on_time_is_flagged_again_when_the_deadline_moves(clinic):
    _, clinician, hr = clinic
    hr_actor = factories.actor_for(hr)
    _, _, evaluation = scene()
    booked = appointments.book(hr_actor, evaluation.id, clinician.id, THURSDAY_10, late_reason="Nights",
                               late_confirmed=True)
    appointments.reschedule(hr_actor, booked.id, TUESDAY_10)
    assert db.session.get(Appointment, booked.id).late_reason == ""
    assert open_items(evaluation) == {}
    evaluation = db.session.get(WellnessEvaluation, evaluation.id)
    evaluation.due_on = date(2026, 3, 2)  # an incident brings it forward past Tuesday
    appointments.deadline_moved(hr_actor, evaluation)
    db.session.commit()
    assert set(open_items(evaluation)) == {"deadline_moved"}


def test_what_hr_kept_is_not_raised_again_by_the_next_sweep_or_page_view(auth, client, runner, clinic):
    _, clinician, hr = clinic
    officer, officer_user, evaluation = scene(due=date(2026, 3, 20))
    factories.appointment(evaluation, clinician, datetime(2026, 3, 12, 15, tzinfo=timezone.utc), status="confirmed")
    clinician.license_expires = date(2026, 3, 10)
    db.session.commit()
    runner.invoke(args=["reminders", "run"])
    from wellness.services import attention
    attention.keep(factories.actor_for(hr), open_items(evaluation)["license_expiring"].id, "Renewal is in the post")
    runner.invoke(args=["reminders", "run"])
    assert open_items(evaluation) == {}
    # The officer with no time by the due date: HR keeps it; reloading the page does not bring it back.
    _, late_user, late = scene("Lee", "Park", due=date(2026, 3, 1))
    auth.login(late_user.email)
    book_page(client, late, clinician)
    attention.keep(factories.actor_for(hr), open_items(late)["no_slots"].id, "Booked by phone")
    book_page(client, late, clinician)
    assert open_items(late) == {}


def test_moving_the_appointment_answers_an_expired_proposal(clinic):
    clinician_user, clinician, hr = clinic
    _, _, evaluation = scene(due=date(2026, 3, 20))
    appointment = factories.appointment(evaluation, clinician, datetime(2026, 3, 10, 16, tzinfo=timezone.utc),
                                        status="confirmed")
    appointments.propose(factories.actor_for(clinician_user), appointment.id,
                         datetime(2026, 3, 11, 16, tzinfo=timezone.utc))
    clock.advance(timedelta(hours=49))
    appointments.sweep_exceptions()
    assert set(open_items(evaluation)) == {"proposal_expired"}
    appointments.reschedule(factories.actor_for(hr), appointment.id, datetime(2026, 3, 12, 16, tzinfo=timezone.utc))
    assert open_items(evaluation) == {}


def test_blocking_the_day_of_a_proposed_time_withdraws_it(clinic):
    clinician_user, clinician, _ = clinic
    _, officer_user, evaluation = scene()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10, status="confirmed")
    clinic_actor = factories.actor_for(clinician_user)
    appointments.propose(clinic_actor, appointment.id, datetime(2026, 3, 4, 16, tzinfo=timezone.utc))
    assert appointments.block_day(clinic_actor, clinician.id, date(2026, 3, 4)) == 0
    assert db.session.get(Appointment, appointment.id).proposed_starts_at is None
    assert open_items(evaluation) == {}
    with pytest.raises(Exception, match="no proposed time"):
        appointments.accept_proposal(factories.actor_for(officer_user), appointment.id)
    assert db.session.get(Appointment, appointment.id).starts_at == TUESDAY_10


def test_a_confirmed_appointment_cancelled_after_a_request_to_move_counts_as_a_cancellation(clinic):
    clinician_user, clinician, _ = clinic
    _, officer_user, evaluation = scene()
    appointment = factories.appointment(evaluation, clinician, TUESDAY_10)
    appointments.confirm(factories.actor_for(clinician_user), appointment.id)
    appointments.request_reschedule(factories.actor_for(officer_user), appointment.id)
    appointments.decline(factories.actor_for(clinician_user), appointment.id, "Ill")
    assert set(open_items(evaluation)) == {"clinician_cancelled"}


def test_an_evaluation_whose_incident_was_withdrawn_closes_when_its_kept_appointment_is_declined(clinic):
    clinician_user, clinician, hr = clinic
    from wellness.models import IncidentType
    from wellness.services import incidents
    officer, _, _ = scene("Lee", "Park", due=date(2027, 1, 1))
    hr_actor = factories.actor_for(hr)
    for e in db.session.scalars(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id)):
        e.status = EvaluationStatus.COMPLETED  # the annual one is done: the incident opens a new one
        e.completed_on = date(2026, 2, 1)
    db.session.commit()
    kind = db.session.scalar(select(IncidentType).where(IncidentType.window_days == 14))
    result = incidents.record_incident(hr_actor, type_id=kind.id, occurred_on=date(2026, 3, 1), description="x",
                                       officer_ids=[officer.id], unit_ids=[])
    evaluation = db.session.scalar(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id,
                                                                    WellnessEvaluation.status == EvaluationStatus.OPEN))
    booked = appointments.book(hr_actor, evaluation.id, clinician.id, TUESDAY_10)
    incidents.withdraw_incident(hr_actor, result.incident.id, "Recorded twice")
    assert set(open_items(evaluation)) == {"incident_withdrawn"}
    appointments.decline(factories.actor_for(clinician_user), booked.id, "Away")
    closed = db.session.get(WellnessEvaluation, evaluation.id)
    assert closed.status == EvaluationStatus.CLOSED and closed.closed_reason == "incident withdrawn"
    assert open_items(closed) == {}


def test_the_migration_holds_a_proposal_made_before_it(database_url, tmp_path):
    """A proposal stored by revision 0011 (a start, no end, no time of proposing) is held
    after 0012 for its appointment's length, from the upgrade."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from tests.conftest import MIGRATIONS, make_app
    app = make_app(database_url)
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0011_job_problems")
        clinician = factories.clinician()
        officer = factories.officer()
        with db.engine.begin() as conn:
            evaluation_id = conn.execute(sa.text(
                "INSERT INTO wellness_evaluations (officer_id, kind, status, due_on, opened_on, closed_reason, "
                "created_at) VALUES (:o, 'annual', 'scheduled', '2026-04-01', '2026-02-01', '', :now) RETURNING id"),
                {"o": officer.id, "now": MONDAY}).scalar()
            conn.execute(sa.text(
                "INSERT INTO appointments (evaluation_id, clinician_id, officer_id, starts_at, ends_at, status, uid, "
                "sequence, decline_reason, proposed_starts_at, booked_at) VALUES (:e, :c, :o, :s, :end, 'booked', "
                "'legacy@beacon', 0, '', :p, :b)"),
                {"e": evaluation_id, "c": clinician.id, "o": officer.id, "s": TUESDAY_10,
                 "end": TUESDAY_10 + timedelta(minutes=50), "p": THURSDAY_10, "b": MONDAY - timedelta(days=9)})
        upgrade(directory=MIGRATIONS)
        legacy = db.session.scalar(select(Appointment).where(Appointment.uid == "legacy@beacon"))
        assert legacy.proposed_ends_at == THURSDAY_10 + timedelta(minutes=50)
        assert legacy.proposed_at > MONDAY  # from the upgrade: not expired at once
