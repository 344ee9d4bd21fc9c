"""Review reminders through the sweep, the outbox and a real SMTP server."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import clock
from core.db import db
from evaluations.services import reminders
from core.services import outbox
from core.models import OutboxMessage
from tests import factories
from tests.integration.test_reviews import assignments, submit


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def test_reminders_7_3_1_days_before_close_only_to_those_who_have_not_submitted(app, smtp_server):
    t = factories.team(reports=3)
    cycle = factories.review_cycle(days=10)
    for a in assignments(cycle, rater_id=t.members[0].id):
        submit(cycle, a)
    start = clock.now()
    for offset in range(0, 11):
        moment = start + timedelta(days=offset)
        reminders.sweep(moment)
        reminders.sweep(moment)     # a repeat queues nothing
    assert outbox.deliver().sent == db.session.scalar(select(func.count()).select_from(OutboxMessage))
    received = smtp_server.messages
    recipients = {m["To"] for m in received}
    expected = {u.email for oid, u in t.users.items() if oid != t.members[0].id}
    assert recipients == expected                       # not the officer who has submitted everything
    assert len(received) == 3 * len(expected)           # 7, 3 and 1 days before, once each
    names = [o.last_name for o in [t.boss, t.sergeant, *t.members]]
    for message in received:
        assert message["Subject"].startswith("Beacon: reviews to finish by")
        assert not any(name in message["Subject"] for name in names)


def test_a_review_reminder_says_how_many_are_waiting_and_when_the_cycle_closes(app):
    t = factories.team(reports=3)
    cycle = factories.review_cycle(days=10)
    waiting = len(assignments(cycle, rater_id=t.sergeant.id))
    reminders.sweep(clock.now() + timedelta(days=3))
    message = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.dedup_key == f"review:{cycle.id}:rater:{t.sergeant.id}:7d"))
    assert message.recipient == t.users[t.sergeant.id].email
    assert message.subject == f"Beacon: reviews to finish by {cycle.closes_on.day} {cycle.closes_on:%B}"
    assert message.body == (f"Hello {t.sergeant.first_name} {t.sergeant.last_name},\n\n"
                            f"You have {waiting} review{'s' if waiting != 1 else ''} to finish in the review cycle "
                            f"\"{cycle.name}\".\nThe cycle closes in 7 days, on {cycle.closes_on:%A %d %B %Y}.\n\n"
                            "Sign in to finish them: http://beacon.test/reviews/\n\n-- Beacon")
    closes_local = datetime.combine(cycle.closes_on + timedelta(days=1), time.min, tzinfo=ZoneInfo("America/Chicago"))
    assert message.expires_at == closes_local and not message.private
