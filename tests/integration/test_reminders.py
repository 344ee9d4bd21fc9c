"""Reminders through the sweep and the outbox: on time, exactly once, never for
something no longer true, never to a disabled account."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.models import AccountStatus, User
from core.models import OutboxMessage, OutboxStatus
from tests import factories
from wellness.models import AttentionItem
from wellness.services import appointments, reminders

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)  # Monday 09:00 CST


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def reminder_keys():
    return sorted(db.session.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.like("remind:%"))))


def run(runner, at):
    result = runner.invoke(args=["reminders", "run", "--now", at.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def officer_with_account(**kwargs):
    officer = factories.officer(**kwargs)
    user = factories.user(roles=["officer"], officer_row=officer)
    return officer, user


def appointment_reminders(appointment):
    return db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedup_key.like(f"remind:appt:{appointment.id}:%")).order_by(OutboxMessage.dedup_key)).all()


def time_key(appointment):
    return f"remind:appt:{appointment.id}:t{int(appointment.starts_at.timestamp())}"


def test_coming_due_reminders_at_30_14_and_7_days_each_once(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        evaluation = factories.evaluation(officer, due_on=date(2026, 4, 30))
    for day, expected in ((date(2026, 3, 30), []), (date(2026, 3, 31), ["30d"]), (date(2026, 4, 16), ["30d", "14d"]),
                          (date(2026, 4, 23), ["14d", "30d", "7d"])):
        moment = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)
        run(runner, moment)
        run(runner, moment)  # a second sweep at the same moment queues nothing
        keys = reminder_keys()
        assert [k.rsplit(":", 1)[1] for k in keys] == sorted(expected), (day, keys)
    [message] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.endswith(":7d"))).all()
    assert message.recipient == user.email and f"/wellness/evaluations/{evaluation.id}/book" in message.body
    assert message.subject == "Beacon: please book by 30 April"
    # Rendered once per sweep without the request's context: the same words as any email.
    assert message.body == (f"Hello {officer.first_name} {officer.last_name},\n\n"
                            "You have an appointment to book by Thursday 30 April 2026.\n\n"
                            f"Book a time that suits you: http://beacon.test/wellness/evaluations/{evaluation.id}/book"
                            "\n\nIf you would like to talk to someone, these people are here for you: "
                            "http://beacon.test/wellness/support"
                            "\n\n-- Beacon")
    assert message.private and message.expires_at == datetime(2026, 5, 1, 5, tzinfo=timezone.utc)  # midnight CDT


def test_after_three_days_of_downtime_one_sweep_sends_one_current_reminder(runner, app, smtp_server):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        clinician = factories.clinician()
        starts = T0 + timedelta(days=3, hours=20)           # 92 hours ahead of T0
        factories.appointment(factories.evaluation(officer), clinician, starts, status="confirmed")
    # The scheduler was down for three days: the 72-hour moment passed long ago.
    output = run(runner, starts - timedelta(hours=10))
    assert "wellness.appointment: 2" in output              # the 24-hour one, to officer and clinician
    assert [k.rsplit(":", 1)[1] for k in reminder_keys()] == ["24h", "24h"]
    assert "queued 0" in run(runner, starts - timedelta(hours=9))


def test_appointment_reminders_72_then_24_hours_before(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        clinician = factories.clinician(email="dr.remind@clinic.test")
        starts = T0 + timedelta(days=5)
        appointment = factories.appointment(factories.evaluation(officer), clinician, starts, status="confirmed")
    run(runner, starts - timedelta(hours=73))
    assert reminder_keys() == []
    run(runner, starts - timedelta(hours=72))
    run(runner, starts - timedelta(hours=24))
    run(runner, starts - timedelta(hours=1))
    prefix = time_key(appointment)
    assert reminder_keys() == sorted([f"{prefix}:clinician:24h", f"{prefix}:clinician:72h",
                                      f"{prefix}:officer:24h", f"{prefix}:officer:72h"])
    to_clinician = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "dr.remind@clinic.test")
                                      .order_by(OutboxMessage.dedup_key)).all()
    # Saturday 7 March 09:00 CST: named by its date three days before, "tomorrow" the day before.
    assert [m.subject for m in to_clinician] == ["Reminder: appointment tomorrow at 09:00 CST",
                                                 "Reminder: appointment on Sat 7 March at 09:00 CST"]
    assert f"with {officer.full_name} tomorrow at 09:00 CST." in to_clinician[0].body
    assert f"with {officer.full_name} on Saturday 07 March at 09:00 CST." in to_clinician[1].body
    assert not any("in about" in m.body or "hours" in m.body for m in appointment_reminders(appointment))


def test_a_booking_ten_minutes_ahead_gets_one_reminder_saying_today(runner, app, smtp_server):
    booked = datetime(2026, 3, 3, 15, 50, tzinfo=timezone.utc)   # Tuesday 09:50 CST
    with clock.frozen(booked):
        officer, user = officer_with_account(first="Ada", last="Quick")
        clinician = factories.clinician(name="Dr. Iris Vale", email="dr.vale@clinic.test", modality="telehealth")
        starts = booked + timedelta(minutes=10)
        appointment = factories.appointment(factories.evaluation(officer), clinician, starts, status="confirmed")
    for minutes in (0, 1, 5, 9):
        with clock.frozen(booked + timedelta(minutes=minutes)):
            run(runner, clock.now())
    messages = appointment_reminders(appointment)
    assert [m.dedup_key.rsplit(":", 2)[1:] for m in messages] == [["clinician", "24h"], ["officer", "24h"]]
    with clock.frozen(booked + timedelta(minutes=2)):
        runner.invoke(args=["outbox", "deliver"])
    [to_officer] = smtp_server.to(user.email)
    assert to_officer["Subject"] == "Reminder: appointment today at 10:00 CST"
    text = smtp_server.text(to_officer).replace("\r\n", "\n")   # as the recipient reads it
    assert text.strip() == ("Hello Ada Quick,\n\n"
                            "A reminder: you have an appointment with Dr. Iris Vale today at 10:00 CST, "
                            "by video (telehealth).\n\n"
                            "Sign in to Beacon to see it: http://beacon.test/\n\n-- Beacon")
    assert "in about" not in text
    [to_clinician] = smtp_server.to("dr.vale@clinic.test")
    assert "with Ada Quick today at 10:00 CST." in smtp_server.text(to_clinician)


def test_a_booking_30_hours_ahead_gets_no_72_hour_reminder_only_the_one_for_tomorrow(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        starts = T0 + timedelta(hours=30)                   # Tuesday 15:00 CST
        appointment = factories.appointment(factories.evaluation(officer), starts_at=starts, status="confirmed")
    for hours in range(0, 30):
        run(runner, T0 + timedelta(hours=hours))
    messages = appointment_reminders(appointment)
    assert sorted(m.dedup_key.rsplit(":", 2)[1] + ":" + m.dedup_key.rsplit(":", 1)[1] for m in messages) == [
        "clinician:24h", "officer:24h"]
    assert {m.subject for m in messages} == {"Reminder: appointment tomorrow at 15:00 CST"}


def test_a_booking_five_days_ahead_gets_both_reminders(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        starts = T0 + timedelta(days=5)
        appointment = factories.appointment(factories.evaluation(officer), starts_at=starts, status="confirmed")
    for hours in range(0, 5 * 24, 6):
        run(runner, T0 + timedelta(hours=hours))
    to_officer = [m for m in appointment_reminders(appointment) if m.recipient == user.email]
    assert [m.dedup_key.rsplit(":", 1)[1] for m in to_officer] == ["24h", "72h"]


def test_confirming_raises_the_calendar_sequence_but_sends_no_second_reminder(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        clinician_user = factories.user(roles=["clinician"])
        clinician = factories.clinician(user_row=clinician_user)
        starts = T0 + timedelta(hours=20)
        appointment = factories.appointment(factories.evaluation(officer), clinician, starts)
        run(runner, T0)
        assert len(appointment_reminders(appointment)) == 2
        appointments.confirm(Actor.for_user(clinician_user), appointment.id)
        assert db.session.get(type(appointment), appointment.id).sequence == 1
    assert "wellness.appointment" not in run(runner, T0 + timedelta(minutes=5))
    assert len(appointment_reminders(appointment)) == 2


def test_cancelled_appointment_drops_its_pending_reminders_and_sends_no_more(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        starts = T0 + timedelta(hours=20)
        appointment = factories.appointment(factories.evaluation(officer), starts_at=starts, status="confirmed")
        run(runner, T0)   # the 24-hour reminders are queued, not yet delivered
        assert len(reminder_keys()) == 2
        appointments.cancel(Actor.for_user(user), appointment.id)
    statuses = {m.status for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedup_key.like("remind:%")))}
    assert statuses == {OutboxStatus.DROPPED}
    later = run(runner, starts - timedelta(hours=2))
    assert "wellness.appointment" not in later
    assert "wellness.coming_due: 1" in later  # the evaluation is open again: book another time


def test_rescheduled_appointment_gets_reminders_for_the_new_time(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        clinician = factories.clinician()
        starts = datetime(2026, 3, 4, 16, 0, tzinfo=timezone.utc)
        appointment = factories.appointment(factories.evaluation(officer), clinician, starts, status="confirmed")
        run(runner, T0)
        later = datetime(2026, 3, 6, 16, 0, tzinfo=timezone.utc)
        appointments.reschedule(Actor.for_user(user), appointment.id, later)
    run(runner, later - timedelta(hours=23))
    live = db.session.scalars(select(OutboxMessage.dedup_key).where(
        OutboxMessage.dedup_key.like("remind:%"), OutboxMessage.status == OutboxStatus.QUEUED)).all()
    # 50 hours after the move, still unconfirmed: the clinician is also nudged.
    assert sorted(k.split(":", 4)[4] for k in live) == ["clinician:24h", "officer:24h", "unconfirmed:clinician"]
    assert all(k.startswith(f"remind:appt:{appointment.id}:t{int(later.timestamp())}:") for k in live)


def test_completed_evaluation_gets_no_more_coming_due_reminders(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        evaluation = factories.evaluation(officer, due_on=date(2026, 3, 20))
        run(runner, T0)
        assert len(reminder_keys()) == 1
        evaluation.status = "completed"
        evaluation.completed_on = date(2026, 3, 2)
        db.session.commit()
    assert "queued 0" in run(runner, datetime(2026, 3, 14, 12, tzinfo=timezone.utc))


def test_a_disabled_account_gets_nothing(runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        factories.evaluation(officer, due_on=date(2026, 3, 20))
        db.session.get(User, user.id).status = AccountStatus.DISABLED
        no_account = factories.officer()
        factories.evaluation(no_account, due_on=date(2026, 3, 20))
        db.session.commit()
    assert "queued 0" in run(runner, T0)


def test_unconfirmed_booking_reminds_the_clinician_after_48_hours_and_hr_after_96(runner, app):
    with clock.frozen(T0):
        factories.user(roles=["hr"], email="hr.desk@pd.test")
        officer, _ = officer_with_account(first="Sam", last="Stone", badge="B7731")
        clinician = factories.clinician(name="Dr. Slow", email="dr.slow@clinic.test")
        appointment = factories.appointment(factories.evaluation(officer), clinician, T0 + timedelta(days=10))
    run(runner, T0 + timedelta(hours=47))
    assert reminder_keys() == []
    run(runner, T0 + timedelta(hours=48))
    run(runner, T0 + timedelta(hours=96))
    prefix = f"{time_key(appointment)}:unconfirmed"
    assert reminder_keys() == [f"{prefix}:clinician", f"{prefix}:hr:hr.desk@pd.test"]
    to_clinician, to_hr = (db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == key))
                           for key in (f"{prefix}:clinician", f"{prefix}:hr:hr.desk@pd.test"))
    # Thursday 12 March 10:00 CDT (the clocks went forward on the 8th).
    assert to_clinician.subject == to_hr.subject == "Unconfirmed: appointment on Thu 12 March at 10:00 CDT"
    assert "Sam Stone" not in to_clinician.body
    assert "Sign in to Beacon to see it: http://beacon.test/" in to_clinician.body
    assert "An appointment of Sam Stone (badge B7731) with Dr. Slow on Thursday 12 March 2026" in to_hr.body
    assert f"http://beacon.test/wellness/officers/{officer.id}" in to_hr.body


def test_hr_digest_lists_overdue_and_no_shows_once_a_day_and_never_the_reason(runner, app, smtp_server):
    with clock.frozen(T0):
        factories.user(roles=["hr"], email="hr.desk@pd.test")
        late = factories.officer(first="Lou", last="Late")
        factories.evaluation(late, kind="incident", due_on=date(2026, 2, 20))
        assert reminders.digest() == 1
        assert reminders.digest() == 0
        runner.invoke(args=["outbox", "deliver"])  # the same day: a digest expires at the next one
    [digest] = smtp_server.to("hr.desk@pd.test")
    text = smtp_server.text(digest)
    assert "Late, Lou" in text and "due 20 February 2026" in text
    assert "incident" not in text.lower() and "annual" not in text.lower()
    assert "Needs attention" not in text


def test_hr_digest_lists_the_open_needs_attention_items(runner, app, smtp_server):
    with clock.frozen(T0):
        factories.user(roles=["hr"], email="hr.desk@pd.test")
        declined = factories.evaluation(factories.officer(first="Dee", last="Clined", badge="B4410"), kind="incident")
        absent = factories.evaluation(factories.officer(first="Abe", last="Sent", badge="B4411"))
        for evaluation, kind, opened in ((declined, "declined", T0 - timedelta(days=3)),
                                         (absent, "no_show", T0 - timedelta(days=1)),
                                         (absent, "unconfirmed", T0 - timedelta(days=9))):
            db.session.add(AttentionItem(evaluation_id=evaluation.id, kind=kind, opened_at=opened,
                                         detail="the clinician's reason stays on the page"))
        db.session.add(AttentionItem(evaluation_id=declined.id, kind="proposal_expired", opened_at=T0,
                                     resolved_at=T0))  # resolved: not listed
        db.session.commit()
        assert reminders.digest() == 1                  # nothing overdue, no no-show: the open items suffice
        runner.invoke(args=["outbox", "deliver"])
    [digest] = smtp_server.to("hr.desk@pd.test")
    assert digest["Subject"] == "Beacon: daily summary for 02 March"
    text = smtp_server.text(digest).replace("\r\n", "\n")
    assert ("Needs attention (3):\n"
            "- Sent, Abe (B4411): Not confirmed by the clinician after 48 hours, since 21 February 2026\n"
            "- Clined, Dee (B4410): Declined by the clinician, since 27 February 2026\n"
            "- Sent, Abe (B4411): Did not attend, since 01 March 2026\n") in text
    assert "See the Needs attention list: http://beacon.test/wellness/attention" in text
    assert "Proposed time not answered" not in text and "reason" not in text and "incident" not in text.lower()


def test_no_digest_when_nothing_is_overdue_missed_or_open(app):
    with clock.frozen(T0):
        factories.user(roles=["hr"], email="hr.desk@pd.test")
        evaluation = factories.evaluation(factories.officer(), due_on=date(2026, 5, 1))
        db.session.add(AttentionItem(evaluation_id=evaluation.id, kind="declined", opened_at=T0, resolved_at=T0))
        db.session.commit()
        assert reminders.digest() == 0


def test_people_see_their_upcoming_reminders_and_hr_sees_all(auth, client, runner, app):
    with clock.frozen(T0):
        officer, user = officer_with_account()
        factories.evaluation(officer, due_on=date(2026, 4, 30))
        auth.login(user.email)
        page = client.get("/wellness/me").get_data(as_text=True)
        assert "30 days before the due date" in page and "7 days before the due date" in page
        run(runner, datetime(2026, 3, 31, 12, tzinfo=timezone.utc))
        auth.logout()
        auth.as_role("hr")
        listing = client.get("/admin/outbox/reminders?state=pending").get_data(as_text=True)
        assert user.email in listing and "coming due" in listing
        assert user.email not in client.get("/admin/outbox/reminders?state=sent").get_data(as_text=True).split(
            'id="reminders"')[1]


def test_the_clinician_sees_the_reminders_to_come_for_their_appointments(auth, client, app):
    with clock.frozen(T0):
        officer, _ = officer_with_account(first="Cara", last="Cole")
        clinician_user = factories.user(roles=["clinician"])
        clinician = factories.clinician(user_row=clinician_user)
        for days in (4, 5):
            other, _ = officer_with_account()
            factories.appointment(factories.evaluation(other), clinician, T0 + timedelta(days=days))
        factories.appointment(factories.evaluation(officer), clinician, T0 + timedelta(days=4, hours=1))
        auth.login(clinician_user.email)
        page = client.get("/wellness/clinic").get_data(as_text=True).split("Reminders to come")[1]
        assert "72 hours before the appointment with Cara Cole" in page
        assert page.count("24 hours before the appointment") == 3
