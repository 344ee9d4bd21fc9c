"""An appointment's calendar file, downloaded from the pages that show it: titled for
whoever downloads it (the officer, the clinician, HR), the same event as the emailed
invitation (UID, SEQUENCE), private, refused to anyone else, audited in the wellness log.
The emailed invitations are read at a real SMTP server; one test imports the download
into khal, a real calendar client."""
import shutil
import subprocess
from datetime import date, datetime, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core import clock
from core.db import db
from core.models import AuditEntry
from tests import factories

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)       # 09:00 in Chicago (CST)
TUESDAY_10_LOCAL = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)  # 10:00 CST
HEALTH_WORDS = ("mental", "health", "incident", "trauma", "death", "shooting", "psych", "counsel")
TITLES = {"officer": "Appointment with Dr. Iris Vale", "clinician": "Evaluation: Police Officer Dana Reed",
          "hr": "Evaluation: Police Officer Dana Reed with Dr. Iris Vale"}


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


@pytest.fixture
def booked(auth, runner, smtp_server):
    """Dana Reed's incident evaluation booked by HR with Dr. Iris Vale for Tuesday 10:00,
    the invitations delivered. Returns the people and the appointment's id."""
    with clock.frozen(MONDAY):
        officer = factories.officer(first="Dana", last="Reed", email="dana.reed@pd.test")
        officer_user = factories.user(roles=["officer"], officer_row=officer)
        clinician_user = factories.user(roles=["clinician"], email="dr.vale@clinic.test", name="Dr. Iris Vale")
        clinician = factories.clinician(name="Dr. Iris Vale", user_row=clinician_user, email="dr.vale@clinic.test",
                                        trauma=True)
        hr_user = factories.user(roles=["hr"], email="hr.desk@pd.test")
        evaluation = factories.evaluation(officer, kind="incident", due_on=date(2026, 3, 9))
        auth.login(hr_user.email)
        page = f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}"
        response = auth.post(f"/wellness/evaluations/{evaluation.id}/book",
                             {"starts_at": TUESDAY_10_LOCAL.isoformat(), "clinician_id": clinician.id},
                             form_page=page)
        assert response.status_code == 302, response.get_data(as_text=True)
        deliver(runner)
        auth.logout()
        from wellness.models import Appointment
        appointment = db.session.scalar(select(Appointment).where(Appointment.officer_id == officer.id))
        yield {"officer": officer_user, "clinician": clinician_user, "hr": hr_user, "appointment": appointment.id}


def deliver(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


def emailed_event(smtp_server, address):
    message = smtp_server.to(address)[-1]
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content()).walk("VEVENT")[0]


def download(client, appointment_id):
    return client.get(f"/wellness/appointments/{appointment_id}/calendar.ics")


def event_of(response):
    calendar = Calendar.from_ical(response.get_data())
    [event] = calendar.walk("VEVENT")
    return calendar, event


@pytest.mark.parametrize("reader", ["officer", "clinician", "hr"])
def test_each_reader_downloads_the_emailed_event_titled_for_them(reader, auth, client, smtp_server, booked):
    with clock.frozen(MONDAY):
        auth.login(booked[reader].email)
        response = download(client, booked["appointment"])
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="beacon-appointment-2026-03-03.ics"'
    assert response.headers["Cache-Control"] == "no-store"
    calendar, event = event_of(response)
    assert str(event["SUMMARY"]) == TITLES[reader]
    assert str(event["CLASS"]) == "PRIVATE"
    assert str(calendar["METHOD"]) == "PUBLISH" and "ATTENDEE" not in event
    start = event.decoded("DTSTART")
    assert str(start.tzinfo) == "America/Chicago" and (start.hour, start.minute) == (10, 0)
    assert event.decoded("DTEND") > start
    assert "TZID=America/Chicago" in response.get_data(as_text=True)
    assert str(event["LOCATION"]) == str(emailed_event(smtp_server, "dana.reed@pd.test")["LOCATION"])
    # The same event as the emailed invitation: a calendar that has it updates it.
    emailed = emailed_event(smtp_server, "dana.reed@pd.test")
    assert (str(event["UID"]), event["SEQUENCE"]) == (str(emailed["UID"]), emailed["SEQUENCE"])
    assert str(event["STATUS"]) == "TENTATIVE"   # booked, not yet confirmed by the clinician
    text = response.get_data(as_text=True).lower()
    assert not [word for word in HEALTH_WORDS if word in text]


def test_the_clinicians_emailed_invitation_is_titled_with_the_officer_not_herself(smtp_server, booked):
    # Emails never say "evaluation" (test_wellness_privacy); the download may, behind sign-in.
    to_clinician = emailed_event(smtp_server, "dr.vale@clinic.test")
    assert str(to_clinician["SUMMARY"]) == "Appointment with Dana Reed"
    assert str(emailed_event(smtp_server, "dana.reed@pd.test")["SUMMARY"]) == "Appointment with Dr. Iris Vale"


def test_a_cancelled_appointment_downloads_as_cancelled_with_the_cancellations_sequence(auth, client, runner,
                                                                                      smtp_server, booked):
    with clock.frozen(MONDAY):
        auth.login(booked["officer"].email)
        response = auth.post(f"/wellness/appointments/{booked['appointment']}/cancel", {}, form_page="/wellness/me")
        assert response.status_code == 302
        deliver(runner)
        _, event = event_of(download(client, booked["appointment"]))
    cancellation = emailed_event(smtp_server, "dana.reed@pd.test")
    assert str(cancellation["STATUS"]) == "CANCELLED"
    assert str(event["STATUS"]) == "CANCELLED"
    assert (str(event["UID"]), event["SEQUENCE"]) == (str(cancellation["UID"]), cancellation["SEQUENCE"])
    assert str(event["SUMMARY"]) == TITLES["officer"]


def test_the_pages_that_show_the_appointment_link_to_the_download(auth, client, booked):
    link = f'href="/wellness/appointments/{booked["appointment"]}/calendar.ics"'
    with clock.frozen(MONDAY):
        for reader, page in (("officer", "/wellness/me"),
                             ("clinician", f"/wellness/clinic/appointments/{booked['appointment']}"),
                             ("hr", None)):
            auth.login(booked[reader].email)
            if page is None:
                officer_id = booked["officer"].officer_id
                page = f"/wellness/officers/{officer_id}"
            text = client.get(page).get_data(as_text=True)
            assert link in text and "Add to calendar (.ics)" in text, reader
            auth.logout()


def test_another_officer_another_clinician_and_an_administrator_are_refused(auth, client, booked):
    stranger = factories.user(roles=["officer"], officer_row=factories.officer())
    other_clinician = factories.user(roles=["clinician"], email="dr.other@clinic.test")
    factories.clinician(name="Dr. Other", user_row=other_clinician, email="dr.other@clinic.test")
    admin = factories.user(roles=["admin"])
    with clock.frozen(MONDAY):
        for user, status in ((stranger, 404), (other_clinician, 404), (admin, 403)):
            auth.login(user.email)
            response = download(client, booked["appointment"])
            assert response.status_code == status, user.email
            assert b"BEGIN:VCALENDAR" not in response.get_data() and b"Dana" not in response.get_data()
            auth.logout()
        assert download(client, booked["appointment"]).status_code == 302   # signed out: to sign in
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment.calendar_downloaded")
                              ).all() == []


def test_each_download_is_in_the_wellness_audit_log_and_not_the_general_one(auth, client, booked):
    with clock.frozen(MONDAY):
        for reader in ("officer", "clinician", "hr"):
            auth.login(booked[reader].email)
            assert download(client, booked["appointment"]).status_code == 200
            auth.logout()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment.calendar_downloaded")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.actor_id, e.private, e.target) for e in entries] == [
        (booked[reader].id, True, f"appointment {booked['appointment']}") for reader in ("officer", "clinician", "hr")]
    with clock.frozen(MONDAY):
        auth.login(booked["hr"].email)
        assert "appointment.calendar_downloaded" in client.get("/wellness/audit").get_data(as_text=True)
        auth.logout()
        auth.as_role("admin")
        assert "appointment.calendar_downloaded" not in client.get("/admin/audit").get_data(as_text=True)


KHAL_CONFIG = """[calendars]
[[beacon]]
path = {root}/calendars/beacon
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = America/Chicago
default_timezone = America/Chicago
[sqlite]
path = {root}/khal.db
"""


def khal_list(tmp_path, ics: bytes, fmt: str, start: str, span: str) -> str:
    """Import `ics` into a fresh khal calendar under `tmp_path` and list `span` from
    `start` with the format `fmt`: what a person using khal would see."""
    path = tmp_path / "beacon.ics"
    path.write_bytes(ics)
    (tmp_path / "calendars" / "beacon").mkdir(parents=True)
    config = tmp_path / "khal.conf"
    config.write_text(KHAL_CONFIG.format(root=tmp_path))
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "America/Chicago"}
    imported = subprocess.run(["khal", "-c", str(config), "import", "--batch", str(path)], capture_output=True,
                              text=True, env=env, timeout=60)
    assert imported.returncode == 0, imported.stderr
    listed = subprocess.run(["khal", "-c", str(config), "list", "--format", fmt, start, span],
                            capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout


@pytest.mark.skipif(shutil.which("khal") is None, reason="khal (Debian package) is not installed")
@pytest.mark.parametrize("reader", ["officer", "clinician"])
def test_khal_imports_the_download_with_the_readers_title(reader, auth, client, booked, tmp_path):
    with clock.frozen(MONDAY):
        auth.login(booked[reader].email)
        response = download(client, booked["appointment"])
    listed = khal_list(tmp_path, response.get_data(), "{start} {title}", "2026-03-03", "1d")
    assert f"2026-03-03 10:00 {TITLES[reader]}" in listed, listed
