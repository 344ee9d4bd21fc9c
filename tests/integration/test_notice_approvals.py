"""Notices, issue 15: approving goes through a confirmation that counts the recipients;
approvers are told by email and on their home page; the author may edit or withdraw a
notice still waiting for approval, and undo a withdrawal for a few minutes; an approval
and a withdrawal (or an edit) at the same moment cannot both win."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import AuditEntry, OutboxMessage
from notices import services as notices
from notices.models import Notice, NoticeRecipient, NoticeStatus
from tests import factories
from tests.integration.test_notices import SEEN_RE, approve_through_the_page, write_through_the_page


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def deliver(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


def notice_messages():
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")).all()


def audit_count():
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def reread(notice_id) -> Notice:
    db.session.expire_all()
    return db.session.get(Notice, notice_id)


def test_the_confirmation_counts_the_recipients_now_and_changes_nothing(auth, client):
    north = [factories.user(roles=["officer"], officer_row=factories.officer(unit_name="Patrol North"))
             for _ in range(3)]
    factories.user(roles=["officer"], officer_row=factories.officer(unit_name="Patrol South"))
    auth.as_role("hr")
    notice = write_through_the_page(auth, subject="Range closed", audience="unit", unit=str(north[0].officer.unit_id))
    auth.logout()
    auth.as_role("admin")
    detail = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert f'href="/notices/{notice.id}/approve"' in detail  # a link to the confirmation, not a button that sends
    before = audit_count()
    page = client.get(f"/notices/{notice.id}/approve").get_data(as_text=True)
    assert "Send “Range closed” to 3 people?" in page
    assert "(everyone in unit Patrol North)" in page and "Counted as of" in page and "counted again" in page
    assert all(u.email in page for u in north)
    assert reread(notice.id).status == NoticeStatus.PENDING
    assert notice_messages() == [] and audit_count() == before
    # One more officer joins the unit between the confirmation and the approval: counted at approval.
    factories.user(roles=["officer"], officer_row=factories.officer(unit_name="Patrol North"))
    seen = SEEN_RE.search(page).group(1)
    done = auth.post(f"/notices/{notice.id}/approve", {"seen": seen}, form_page=f"/notices/{notice.id}/approve",
                     follow_redirects=True)
    assert "Sent to 4 people" in done.get_data(as_text=True)
    assert len(notice_messages()) == 4


def test_approvers_are_emailed_with_a_link_and_the_author_never(auth, client, runner, smtp_server):
    author = auth.as_role("hr")
    other_hr = factories.user(roles=["hr"])
    admin = factories.user(roles=["admin"])
    disabled = factories.user(roles=["admin"], status="disabled")
    officer = factories.user(roles=["officer"])
    notice = write_through_the_page(auth, subject="Uniform inspection")
    deliver(runner)
    for approver in (other_hr, admin):
        [message] = smtp_server.to(approver.email)
        text = smtp_server.text(message)
        assert message["Subject"] == "Beacon: a notice waits for your approval"
        assert f"http://beacon.test/notices/{notice.id}" in text
        assert "Uniform inspection" in text and "Status: waiting for approval" in text
    assert smtp_server.to(author.email) == [] and smtp_server.to(disabled.email) == []
    assert smtp_server.to(officer.email) == []

    # An edit tells them again (once per version); the author still hears nothing.
    edited = auth.post(f"/notices/{notice.id}/edit", {"subject": "Uniform inspection moved", "body": "Monday 08:00",
                                                     "audience": "everyone", "unit": "", "role": "officer"},
                       form_page=f"/notices/{notice.id}/edit")
    assert edited.status_code == 302
    deliver(runner)
    latest = smtp_server.to(other_hr.email)[-1]
    assert len(smtp_server.to(other_hr.email)) == 2
    assert latest["Subject"] == "Beacon: an edited notice waits for your approval"
    assert "Uniform inspection moved" in smtp_server.text(latest)
    assert f"http://beacon.test/notices/{notice.id}" in smtp_server.text(latest)
    assert smtp_server.to(author.email) == []
    # Saving without a change tells nobody.
    auth.post(f"/notices/{notice.id}/edit", {"subject": "Uniform inspection moved", "body": "Monday 08:00",
                                             "audience": "everyone", "unit": "", "role": "officer"},
              form_page=f"/notices/{notice.id}/edit")
    deliver(runner)
    assert len(smtp_server.to(other_hr.email)) == 2


def test_requests_not_yet_delivered_are_dropped_when_the_notice_is_withdrawn(auth, client, runner, smtp_server):
    auth.as_role("hr")
    other_hr = factories.user(roles=["hr"])
    notice = write_through_the_page(auth)
    auth.post(f"/notices/{notice.id}/withdraw", {}, form_page=f"/notices/{notice.id}")
    deliver(runner)
    assert smtp_server.to(other_hr.email) == []
    # Undone: they are asked again.
    auth.post(f"/notices/{notice.id}/undo-withdraw", {}, form_page=f"/notices/{notice.id}")
    deliver(runner)
    [message] = smtp_server.to(other_hr.email)
    assert message["Subject"] == "Beacon: a notice waits for your approval again"


def test_the_home_page_counts_notices_waiting_for_me_and_links_to_them(auth, client):
    author = auth.as_role("hr")
    first = write_through_the_page(auth, subject="Range closed")
    write_through_the_page(auth, subject="Parking lot resurfacing")
    home = client.get("/").get_data(as_text=True)
    assert "2 of your notices are waiting for approval" in home and "No notice waits for your approval" in home
    auth.logout()
    second = factories.user(roles=["hr", "admin"])  # both roles: the panel is shown once
    auth.login(second.email)
    home = client.get("/").get_data(as_text=True)
    assert home.count('id="notices-todo"') == 1
    assert '<a href="/notices/?status=to_approve" id="notices-to-approve"><strong>2 notices wait for your approval' \
        in home
    listed = client.get("/notices/?status=to_approve").get_data(as_text=True)
    assert "Range closed" in listed and "Parking lot resurfacing" in listed
    approve_through_the_page(auth, client, first.id)
    assert "1 notice waits for your approval" in client.get("/").get_data(as_text=True)
    listed = client.get("/notices/?status=to_approve").get_data(as_text=True)
    assert "Range closed" not in listed and "Parking lot resurfacing" in listed
    sent = client.get("/notices/?status=sent").get_data(as_text=True)
    assert "Range closed" in sent and "Parking lot resurfacing" not in sent
    # The author's own notices never count as waiting for the author.
    auth.logout()
    auth.login(author.email)
    assert "Parking lot resurfacing" not in client.get("/notices/?status=to_approve").get_data(as_text=True)


def test_one_label_per_state_on_every_page(auth, client):
    auth.as_role("hr")
    notice = write_through_the_page(auth)
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert ">waiting for approval</span>" in page and ">pending<" not in page
    assert ">waiting for approval</span>" in client.get("/notices/").get_data(as_text=True)
    auth.post(f"/notices/{notice.id}/withdraw", {}, form_page=f"/notices/{notice.id}")
    assert ">withdrawn</span>" in client.get("/notices/").get_data(as_text=True)
    assert {s.label for s in NoticeStatus} == {"waiting for approval", "sent", "rejected", "withdrawn"}


def test_only_the_author_edits_and_only_while_it_waits(auth, client):
    author = auth.as_role("hr")
    unit_officer = factories.user(roles=["officer"], officer_row=factories.officer(unit_name="Traffic"))
    notice = write_through_the_page(auth, subject="Range closed")
    form = client.get(f"/notices/{notice.id}/edit").get_data(as_text=True)
    assert 'value="Range closed"' in form
    # Bad input: an error beside the field, nothing written.
    bad = auth.post(f"/notices/{notice.id}/edit", {"subject": "", "body": "b", "audience": "everyone"},
                    form_page=f"/notices/{notice.id}/edit")
    assert bad.status_code == 200 and "This field is required" in bad.get_data(as_text=True)
    assert reread(notice.id).edited_at is None
    done = auth.post(f"/notices/{notice.id}/edit", {"subject": "Range closed Friday", "body": "All day.",
                                                   "audience": "unit", "unit": str(unit_officer.officer.unit_id),
                                                   "role": "officer"},
                     form_page=f"/notices/{notice.id}/edit", follow_redirects=True)
    assert "Saved (audience, body, subject changed)" in done.get_data(as_text=True)
    edited = reread(notice.id)
    assert (edited.subject, edited.body, edited.audience_label) == ("Range closed Friday", "All day.", "unit Traffic")
    assert edited.edited_at is not None and edited.status == NoticeStatus.PENDING
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.edited")).one()
    assert entry.target == f"notice {notice.id}" and "subject" in entry.detail and entry.actor_label == author.email
    auth.logout()

    other = auth.as_role("hr")
    assert client.get(f"/notices/{notice.id}/edit").status_code == 403
    assert auth.post(f"/notices/{notice.id}/edit", {"subject": "Mine now", "body": "x", "audience": "everyone"},
                     form_page="/notices/").status_code == 403
    assert auth.post(f"/notices/{notice.id}/withdraw", {}, form_page="/notices/").status_code == 403
    assert reread(notice.id).subject == "Range closed Friday"
    approve_through_the_page(auth, client, notice.id)
    auth.logout()

    auth.login(author.email)
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "/edit" not in page and "Withdraw" not in page
    late = client.get(f"/notices/{notice.id}/edit", follow_redirects=True).get_data(as_text=True)
    assert "This notice is sent: it can no longer be edited." in late
    late = auth.post(f"/notices/{notice.id}/withdraw", {}, form_page="/notices/", follow_redirects=True)
    assert "This notice is sent: it can no longer be withdrawn." in late.get_data(as_text=True)
    assert reread(notice.id).status == NoticeStatus.SENT and reread(notice.id).decided_by_id == other.id


def test_an_approval_of_the_text_before_an_edit_is_refused(auth, client):
    author = auth.as_role("hr")
    notice = write_through_the_page(auth, subject="Range closed")
    auth.logout()
    approver = auth.as_role("admin")
    page = client.get(f"/notices/{notice.id}/approve").get_data(as_text=True)
    seen = SEEN_RE.search(page).group(1)
    notices.edit(Actor.for_user(author), notice.id, subject="Range open after all", body="b", audience="everyone")
    refused = auth.post(f"/notices/{notice.id}/approve", {"seen": seen}, form_page="/notices/",
                        follow_redirects=True)
    assert "edited this notice since you opened it" in refused.get_data(as_text=True)
    assert reread(notice.id).status == NoticeStatus.PENDING and notice_messages() == []
    assert approve_through_the_page(auth, client, notice.id).status_code == 302
    assert reread(notice.id).decided_by_id == approver.id


def test_the_author_withdraws_and_may_undo_for_a_few_minutes(auth, client):
    author = auth.as_role("hr")
    notice = write_through_the_page(auth, subject="Range closed")
    done = auth.post(f"/notices/{notice.id}/withdraw", {}, form_page=f"/notices/{notice.id}", follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Withdrawn" in text and 'action="/notices/%d/undo-withdraw"' % notice.id in text
    withdrawn = reread(notice.id)
    assert withdrawn.status == NoticeStatus.WITHDRAWN and withdrawn.withdrawn_at is not None
    assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"notice {notice.id}")).all() \
        == ["notice.written", "notice.withdrawn"]
    auth.logout()

    # Nobody can approve it now, nor undo the author's withdrawal.
    other = auth.as_role("hr")
    assert "already withdrawn" in client.get(f"/notices/{notice.id}/approve", follow_redirects=True) \
        .get_data(as_text=True)
    refused = auth.post(f"/notices/{notice.id}/approve", {"seen": withdrawn.version}, form_page="/notices/",
                        follow_redirects=True)
    assert "already withdrawn" in refused.get_data(as_text=True) and notice_messages() == []
    assert "/undo-withdraw" not in client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert auth.post(f"/notices/{notice.id}/undo-withdraw", {}, form_page="/notices/").status_code == 403
    assert reread(notice.id).status == NoticeStatus.WITHDRAWN
    assert "Range closed" in client.get("/notices/?status=withdrawn").get_data(as_text=True)  # kept on record
    auth.logout()

    auth.login(author.email)
    undone = auth.post(f"/notices/{notice.id}/undo-withdraw", {}, form_page="/notices/", follow_redirects=True)
    assert "Withdrawal undone" in undone.get_data(as_text=True)
    restored = reread(notice.id)
    assert restored.status == NoticeStatus.PENDING and restored.withdrawn_at is None
    again = auth.post(f"/notices/{notice.id}/undo-withdraw", {}, form_page="/notices/", follow_redirects=True)
    assert "there is no withdrawal to undo" in again.get_data(as_text=True)

    # Withdrawn again, and the few minutes pass: the undo is gone, from the page and the server.
    auth.post(f"/notices/{notice.id}/withdraw", {}, form_page=f"/notices/{notice.id}")
    late = reread(notice.id)
    late.withdrawn_at = clock.now() - notices.UNDO_WINDOW - timedelta(seconds=1)
    db.session.commit()
    assert "/undo-withdraw" not in client.get(f"/notices/{notice.id}").get_data(as_text=True)
    too_late = auth.post(f"/notices/{notice.id}/undo-withdraw", {}, form_page="/notices/", follow_redirects=True)
    assert "The time to undo the withdrawal has passed" in too_late.get_data(as_text=True)
    assert reread(notice.id).status == NoticeStatus.WITHDRAWN
    assert other.id != author.id


@pytest.mark.parametrize("first, late", [("approve", "withdraw"), ("approve", "edit"), ("withdraw", "approve"),
                                         ("edit", "approve")])
def test_an_approval_and_a_withdrawal_or_edit_at_the_same_moment_cannot_both_win(app, first, late):
    """Each side reads the pending notice; the other's change commits in between (another
    session, as another request would); the late side finds the row no longer as it read
    it and is refused: one wins, the other is told, nothing half-done."""
    author = Actor.for_user(factories.user(roles=["hr"]))
    approver = Actor.for_user(factories.user(roles=["admin"]))
    factories.user(roles=["officer"])
    notice = notices.write(author, subject="Range closed", body="b", audience="everyone")
    notice_id = notice.id
    db.session.expire_all()
    held = db.session.get(Notice, notice_id)  # the late side has read it: pending
    seen = held.version
    assert held.status == NoticeStatus.PENDING

    with Session(db.engine) as other:  # the first side, in its own transaction
        mine = other.get(Notice, notice_id)
        if first == "approve":
            mine.approve(approver, clock.now())
        elif first == "withdraw":
            mine.withdraw(author, clock.now())
        else:
            mine.edit(author, clock.now(), subject="Range open")
        other.commit()

    with pytest.raises(DomainError, match="Someone else has just changed or decided|edited this notice since"):
        if late == "withdraw":
            notices.withdraw(author, notice_id)
        elif late == "edit":
            notices.edit(author, notice_id, subject="Range open", body="b", audience="everyone")
        else:
            notices.approve(approver, notice_id, seen=seen)
    final = reread(notice_id)
    assert final.status == {"approve": NoticeStatus.SENT, "withdraw": NoticeStatus.WITHDRAWN,
                            "edit": NoticeStatus.PENDING}[first]
    if first != "approve":
        assert final.decided_by_id is None
        assert db.session.scalars(select(NoticeRecipient)).all() == [] and notice_messages() == []
    else:
        assert final.withdrawn_at is None and final.subject == "Range closed"


def test_a_withdrawal_read_before_an_approval_lands_is_refused_by_the_version_column(app):
    """Without the approval's row lock (SQLite has none): the withdrawal's UPDATE still
    only applies to a notice that is pending, so the approval that committed first wins."""
    author = Actor.for_user(factories.user(roles=["hr"]))
    approver = Actor.for_user(factories.user(roles=["admin"]))
    notice = notices.write(author, subject="Range closed", body="b", audience="everyone")
    notice_id = notice.id
    db.session.expire_all()
    held = db.session.get(Notice, notice_id)
    with Session(db.engine) as other:
        other.get(Notice, notice_id).approve(approver, clock.now())
        other.commit()
    held.withdraw(author, clock.now())  # the model agrees: it still looks pending here
    with pytest.raises(DomainError, match="Someone else"):
        notices._flush_decision()
    assert reread(notice_id).status == NoticeStatus.SENT

