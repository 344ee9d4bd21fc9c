"""The outbox: every message is kept, delivered over real SMTP, and retried on failure."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.db import db
from core.services import outbox
from core.models import OutboxMessage, OutboxStatus
from tests import factories
from tests.integration.test_no_giveaways import open_emailed_link


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def queue(n=1, prefix="test"):
    for i in range(n):
        outbox.enqueue(kind="test", recipient=f"person{i}@pd.test", subject=f"Beacon: note {i}",
                       body=f"Hello {i}", dedup_key=f"{prefix}:{i}")
    db.session.commit()


def messages():
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_queued_messages_arrive_at_the_smtp_server(app, smtp_server, runner):
    queue(3)
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0 and "sent 3, failed 0" in result.output
    assert sorted(m["To"] for m in smtp_server.messages) == ["person0@pd.test", "person1@pd.test", "person2@pd.test"]
    received = smtp_server.to("person1@pd.test")[0]
    assert received["Subject"] == "Beacon: note 1" and received["From"] == "Beacon <beacon@beacon.test>"
    assert smtp_server.text(received).strip() == "Hello 1"
    kept = messages()
    assert all(m.status == OutboxStatus.SENT and m.sent_at and m.attempts == 1 for m in kept)
    assert received["Message-ID"] == kept[1].message_id
    again = runner.invoke(args=["outbox", "deliver"])
    assert "sent 0" in again.output and len(smtp_server.messages) == 3


def test_same_dedup_key_is_queued_once(app):
    assert outbox.enqueue(kind="t", recipient="a@pd.test", subject="s", body="b", dedup_key="once")
    assert not outbox.enqueue(kind="t", recipient="a@pd.test", subject="s", body="b", dedup_key="once")
    db.session.commit()
    assert len(messages()) == 1


def test_refused_message_is_kept_failed_with_its_error_and_retried(app, smtp_server, runner, frozen_clock):
    queue(2)
    smtp_server.refusing = True
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 1 and "sent 0, failed 2" in result.output
    failed = messages()
    assert all(m.status == OutboxStatus.FAILED and m.attempts == 1 and "451" in m.last_error for m in failed)
    assert smtp_server.messages == []
    smtp_server.refusing = False
    # Not yet due: the first retry waits a minute.
    assert "sent 0" in runner.invoke(args=["outbox", "deliver"]).output
    clock.advance(timedelta(minutes=1))
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0 and "sent 2" in result.output
    assert len(smtp_server.messages) == 2
    assert all(m.status == OutboxStatus.SENT and m.attempts == 2 and m.last_error is None for m in messages())


def test_unreachable_server_fails_fast_five_times_then_keeps_trying_hourly(app, runner, frozen_clock, smtp_server):
    smtp_server.stop()  # nothing listens any more
    queue(1)
    for _ in range(5):
        runner.invoke(args=["outbox", "deliver"])
        clock.advance(timedelta(minutes=10))
    message = messages()[0]
    assert message.status == OutboxStatus.FAILED and message.attempts == 5
    assert "Connection refused" in message.last_error
    assert message.next_attempt_at == message.claimed_at + timedelta(hours=1)  # never given up
    runner.invoke(args=["outbox", "deliver"])
    assert messages()[0].attempts == 5  # not before its hour
    smtp_server.start()


def test_admin_sees_failed_message_and_retries_it_by_hand(app, auth, client, smtp_server, runner, frozen_clock):
    queue(1)
    smtp_server.refusing = True
    for _ in range(5):
        runner.invoke(args=["outbox", "deliver"])
        clock.advance(timedelta(minutes=10))
    smtp_server.refusing = False
    admin = factories.user(roles=["admin"])
    auth.login(admin.email)
    listing = client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "person0@pd.test" in listing and "451" in listing
    message = messages()[0]
    assert auth.post(f"/admin/outbox/m/{message.ref}/retry", {}, form_page="/admin/outbox/").status_code == 302
    result = runner.invoke(args=["outbox", "deliver"])
    assert "sent 1" in result.output and len(smtp_server.messages) == 1


def test_without_smtp_messages_stay_in_the_outbox_for_admins(app, auth, client, runner):
    app.config["SMTP_HOST"] = ""
    queue(1)
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0 and "SMTP_HOST is not set" in result.output
    assert messages()[0].status == OutboxStatus.QUEUED
    admin = factories.user(roles=["admin"])
    auth.login(admin.email)
    page = client.get(f"/admin/outbox/m/{messages()[0].ref}").get_data(as_text=True)
    assert "Hello 0" in page and "demo mode" in page


def test_body_is_hidden_from_admins_once_mail_really_goes_out(app, auth, client):
    queue(1)
    admin = factories.user(roles=["admin"])
    auth.login(admin.email)
    page = client.get(f"/admin/outbox/m/{messages()[0].ref}").get_data(as_text=True)
    assert "Hello 0" not in page


def test_invitation_email_arrives_with_a_working_link(app, auth, client, smtp_server, runner):
    admin = factories.user(roles=["admin"])
    auth.login(admin.email)
    auth.post("/admin/accounts/new", {"email": "kim.ortiz@pd.test", "name": "Kim Ortiz", "roles": ["hr"]},
              form_page="/admin/accounts/new")
    auth.logout()
    factories.approve_grants("kim.ortiz@pd.test")  # the invitation is sent once a second administrator approves
    runner.invoke(args=["outbox", "deliver"])
    [received] = smtp_server.to("kim.ortiz@pd.test")
    body = smtp_server.text(received)
    assert received["Subject"] == "Beacon: your new account"
    assert "Hello Kim Ortiz" in body and "72 hours" in body
    assert open_emailed_link(client, body).status_code == 200


def test_a_crash_before_the_end_of_data_is_sent_again_and_one_after_is_not(app, smtp_server, runner, frozen_clock):
    """What a delivery run that died leaves behind is settled without sending twice."""
    queue(2)
    first, second = messages()
    for message in (first, second):
        message.status = OutboxStatus.SENDING
        message.claimed_at = clock.now()
    second.end_of_data_at = clock.now()  # the server had all of it when the process died
    db.session.commit()
    assert "sent 0" in runner.invoke(args=["outbox", "deliver"]).output  # claims still fresh: left alone
    clock.advance(timedelta(seconds=app.config["OUTBOX_STALE_CLAIM_SECONDS"] + 1))
    result = runner.invoke(args=["outbox", "deliver"])
    assert "sent 1" in result.output and "2 stale claim(s)" in result.output
    assert [m["To"] for m in smtp_server.messages] == ["person0@pd.test"]
    settled = {m.recipient: m for m in messages()}
    assert settled["person0@pd.test"].status == OutboxStatus.SENT and settled["person0@pd.test"].attempts == 1
    assert settled["person1@pd.test"].status == OutboxStatus.SENT
    assert "not confirmed by the server" in settled["person1@pd.test"].last_error


def test_dot_stuffing_keeps_a_line_that_starts_with_a_dot(app, smtp_server, runner):
    outbox.enqueue(kind="test", recipient="a@pd.test", subject="s", body="first\n.second line\n.\nlast",
                   dedup_key="dots")
    db.session.commit()
    runner.invoke(args=["outbox", "deliver"])
    assert smtp_server.text(smtp_server.messages[0]).splitlines() == ["first", ".second line", ".", "last"]


def test_delivery_stops_between_batches_when_told_to(app, smtp_server):
    """A scheduler that lost its leadership says so through keep_going(): the batch under
    way ends, and nothing after it is sent by this run."""
    queue(outbox.BATCH + 5)
    asked = []
    report = outbox.deliver(keep_going=lambda: not asked.append(1) and len(asked) < 2)
    assert report.stopped and report.sent == outbox.BATCH and len(asked) == 2
    assert len(smtp_server.messages) == outbox.BATCH
    assert sum(m.status == OutboxStatus.QUEUED for m in messages()) == 5
    assert outbox.deliver().sent == 5 and len(smtp_server.messages) == outbox.BATCH + 5


def test_message_ids_stay_unique_even_when_something_reseeds_the_random_module(app):
    """Hypothesis (and any library) may seed `random`; a Message-ID must not repeat then."""
    import random

    from core.models import OutboxMessage
    from core.services import outbox as queue
    for n in range(3):
        random.seed(1)
        queue.enqueue(kind="test", recipient=f"r{n}@pd.test", subject="Beacon: test", body="-", dedup_key=f"seed-{n}")
    db.session.commit()
    ids = db.session.scalars(select(OutboxMessage.message_id)).all()
    assert len(ids) == 3 and len(set(ids)) == 3
