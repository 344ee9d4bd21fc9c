"""Notices to many people need a second person's approval; the outbox can be exported."""
import csv
import io
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import Forbidden
from notices import services as notices
from core.models import OutboxMessage
from notices.models import Notice, NoticeRecipient, NoticeStatus
from tests import factories


def write_through_the_page(auth, **data):
    form = {"subject": "Uniform inspection", "body": "Inspection on Friday at 08:00 at HQ.", "audience": "everyone",
            "unit": "", "role": "officer"} | data
    response = auth.post("/notices/new", form, form_page="/notices/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalars(select(Notice).order_by(Notice.id.desc())).first()


SEEN_RE = re.compile(r'name="seen"[^>]*value="([^"]+)"')


def approve_through_the_page(auth, client, notice_id, **kwargs):
    """Open the confirmation as an approver would, then approve the version shown there."""
    page = client.get(f"/notices/{notice_id}/approve")
    assert page.status_code == 200, page.status_code
    seen = SEEN_RE.search(page.get_data(as_text=True)).group(1)
    return auth.post(f"/notices/{notice_id}/approve", {"seen": seen}, form_page=f"/notices/{notice_id}/approve",
                     **kwargs)


def test_a_notice_is_sent_only_after_a_second_person_approves(auth, client):
    author = auth.as_role("hr")
    officers = [factories.user(roles=["officer"]) for _ in range(3)]
    notice = write_through_the_page(auth)
    assert notice.status == NoticeStatus.PENDING
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")).all() == []
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "You cannot approve your own notice" in page and "Approve and send" not in page
    assert client.get(f"/notices/{notice.id}/approve").status_code == 403
    refused = auth.post(f"/notices/{notice.id}/approve", {"seen": notice.version}, form_page=f"/notices/{notice.id}")
    assert refused.status_code == 403
    assert db.session.get(Notice, notice.id).status == NoticeStatus.PENDING
    auth.logout()
    second = auth.as_role("hr")
    assert approve_through_the_page(auth, client, notice.id).status_code == 302
    db.session.expire_all()
    sent = db.session.get(Notice, notice.id)
    assert sent.status == NoticeStatus.SENT and sent.decided_by_id == second.id and sent.author_id == author.id
    recipients = {r.email for r in db.session.scalars(select(NoticeRecipient))}
    assert {o.email for o in officers} | {author.email, second.email} == recipients
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")).all()
    assert len(messages) == len(recipients)
    assert all(m.subject == "Beacon: Uniform inspection" and "approved by" in m.body for m in messages)
    again = auth.post(f"/notices/{notice.id}/approve", {"seen": sent.version}, form_page=f"/notices/{notice.id}",
                      follow_redirects=True)
    assert "already sent" in again.get_data(as_text=True)
    assert "already sent" in client.get(f"/notices/{notice.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")).all()) == len(messages)


def test_the_author_cannot_approve_even_through_the_service_and_the_database_agrees(app):
    hr = factories.user(roles=["hr", "admin"])
    with clock.frozen(datetime(2026, 3, 2, 15, tzinfo=timezone.utc)):
        notice = notices.write(Actor.for_user(hr), subject="s", body="b", audience="everyone")
        with pytest.raises(Forbidden):
            notices.approve(Actor.for_user(hr), notice.id)
    notice.status, notice.decided_by_id = NoticeStatus.SENT, hr.id
    with pytest.raises(IntegrityError, match="second_person|CHECK|check"):
        db.session.commit()
    db.session.rollback()


def test_an_admin_rejects_with_a_reason_and_the_notice_is_kept(auth, client):
    factories.user(roles=["officer"])
    auth.as_role("hr")
    notice = write_through_the_page(auth, subject="Vote for Smith", body="Support our candidate.")
    auth.logout()
    admin = auth.as_role("admin")
    no_reason = auth.post(f"/notices/{notice.id}/reject", {"reason": ""}, form_page=f"/notices/{notice.id}",
                          follow_redirects=True)
    assert "Give the author a reason." in no_reason.get_data(as_text=True)
    auth.post(f"/notices/{notice.id}/reject", {"reason": "Political content: not department business."},
              form_page=f"/notices/{notice.id}")
    db.session.expire_all()
    kept = db.session.get(Notice, notice.id)
    assert kept.status == NoticeStatus.REJECTED and kept.decided_by_id == admin.id
    assert kept.reason == "Political content: not department business."
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")).all() == []
    assert "Vote for Smith" in client.get("/notices/").get_data(as_text=True)


def test_notice_to_a_unit_or_a_role_reaches_only_them(auth):
    north = factories.user(roles=["officer"], officer_row=factories.officer(unit_name="North"))
    factories.user(roles=["officer"], officer_row=factories.officer(unit_name="South"))
    clinician = factories.user(roles=["clinician"])
    factories.user(roles=["clinician"], status="disabled")
    auth.as_role("hr")
    to_unit = write_through_the_page(auth, audience="unit", unit=str(north.officer.unit_id))
    to_role = write_through_the_page(auth, audience="role", role="clinician")
    auth.logout()
    approver = Actor.for_user(factories.user(roles=["admin"]))
    assert notices.approve(approver, to_unit.id) == 1
    assert notices.approve(approver, to_role.id) == 1
    recipients = {(r.notice_id, r.email) for r in db.session.scalars(select(NoticeRecipient))}
    assert recipients == {(to_unit.id, north.email), (to_role.id, clinician.email)}


def test_admin_exports_the_outbox_for_a_date_range(auth, client):
    from core.services import outbox
    with clock.frozen(datetime(2026, 3, 1, 18, tzinfo=timezone.utc)):
        outbox.enqueue(kind="test", recipient="a@pd.test", subject="in range", body="b", dedup_key="e1")
    with clock.frozen(datetime(2026, 3, 5, 18, tzinfo=timezone.utc)):
        outbox.enqueue(kind="test", recipient="b@pd.test", subject="out of range", body="b", dedup_key="e2")
    db.session.commit()
    auth.as_role("admin")
    response = client.get("/admin/outbox/export.csv?date_from=2026-03-01&date_to=2026-03-02")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["subject"] for r in rows] == ["in range"] and rows[0]["recipient"] == "a@pd.test"
    backwards = client.get("/admin/outbox/export.csv?date_from=2026-03-05&date_to=2026-03-01", follow_redirects=True)
    assert "end date is before the start date" in backwards.get_data(as_text=True)
