"""The audit log: every audited action leaves an entry; entries cannot be changed."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from core import clock
from core.db import db
from core.models import AuditEntry
from core.models.audit import AppendOnlyError
from tests import factories
from tests.integration.test_roster_import import ROSTER, upload


def entries(action=None):
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalars(query).all()


def test_each_audited_action_writes_who_what_when_where_and_outcome(auth, client, frozen_clock):
    admin = factories.user(roles=["admin"])
    auth.login(admin.email, "wrong password entirely")          # failed sign-in
    auth.login(admin.email)                                       # sign-in
    auth.post("/admin/accounts/new", {"email": "lee.park@pd.test", "name": "Lee Park", "roles": ["hr"]},
              form_page="/admin/accounts/new")                    # account created + invitation
    lee = db.session.scalar(select(factories.User).where(factories.User.email == "lee.park@pd.test"))
    factories.approve_grants(lee.email)                           # grant approved by a second admin + invitation
    auth.post(f"/admin/accounts/{lee.id}/roles", {"roles": ["hr", "admin"]}, form_page=f"/admin/accounts/{lee.id}")
    auth.post(f"/admin/accounts/{lee.id}/disable", {"reason": "left"}, form_page=f"/admin/accounts/{lee.id}")
    auth.post(f"/admin/accounts/{lee.id}/enable", {}, form_page=f"/admin/accounts/{lee.id}")
    client.get("/admin/access-review.csv")
    auth.logout()
    hr = auth.as_role("hr")
    upload(auth, ROSTER)                                          # roster import
    token_page = "/account/password"
    from tests.conftest import csrf_token
    client.post("/account/password", data={"current_password": factories.PASSWORD,
                                           "password": "velvet tundra oboe lagoon",
                                           "confirm": "velvet tundra oboe lagoon",
                                           "csrf_token": csrf_token(client, token_page)})
    client.get("/admin/audit")                                    # denied
    found = [(e.action, e.outcome) for e in entries()]
    for expected in [("auth.sign_in", "failure"), ("auth.sign_in", "success"), ("account.created", "success"),
                     ("account.invite_sent", "success"), ("grant.requested", "success"),
                     ("grant.approved", "success"),
                     ("account.disabled", "success"), ("account.enabled", "success"),
                     ("access_review.exported", "success"), ("auth.sign_out", "success"),
                     ("roster.import", "success"), ("auth.password_changed", "success"),
                     ("access.denied", "denied")]:
        assert expected in found, expected
    roles = entries("grant.requested")[-1]  # adding admin is asked for, not given
    assert roles.actor_label == admin.email and roles.target == "lee.park@pd.test"
    assert roles.detail.startswith("admin (request ") and roles.ip == "127.0.0.1"
    assert roles.at == datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    assert entries("roster.import")[0].actor_id == hr.id
    assert "4 added" in entries("roster.import")[0].detail


def test_audit_entries_cannot_be_updated_or_deleted_through_the_orm(app):
    factories.user(roles=["hr"])
    entry = AuditEntry(at=clock.now(), actor_label="x", action="test", outcome="success")
    db.session.add(entry)
    db.session.commit()
    entry.action = "changed"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.expire_all()
    assert [(e.id, e.action) for e in entries()] == [(entry.id, "test")]


# Bulk statements through the session skip the ORM's events; the database's trigger
# still refuses them, as it refuses plain SQL.
@pytest.mark.parametrize("statement", [
    sa.text("UPDATE audit_entries SET action = 'changed'"),
    sa.text("DELETE FROM audit_entries"),
    sa.update(AuditEntry).values(action="changed"),
    sa.update(AuditEntry).where(AuditEntry.action == "test").values(detail="rewritten", outcome="failure"),
    sa.delete(AuditEntry),
], ids=["sql-update", "sql-delete", "orm-bulk-update", "orm-bulk-update-where", "orm-bulk-delete"])
def test_audit_entries_cannot_be_changed_even_with_raw_sql(app, statement):
    db.session.add(AuditEntry(at=clock.now(), actor_label="x", action="test", outcome="success", detail="kept"))
    db.session.commit()
    # Refused by the trigger, or (PostgreSQL, where the suite runs as the runtime role)
    # before it, for want of the privilege: both must hold.
    with pytest.raises(sa.exc.DatabaseError, match="append-only|permission denied"):
        db.session.execute(statement, execution_options={"synchronize_session": False})
        db.session.commit()
    db.session.rollback()
    db.session.expire_all()
    assert [(e.action, e.outcome, e.detail) for e in entries()] == [("test", "success", "kept")]


def test_audit_page_filters_by_person_action_and_date(auth, client):
    admin = factories.user(roles=["admin"])
    other = factories.user(roles=["hr"])
    with clock.frozen(datetime(2026, 1, 10, 9, 0, tzinfo=timezone.utc)):
        auth.login(other.email)
        auth.logout()
    with clock.frozen(datetime(2026, 2, 20, 9, 0, tzinfo=timezone.utc)):
        auth.login(admin.email)
        by_person = client.get(f"/admin/audit?person={other.email}").get_data(as_text=True)
        assert "2026-01-10 03:00:00 CST" in by_person and admin.email not in by_person.split("<tbody>")[1]
        by_action = client.get("/admin/audit?action=auth.sign_out").get_data(as_text=True)
        rows = by_action.split("<tbody>")[1]
        assert rows.count("<tr>") == 1 and other.email in rows
        by_date = client.get("/admin/audit?date_from=2026-02-20&date_to=2026-02-20").get_data(as_text=True)
        rows = by_date.split("<tbody>")[1]
        assert "2026-02-20" in rows and "2026-01-10" not in rows
        bad = client.get("/admin/audit?date_from=yesterday")
        assert bad.status_code == 200 and "Not a valid date value." in bad.get_data(as_text=True)


def test_no_page_or_command_can_edit_the_log(app, auth, client):
    for rule in app.url_map.iter_rules():
        assert "audit" not in rule.rule or rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule
    auth.as_role("admin")
    for method in (client.post, client.put, client.delete):
        assert method("/admin/audit").status_code in (400, 405)
    names = {c for c in app.cli.list_commands(None)}
    # The one audit command reads the log (it appends the record of its own check).
    assert [name for name in names if "audit" in name] == ["audit"]
    assert app.cli.get_command(None, "audit").list_commands(None) == ["verify"]


def test_administrators_reads_are_audited(app, auth, client):
    """Opening an account, the access review, a search of the log, the outbox and one of
    its messages, an officer's roster page: each leaves an entry naming what was read."""
    from core.services import outbox
    admin = auth.as_role("admin")
    other = factories.user(roles=["officer"])
    outbox.enqueue(kind="test", recipient="x@pd.test", subject="s", body="b", dedup_key="read-audit")
    db.session.commit()
    from core.models import OutboxMessage
    message = db.session.scalars(select(OutboxMessage)).one()
    client.get(f"/admin/accounts/{other.id}")
    client.get("/admin/access-review?flagged=1")
    client.get("/admin/audit?person=someone%40pd.test")
    client.get("/admin/outbox/?status=failed")
    client.get(f"/admin/outbox/m/{message.ref}")
    client.get(f"/roster/{other.officer_id}")
    reads = {e.action: e for e in db.session.scalars(select(AuditEntry).where(AuditEntry.actor_id == admin.id))}
    assert reads["account.viewed"].target == other.email
    assert reads["access_review.viewed"].detail == "page 1, flagged only"
    assert reads["audit.searched"].detail == "person someone@pd.test; page 1"
    assert reads["outbox.viewed"].detail == "status failed"
    assert reads["outbox.message_viewed"].target == f"message {message.ref}"
    assert reads["roster.officer_viewed"].target.startswith("badge ")
    assert not any(e.private for e in reads.values())
