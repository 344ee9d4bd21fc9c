"""Confidential self-referral (issue 16, item 6): an officer books an extra visit on their
own. The clinician sees it as any booking; HR never sees it (not on the dashboard, the
officer's record, Needs attention, the reminders page or the audit log by name) and sees
only monthly counts under the suppression rule."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import NotFound
from core.models import AuditEntry
from tests import factories
from tests.smtp import SMTPServer
from wellness.models import Appointment, AttentionItem
from wellness.services import appointments, feeds

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)        # 09:00 CST
TUESDAY_10 = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)    # 10:00 CST
TUESDAY_11 = datetime(2026, 3, 3, 17, 0, tzinfo=timezone.utc)


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


@pytest.fixture
def scene(app):
    with clock.frozen(MONDAY):
        clinician_user = factories.user(roles=["clinician"], email="dr.okafor@clinic.test", name="Dr. Ngozi Okafor")
        clinician = factories.clinician(name="Dr. Ngozi Okafor", user_row=clinician_user, email="dr.okafor@clinic.test")
        officer = factories.officer(first="Nicole", last="Brown", email="nicole.brown@pd.test")
        me = factories.user(roles=["officer"], officer_row=officer)
        hr = factories.user(roles=["hr"], email="hr.desk@pd.test")
    return {"clinician": clinician, "clinician_user": clinician_user, "officer": officer, "me": me, "hr": hr}


def book(auth, client, scene, at=TUESDAY_10, sign_in=True):
    if sign_in:
        auth.login(scene["me"].email)
    page = client.get(f"/wellness/self-referral?clinician={scene['clinician'].id}").get_data(as_text=True)
    assert at.isoformat() in page
    return auth.post("/wellness/self-referral", {"clinician": scene["clinician"].id, "at": at.isoformat()},
                     form_page="/wellness/self-referral")


def deliver(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


def test_an_officer_books_a_visit_the_clinician_keeps_and_hr_never_sees(app, auth, client, scene, runner,
                                                                        smtp_server: SMTPServer):
    with clock.frozen(MONDAY):
        response = book(auth, client, scene)
        assert response.status_code == 302
        visit = db.session.scalar(select(Appointment).where(Appointment.self_referral.is_(True)))
        assert visit.evaluation_id is None and visit.officer_id == scene["officer"].id
        mine = client.get("/wellness/me").get_data(as_text=True)
        assert "Your own visit: confidential" in mine
        deliver(runner)
    officer_mail = smtp_server.to("nicole.brown@pd.test")
    clinician_mail = smtp_server.to("dr.okafor@clinic.test")
    assert officer_mail and clinician_mail
    assert not smtp_server.to("hr.desk@pd.test")
    body = SMTPServer.text(officer_mail[0])
    assert "self" not in body.lower() and "confidential" not in body.lower()  # as neutral as any booking

    clinician = Actor.for_user(scene["clinician_user"])
    hr = Actor.for_user(scene["hr"])
    with clock.frozen(MONDAY):
        appointments.confirm(clinician, visit.id)
        with pytest.raises(NotFound):
            appointments.cancel_preview(hr, visit.id)
    with clock.frozen(TUESDAY_11):
        appointments.record_attendance(clinician, visit.id, True)
    assert db.session.get(Appointment, visit.id).status.value == "attended"

    auth.login(scene["hr"].email)
    with clock.frozen(TUESDAY_11):
        record = client.get(f"/wellness/officers/{scene['officer'].id}").get_data(as_text=True)
        assert "Dr. Ngozi Okafor" not in record
        dashboard = client.get("/wellness/").get_data(as_text=True)
        assert "Confidential self-referrals" in dashboard and "fewer than 5" in dashboard
        audit = client.get("/wellness/audit").get_data(as_text=True)
        assert "withheld" in audit and "a confidential self-referral" in audit
        assert "nicole.brown" not in audit.split("confidential-entry")[1][:400]
        found = client.get("/wellness/audit?person=nicole.brown").get_data(as_text=True)
        assert "<td>appointment.booked</td>" not in found and "confidential-entry" not in found
        csv_text = client.get("/wellness/audit.csv").get_data(as_text=True)
        assert "a confidential self-referral" in csv_text


def test_a_decline_or_no_show_tells_hr_nothing(app, auth, client, scene, runner, smtp_server):
    clinician = Actor.for_user(scene["clinician_user"])
    with clock.frozen(MONDAY):
        book(auth, client, scene)
        visit = db.session.scalar(select(Appointment).where(Appointment.self_referral.is_(True)))
        appointments.decline(clinician, visit.id, "Away that day")
        book(auth, client, scene, TUESDAY_11, sign_in=False)
        second = db.session.scalar(select(Appointment).where(Appointment.self_referral.is_(True),
                                                             Appointment.status == "booked"))
    with clock.frozen(TUESDAY_11.replace(hour=18)):
        appointments.record_attendance(clinician, second.id, False)
        deliver(runner)
    assert db.session.scalar(select(AttentionItem.id)) is None
    assert not smtp_server.to("hr.desk@pd.test")
    assert smtp_server.to("nicole.brown@pd.test")  # the officer hears of the decline and the no-show


def test_one_active_visit_at_a_time_beside_an_evaluation(app, auth, client, scene):
    with clock.frozen(MONDAY):
        evaluation = factories.evaluation(scene["officer"])
        appointments.book(Actor.for_user(scene["hr"]), evaluation.id, scene["clinician"].id, TUESDAY_11)
        assert book(auth, client, scene).status_code == 302
        again = auth.post("/wellness/self-referral", {"clinician": scene["clinician"].id,
                                                      "at": TUESDAY_10.replace(hour=18).isoformat()},
                          form_page="/wellness/self-referral", follow_redirects=True)
    assert "You have a visit booked with Dr. Ngozi Okafor" in again.get_data(as_text=True)
    assert db.session.scalar(select(Appointment.id).where(Appointment.self_referral.is_(True))
                             .order_by(Appointment.id.desc()).offset(1)) is None


def test_the_visit_is_in_the_officers_calendar_feed_and_reminders_stay_off_hrs_page(app, auth, client, scene,
                                                                                   runner):
    with clock.frozen(MONDAY):
        book(auth, client, scene)
        token = feeds.make(Actor.for_user(scene["me"]))
        ics = client.get(f"/calendar/{token}.ics").get_data(as_text=True)
        assert "Dr. Ngozi Okafor" in ics
        runner.invoke(args=["reminders", "run", "--now", "2026-03-02T17:00:00+00:00"])
    auth.login(scene["hr"].email)
    reminders_page = client.get("/admin/outbox/reminders").get_data(as_text=True)
    assert "nicole.brown@pd.test" not in reminders_page


def test_hr_cannot_open_or_act_on_the_visit(app, auth, client, scene):
    with clock.frozen(MONDAY):
        book(auth, client, scene)
        visit = db.session.scalar(select(Appointment).where(Appointment.self_referral.is_(True)))
    auth.login(scene["hr"].email)
    for url in (f"/wellness/appointments/{visit.id}/cancel", f"/wellness/appointments/{visit.id}/move"):
        assert client.get(url).status_code == 404, url
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.target == f"appointment {visit.id}")) is None
    auth.logout()
    auth.login(scene["me"].email)
    assert client.get(f"/wellness/appointments/{visit.id}/move").status_code == 404  # cancel and book again
    assert client.get(f"/wellness/appointments/{visit.id}/cancel").status_code == 200


def test_hr_blocking_the_clinicians_day_learns_no_name_and_cancels_nothing(app, auth, client, scene):
    with clock.frozen(MONDAY):
        book(auth, client, scene)
        visit = db.session.scalar(select(Appointment).where(Appointment.self_referral.is_(True)))
        auth.logout()
        auth.login(scene["hr"].email)
        response = auth.post(f"/wellness/clinicians/{scene['clinician'].id}/blocks",
                             {"day": "2026-03-03", "note": "", f"decision-{visit.id}": "cancel"},
                             form_page=f"/wellness/clinicians/{scene['clinician'].id}", follow_redirects=True)
        page = response.get_data(as_text=True)
    assert "only they can move or cancel" in page and "Nicole" not in page and "Brown" not in page
    assert db.session.get(Appointment, visit.id).status.value == "booked"
