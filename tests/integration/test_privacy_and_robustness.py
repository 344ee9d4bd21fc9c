"""Findings of the independent review, each kept fixed by a test: health information
withheld from administrators, incidents from a former clinician; lockout under
concurrent guesses; no 500 from malformed input; no half-decided notice."""
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import AuditEntry, OfficerStatus, User
from notifications import notices
from notifications import services as outbox
from notifications.models import OutboxMessage, OutboxStatus
from tests import factories
from wellness.services import appointments, evaluations, incidents

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
TUESDAY_10 = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)


@pytest.fixture
def booked(app):
    with clock.frozen(MONDAY):
        officer = factories.officer(first="Wes", last="Private", email="wes.private@pd.test")
        user = factories.user(roles=["officer"], officer_row=officer)
        clinician = factories.clinician(name="Dr. Hidden", email="dr.hidden@clinic.test")
        evaluation = factories.evaluation(officer)
        appointment = appointments.book(Actor.for_user(user), evaluation.id, clinician.id, TUESDAY_10)
    return {"officer": officer, "user": user, "clinician": clinician, "appointment": appointment.id}


def test_administrators_never_see_who_has_a_wellness_appointment(booked, auth, client):
    with clock.frozen(MONDAY):
        auth.as_role("admin")
        pages = [client.get("/admin/outbox/").get_data(as_text=True),
                 client.get("/admin/outbox/export.csv?date_from=2026-03-01&date_to=2026-03-03").get_data(as_text=True),
                 client.get("/admin/audit").get_data(as_text=True),
                 client.get("/admin/audit?person=wes.private").get_data(as_text=True)]
        private = db.session.scalars(select(OutboxMessage).where(OutboxMessage.private.is_(True))).all()
        assert private, "the booking queued private messages"
        pages += [client.get(f"/admin/outbox/{m.id}").get_data(as_text=True) for m in private]
        assert client.get("/admin/outbox/reminders").status_code == 403
    for text in pages:
        assert "Dr. Hidden" not in text and "dr.hidden@clinic.test" not in text
        assert "appointment on" not in text and "appointment.booked" not in text
    assert "wes.private@pd.test" not in pages[0] and "wes.private@pd.test" not in pages[1]


def test_hr_reviews_the_wellness_audit_log(booked, auth, client):
    with clock.frozen(MONDAY):
        auth.as_role("hr")
        text = client.get("/wellness/audit").get_data(as_text=True)
    assert "appointment.booked" in text and "wes.private@pd.test" in text


def test_a_former_clinician_does_not_read_incidents_recorded_after_their_appointment(app):
    with clock.frozen(MONDAY):
        officer = factories.officer()
        officer_user = factories.user(roles=["officer"], officer_row=officer)
        first_user = factories.user(roles=["clinician"])
        first = factories.clinician(user_row=first_user)
        second = factories.clinician()
        evaluation = factories.evaluation(officer)
        me = Actor.for_user(officer_user)
        old = appointments.book(me, evaluation.id, first.id, TUESDAY_10)
        appointments.cancel(me, old.id)
        hr = Actor.for_user(factories.user(roles=["hr"]))
        incidents.record_incident(hr, type_id=incidents.types()[1].id, occurred_on=date(2026, 3, 1),
                                  description="Partner died on Elm St", officer_ids=[officer.id], unit_ids=[])
        appointments.book(me, evaluation.id, second.id, TUESDAY_10 + timedelta(hours=1))
        _, shown = appointments.view_for_clinician(Actor.for_user(first_user), old.id)
    assert shown == []


def test_concurrent_wrong_passwords_still_lock_the_account(app, database_url):
    user = factories.user(roles=["hr"])
    from core.services import accounts

    def guess():
        with app.app_context():
            try:
                accounts.sign_in(user.email, "wrong password entirely", "127.0.0.1")
            except accounts.SignInFailed:
                pass
            except Exception:  # SQLite may refuse a concurrent writer; that guess is simply lost
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.expire_all()
    refreshed = db.session.get(User, user.id)
    failures = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.sign_in",
                                                           AuditEntry.outcome == "failure")).all()
    assert len(failures) >= 5
    assert refreshed.locked_until is not None


def test_an_administrator_cannot_give_themselves_hr(auth, client):
    admin = auth.as_role("admin")
    response = auth.post(f"/admin/accounts/{admin.id}/roles", {"roles": ["admin", "hr"]},
                         form_page=f"/admin/accounts/{admin.id}", follow_redirects=True)
    assert "cannot give yourself access to health information" in response.get_data(as_text=True)
    assert client.get("/wellness/").status_code == 403


@pytest.mark.parametrize("path", ["/roster/3000000000", "/wellness/officers/99999999999999999999",
                                  "/roster/?unit=3000000000&page=99999999999999", "/wellness/?unit=3000000000",
                                  "/admin/audit?date_to=9999-12-31", "/wellness/incidents/3000000000"])
def test_huge_numbers_and_far_dates_are_not_server_errors(auth, client, path):
    both = factories.user(roles=["hr", "admin"], email="both@pd.test")
    auth.login(both.email)
    assert client.get(path).status_code in (200, 404)


def test_a_malformed_time_or_clinician_is_a_clear_error(booked, auth, client):
    with clock.frozen(MONDAY):
        evaluation = factories.evaluation()
        auth.as_role("hr")
        for starts_at in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "soon", "2026-03-03T10:00"):
            response = auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                                 {"starts_at": starts_at, "clinician_id": "99999999999999999999"},
                                 form_page="/wellness/")
            assert response.status_code == 200
            assert "Choose one of the listed times." in response.get_data(as_text=True) or \
                "No such clinician" in response.get_data(as_text=True)


def test_a_message_that_cannot_be_built_does_not_hold_up_the_others(app, smtp_server, runner):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_USE_TLS=False)
    outbox.enqueue(kind="test", recipient="a@pd.test", subject="bad\r\nBcc: x@evil.test", body="b", dedup_key="bad")
    outbox.enqueue(kind="test", recipient="b@pd.test", subject="fine", body="b", dedup_key="good")
    db.session.commit()
    runner.invoke(args=["outbox", "deliver"])
    assert [m["To"] for m in smtp_server.messages] == ["b@pd.test"]
    bad = db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == "bad"))
    assert bad.status == OutboxStatus.FAILED


def test_a_notice_subject_must_be_one_line_and_a_decision_is_taken_once(app):
    author = Actor.for_user(factories.user(roles=["hr"]))
    with pytest.raises(DomainError, match="one line"):
        notices.write(author, subject="Hello\r\nBcc: all@pd.test", body="b", audience="everyone")
    notice = notices.write(author, subject="Hello", body="b", audience="everyone")
    first, second = Actor.for_user(factories.user(roles=["admin"])), Actor.for_user(factories.user(roles=["hr"]))
    notices.approve(first, notice.id)
    with pytest.raises(DomainError):
        notices.reject(second, notice.id, "too late")


def test_separation_cancels_the_clinicians_calendar_and_drops_reminders(app, runner):
    with clock.frozen(MONDAY):
        officer = factories.officer()
        factories.user(roles=["officer"], officer_row=officer)
        clinician = factories.clinician(email="dr.cal@clinic.test")
        appointment = factories.appointment(factories.evaluation(officer), clinician, TUESDAY_10, status="confirmed")
        runner.invoke(args=["reminders", "run"])
        officer.status = OfficerStatus.SEPARATED
        db.session.commit()
        evaluations.sweep()
    to_clinician = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "dr.cal@clinic.test",
                                                                   OutboxMessage.kind == "appointment_cancelled")).all()
    assert len(to_clinician) == 1 and Calendar.from_ical(to_clinician[0].ics)["METHOD"] == "CANCEL"
    reminders = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedup_key.like(f"remind:appt:{appointment.id}:%"))).all()
    assert reminders and all(m.status == OutboxStatus.DROPPED for m in reminders)


def test_calendar_entries_are_private_and_tentative_until_confirmed(booked):
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "appointment_booked"))
    event = Calendar.from_ical(message.ics).walk("VEVENT")[0]
    assert event["CLASS"] == "PRIVATE" and event["STATUS"] == "TENTATIVE"


def test_a_new_password_makes_every_other_link_useless(app, client):
    from core.services import accounts
    user = factories.user(roles=["hr"])
    with clock.frozen(MONDAY):
        accounts.resend_invitation(Actor.system(), user.id)      # an invitation link...
        clock.advance(timedelta(minutes=10))
        accounts.request_password_reset(user.email, None)        # ...and a reset link, both outstanding
        invite, reset = [m.body.split("http://beacon.test", 1)[1].split()[0]
                         for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert client.get(invite).status_code == 200
        accounts.set_password_with_token(reset.rsplit("/", 1)[1], "harbor violet pebble stanza", None)
        assert client.get(invite).status_code == 410
        assert client.get(reset).status_code == 410


def test_a_roster_email_change_moves_the_account_email_too(auth):
    auth.as_role("hr")
    officer = factories.officer(badge="7001", email="old.address@pd.test")
    factories.user(roles=["officer"], officer_row=officer)
    header = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status\n"
    line = f"7001,{officer.first_name},{officer.last_name},new.address@pd.test,1st District,Police Officer,,2020-05-01,active\n"
    import io
    auth.post("/roster/import", {"file": (io.BytesIO((header + line).encode()), "r.csv"), "submit": "1"},
              form_page="/roster/import", content_type="multipart/form-data")
    db.session.expire_all()
    assert db.session.scalar(select(User.email).where(User.officer_id == officer.id)) == "new.address@pd.test"
