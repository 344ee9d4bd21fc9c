"""Findings of the independent review, each kept fixed by a test: health information
withheld from administrators, incidents from a former clinician; lockout under
concurrent guesses; no 500 from malformed input; no half-decided notice."""
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import AuditEntry, OfficerStatus, User
from notices import services as notices
from core.services import outbox
from core.models import OutboxMessage, OutboxStatus
from tests import factories
from tests.integration.test_no_giveaways import emailed_code
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
        pages += [client.get(f"/admin/outbox/m/{m.ref}").get_data(as_text=True) for m in private]
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
    email = user.email  # read here: the threads must not load attributes through this test's session
    from core.services import accounts

    def guess():
        with app.app_context():
            try:
                accounts.sign_in(email, "wrong password entirely", "127.0.0.1")
            except accounts.SignInFailed:
                pass
            except OperationalError:  # SQLite may refuse a concurrent writer: that guess is simply lost
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
    assert "takes effect when another administrator approves it" in response.get_data(as_text=True)
    assert client.get("/wellness/").status_code == 403
    assert "You asked for this" in client.get("/admin/grants").get_data(as_text=True)  # no button to approve it


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
            assert response.status_code == 422
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
        appointment = factories.appointment(factories.evaluation(officer), clinician, TUESDAY_10, status="confirmed",
                                            booked_at=MONDAY - timedelta(days=7))  # so its 72-hour reminder is due
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
        invite, reset = [emailed_code(m.body)
                         for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert client.get(f"/password/set/{invite}").status_code == 303
        accounts.set_password_with_token(reset, "harbor violet pebble stanza", None)
        assert client.get(f"/password/set/{invite}").status_code == 410
        assert client.get(f"/password/set/{reset}").status_code == 410


def test_a_roster_email_change_waits_for_the_new_address_to_confirm(auth):
    auth.as_role("hr")
    officer = factories.officer(badge="7001", email="old.address@pd.test")
    factories.user(roles=["officer"], officer_row=officer)
    header = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status\n"
    line = (f"7001,{officer.first_name},{officer.last_name},new.address@pd.test,"
            "1st District,Police Officer,,2020-05-01,active\n")
    import io
    from core.services import imports
    auth.post("/roster/import", {"file": (io.BytesIO((header + line).encode()), "r.csv"), "submit": "1"},
              form_page="/roster/import", content_type="multipart/form-data")
    imports.work()  # the worker the scheduler runs
    db.session.expire_all()
    # The roster row follows the file; the sign-in email only once confirmed (test_email_changes.py).
    assert db.session.get(type(officer), officer.id).email == "new.address@pd.test"
    assert db.session.scalar(select(User.email).where(User.officer_id == officer.id)) == "old.address@pd.test"


# --- no input reaches a 500 (issue 9) ------------------------------------------------------

REFUSED = "contains a control character (such as NUL); remove it and try again"


def test_a_nul_in_the_sign_in_form_is_refused_beside_the_field(client):
    from tests.conftest import csrf_token
    for path, data in (("/login", {"email": "a\x00@pd.test", "password": "x"}),
                       ("/password/forgot", {"email": "a\x00@pd.test"})):
        response = client.post(path, data={**data, "csrf_token": csrf_token(client, path)})
        assert response.status_code in (200, 401)
        assert REFUSED in response.get_data(as_text=True)
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_a_notice_with_a_nul_or_a_direction_override_is_refused_and_nothing_is_written(auth, client):
    from notices.models import Notice
    auth.as_role("hr")
    response = auth.post("/notices/new", {"subject": "Range\x00 closed", "body": "Friday", "audience": "everyone"},
                         form_page="/notices/new")
    assert REFUSED in response.get_data(as_text=True)
    response = auth.post("/notices/new",
                         {"subject": "Range closed", "body": "See \u202etxt.exe", "audience": "everyone"},
                         form_page="/notices/new")
    assert "invisible text-direction character" in response.get_data(as_text=True)
    assert db.session.scalar(select(Notice.id)) is None


def test_a_note_keeps_its_line_breaks_and_loses_zero_width_spaces(auth):
    from evaluations.models import Activity
    user = auth.as_role("officer")
    with clock.frozen(MONDAY):
        auth.post("/reviews/activities", {"day": "2026-03-01", "kind": "meeting", "hours": "1",
                                          "note": "Block\u200b meeting\nwith the\tcouncil"},
                  form_page="/reviews/activities")
    activity = db.session.scalar(select(Activity).where(Activity.officer_id == user.officer_id))
    assert activity.note == "Block meeting\nwith the\tcouncil"


@pytest.mark.parametrize("day, message", [("0001-01-01", "cannot be more than 5 years ago"),
                                          ("2026-03-03", "cannot be in the future"),
                                          ("9999-12-31", "cannot be in the future")])
def test_incident_and_activity_dates_must_be_recent_and_past(auth, client, day, message):
    from evaluations.models import Activity
    from wellness.models import CriticalIncident
    both = factories.user(roles=["hr", "officer"], officer_row=factories.officer(badge="5150"))
    auth.login(both.email)
    with clock.frozen(MONDAY):
        incident = auth.post("/wellness/incidents/new", {"type_id": "1", "occurred_on": day, "description": "x",
                                                         "badges": "5150"}, form_page="/wellness/incidents/new")
        activity = auth.post("/reviews/activities", {"day": day, "kind": "meeting", "hours": "1"},
                             form_page="/reviews/activities")
    assert message in incident.get_data(as_text=True) and message in activity.get_data(as_text=True)
    assert db.session.scalar(select(CriticalIncident.id)) is None and db.session.scalar(select(Activity.id)) is None


def test_far_dates_in_other_forms_are_refused_beside_the_field(auth):
    auth.as_role("hr")
    response = auth.post("/reviews/cycles/new", {"name": "Far", "opens_on": "0001-01-01", "closes_on": "9999-12-31",
                                                 "scope": "all", "peers": "2", "threshold": "3"},
                         form_page="/reviews/cycles/new")
    text = response.get_data(as_text=True)
    assert "This date cannot be before 1900." in text and "This date cannot be more than 10 years ahead." in text


@pytest.mark.parametrize("back", ["²", "1" * 5000, "\x00", "//evil.test", "-1", "99999999999"])
def test_creating_accounts_from_the_roster_with_any_back_value_returns_to_the_roster(auth, back):
    auth.as_role("hr")
    response = auth.post("/roster/accounts", {"back": back}, form_page="/roster/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/roster/")


def test_a_filter_with_a_nul_is_ignored_with_a_note(auth, client):
    both = factories.user(roles=["hr", "admin"])
    auth.login(both.email)
    for path in ("/roster/?q=Smith%00", "/admin/accounts?q=%00", "/admin/outbox/?recipient=a%00",
                 "/admin/outbox/reminders?kind=%00&recipient=%00", "/admin/audit?person=%00&action=%00"):
        response = client.get(path)
        assert response.status_code in (200, 403), path
        text = response.get_data(as_text=True)
        assert "was ignored" in text or REFUSED in text or response.status_code == 403, path


def test_sign_in_never_sends_anyone_to_another_site(client):
    user = factories.user(roles=["hr"])
    from tests.conftest import Auth
    auth = Auth(client)
    for target in ("/\\evil.test", "//evil.test", "http://evil.test", "/x\x00"):
        response = auth.login(user.email, next=target)  # the password, then the code
        assert response.status_code == 302 and response.headers["Location"] == "/", target
        auth.logout()


@pytest.mark.parametrize("command", [["wellness", "sweep"], ["reminders", "run"]])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00", "9999-12-31T23:00:00-05:00", "yesterday"])
def test_a_far_or_garbled_now_option_is_a_usage_error(runner, command, moment):
    result = runner.invoke(args=[*command, "--now", moment])
    assert result.exit_code == 2 and "--now" in result.output and result.exception.__class__ is SystemExit


def test_a_failed_statement_logs_neither_its_values_nor_the_databases_quote_of_them(app, caplog):
    import logging

    import sqlalchemy as sa

    from core.web import WithheldDetails
    insert = sa.text("INSERT INTO units (name) VALUES (:name)")
    name = " ".join(["Wes", "Private", str(7731)])  # the traceback shows this line, not the value
    db.session.execute(insert, {"name": name})
    db.session.commit()
    try:
        db.session.execute(insert, {"name": name})
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        error = exc
    # hide_parameters drops the bound values, but PostgreSQL still quotes them in its DETAIL
    assert "SQL parameters hidden" in str(error)
    logger = app.logger  # what Flask logs an unhandled error on; create_app installs the filter
    assert any(isinstance(f, WithheldDetails) for f in logger.filters)
    with caplog.at_level(logging.ERROR, logger=logger.name):
        try:
            raise error
        except sa.exc.IntegrityError:
            logger.exception("Exception on /wellness/incidents/new [POST]")
    logged = caplog.text
    assert "IntegrityError" in logged and "INSERT INTO units" in logged
    assert "7731" not in logged and "Wes Private" not in logged
