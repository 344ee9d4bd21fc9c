"""Delivery never gives up silently: through an SMTP outage longer than the fast retries,
a message is tried every hour until the real SMTP server is back, then arrives once; one
that stopped being true meanwhile (a lapsed reset link, the reminder of an appointment
that has begun) is marked expired and never arrives late. Administrators see it all on
their home page."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.db import db
from core.services import outbox
from core.models import OutboxMessage, OutboxStatus
from tests import factories
from tests.conftest import csrf_token
from tests.integration.test_no_giveaways import open_emailed_link
from wellness.services import reminders


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def forgot_password(client, email):
    response = client.post("/password/forgot",
                           data={"email": email, "csrf_token": csrf_token(client, "/password/forgot")})
    assert response.status_code == 302


def deliver(runner):
    return runner.invoke(args=["outbox", "deliver"]).output


def message_to(email):
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)).one()


def fast_retries(runner):
    """The first attempt and the four fast retries, 1, 2, 4 and 8 minutes apart."""
    for wait in (0, 1, 2, 4, 8):
        clock.advance(timedelta(minutes=wait))
        assert "sent 0, failed" in deliver(runner)


def test_after_an_outage_longer_than_the_fast_retries_a_reset_link_arrives_once_at_the_next_hour(
        app, client, runner, smtp_server, frozen_clock):
    user = factories.user(roles=["hr"], email="dana.ruiz@pd.test")
    smtp_server.stop()
    start = clock.now()
    forgot_password(client, user.email)
    fast_retries(runner)
    waiting = message_to(user.email)
    assert waiting.status == OutboxStatus.FAILED and waiting.attempts == 5
    assert waiting.next_attempt_at == start + timedelta(minutes=15, hours=1)
    clock.advance(timedelta(minutes=30))
    smtp_server.start()  # back 45 minutes into the outage
    assert deliver(runner).startswith("sent 0, failed 0")  # the hourly retry has not come yet
    assert smtp_server.messages == []
    clock.advance(timedelta(minutes=30))  # 1 h 15 min after the first attempt
    assert deliver(runner).startswith("sent 1, failed 0")
    deliver(runner)
    [received] = smtp_server.to(user.email)
    assert len(smtp_server.messages) == 1 and received["Subject"] == "Beacon: set a new password"
    assert message_to(user.email).status == OutboxStatus.SENT and message_to(user.email).attempts == 6
    assert open_emailed_link(client, smtp_server.text(received)).status_code == 200  # and the link still works


def test_a_reset_link_whose_token_lapses_during_the_outage_expires_and_never_arrives(
        app, client, runner, smtp_server, frozen_clock):
    user = factories.user(roles=["hr"], email="dana.ruiz@pd.test")
    smtp_server.stop()
    forgot_password(client, user.email)
    outbox.enqueue(kind="test", recipient="records@pd.test", subject="Beacon: no expiry", body="Kept trying",
                   dedup_key="no-expiry")
    db.session.commit()
    reset = message_to(user.email)
    assert reset.expires_at == clock.now() + timedelta(hours=72)  # the token's own lifetime
    fast_retries(runner)
    outputs = []
    for _ in range(72):  # three days of hourly retries against a dead server
        clock.advance(timedelta(hours=1))
        outputs.append(deliver(runner))
    assert sum("1 expired (never sent late)" in o for o in outputs) == 1
    expired = message_to(user.email)
    assert expired.status == OutboxStatus.EXPIRED and expired.next_attempt_at is None
    assert reset.expires_at <= expired.expired_at < reset.expires_at + timedelta(hours=1)
    still_trying = message_to("records@pd.test")
    assert still_trying.status == OutboxStatus.FAILED and still_trying.attempts == 5 + 72
    smtp_server.start()
    clock.advance(timedelta(hours=1))
    assert deliver(runner).startswith("sent 1, failed 0")
    deliver(runner)
    assert [m["To"] for m in smtp_server.messages] == ["records@pd.test"]
    assert smtp_server.to(user.email) == []
    assert message_to(user.email).status == OutboxStatus.EXPIRED


def test_an_appointment_reminder_expires_when_the_appointment_begins(app, runner, smtp_server, frozen_clock):
    officer = factories.officer()
    factories.user(roles=["officer"], officer_row=officer)
    starts = clock.now() + timedelta(hours=20)
    factories.appointment(factories.evaluation(officer), factories.clinician(), starts, status="confirmed")
    smtp_server.stop()
    reminders.sweep(clock.now())
    reminder = message_to(officer.email)
    assert reminder.kind == "reminder_appointment" and reminder.expires_at == starts
    fast_retries(runner)
    while clock.now() < starts + timedelta(hours=1):
        clock.advance(timedelta(hours=1))
        deliver(runner)
    assert message_to(officer.email).status == OutboxStatus.EXPIRED
    smtp_server.start()
    clock.advance(timedelta(hours=2))
    deliver(runner)
    assert smtp_server.messages == []  # neither the officer's nor the clinician's reminder


def test_an_expired_message_cannot_be_retried_by_hand(app, auth, runner, smtp_server, frozen_clock):
    smtp_server.stop()
    outbox.enqueue(kind="test", recipient="a@pd.test", subject="s", body="b", dedup_key="lapses",
                   expires_at=clock.now() + timedelta(minutes=30))
    db.session.commit()
    fast_retries(runner)
    clock.advance(timedelta(minutes=20))  # past its expiry, before the next delivery run
    message = message_to("a@pd.test")
    assert message.status == OutboxStatus.FAILED
    auth.as_role("admin")
    page = auth.post(f"/admin/outbox/m/{message.ref}/retry", {}, form_page=f"/admin/outbox/m/{message.ref}",
                     follow_redirects=True).get_data(as_text=True)
    assert "never sent late" in page and "expired" in page
    assert message_to("a@pd.test").status == OutboxStatus.EXPIRED
    smtp_server.start()
    deliver(runner)
    assert smtp_server.messages == []


def test_administrators_see_what_waits_how_long_and_what_expired(app, auth, client, runner, smtp_server,
                                                                frozen_clock):
    smtp_server.stop()
    outbox.enqueue(kind="test", recipient="a@pd.test", subject="first", body="b", dedup_key="a")
    outbox.enqueue(kind="test", recipient="b@pd.test", subject="lapses", body="b", dedup_key="b",
                   expires_at=clock.now() + timedelta(minutes=5))
    db.session.commit()
    clock.advance(timedelta(hours=2))
    outbox.enqueue(kind="reminder_appointment", recipient="secret.patient@pd.test", subject="Beacon: appointment",
                   body="b", dedup_key="c", private=True)
    db.session.commit()
    deliver(runner)
    clock.advance(timedelta(hours=1))
    auth.as_role("admin")
    home = client.get("/").get_data(as_text=True)
    assert "2 messages not yet delivered" in home and "the oldest has waited 3 hours" in home
    assert "last error: <code>ConnectionRefusedError</code>" in home and "withheld: a health-related" in home
    assert "Errno" not in home  # of a health-related message's error, only its kind
    assert "1 message expired undelivered" in home and "in the last 7 days" in home
    assert "secret.patient" not in home
    listing = client.get("/admin/outbox/?status=undelivered").get_data(as_text=True)
    assert "a@pd.test" in listing and "b@pd.test" not in listing and "secret.patient" not in listing
    expired = client.get("/admin/outbox/?status=expired").get_data(as_text=True)
    assert "b@pd.test" in expired and "never (expired" in expired
    smtp_server.start()
    clock.advance(timedelta(hours=1))
    deliver(runner)
    auth.as_role("admin")  # the earlier session has been idle too long
    home = client.get("/").get_data(as_text=True)
    assert "Every message has been delivered." in home


def test_a_reset_link_replaced_during_the_outage_is_never_sent_only_the_new_one(
        app, client, runner, smtp_server, frozen_clock):
    user = factories.user(roles=["hr"], email="dana.ruiz@pd.test")
    smtp_server.stop()
    forgot_password(client, user.email)
    fast_retries(runner)
    forgot_password(client, user.email)  # asked again while the first mail waits
    db.session.expire_all()
    first, second = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                                       .order_by(OutboxMessage.id)).all()
    assert first.status == OutboxStatus.DROPPED and second.status == OutboxStatus.QUEUED
    smtp_server.start()
    clock.advance(timedelta(hours=1))
    deliver(runner)
    [received] = smtp_server.to(user.email)  # one email, with the link that works
    assert open_emailed_link(client, smtp_server.text(received)).status_code == 200


def test_news_of_an_appointment_expires_for_officer_and_clinician_once_it_begins(
        app, runner, smtp_server, frozen_clock):
    from core.audit import Actor
    from wellness.services import appointments
    clinician_user = factories.user(roles=["clinician"], email="dr.ade@clinic.test")
    clinician = factories.clinician(user_row=clinician_user, email="dr.ade@clinic.test")
    officer = factories.officer(email="kim.lee@pd.test")
    starts = (clock.now() + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    appointment = factories.appointment(factories.evaluation(officer), clinician, starts)
    db.session.commit()
    smtp_server.stop()
    appointments.confirm(Actor.for_user(clinician_user), appointment.id)
    confirmations = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "appointment_confirmed")).all()
    assert {m.recipient for m in confirmations} >= {"kim.lee@pd.test"}
    assert all(m.expires_at == starts for m in confirmations)
    fast_retries(runner)
    clock.advance(timedelta(hours=3))  # the appointment has begun; the server is back
    smtp_server.start()
    assert "expired" in deliver(runner)
    db.session.expire_all()
    assert {m.status for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "appointment_confirmed"))} == {OutboxStatus.EXPIRED}
    assert smtp_server.to("kim.lee@pd.test") == []
