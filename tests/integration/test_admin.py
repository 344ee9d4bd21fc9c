"""Administrators: accounts, roles, disabling, and the access review."""
import csv
import io
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from core import clock
from core.db import db
from core.models import AccountStatus, AuditEntry, User
from core.models import OutboxMessage
from tests import factories


def test_admin_creates_an_account_and_an_invitation_is_queued(auth, client):
    auth.as_role("admin")
    response = auth.post("/admin/accounts/new", {"email": "Sam.Reyes@PD.test", "name": "Sam Reyes",
                                                 "roles": ["hr", "admin"]}, form_page="/admin/accounts/new")
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "sam.reyes@pd.test"))
    # Privileged roles wait for a second administrator, and so does the invitation.
    assert user.roles == set() and user.password_hash is None
    assert db.session.scalars(select(OutboxMessage)).all() == []
    factories.approve_grants("sam.reyes@pd.test")
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == {"hr", "admin"}
    [message] = db.session.scalars(select(OutboxMessage)).all()
    assert message.recipient == "sam.reyes@pd.test" and message.kind == "invite"
    listing = client.get("/admin/accounts?q=reyes").get_data(as_text=True)
    assert "Sam Reyes" in listing and "invited" in listing


def test_account_form_errors_appear_beside_their_fields_and_nothing_is_created(auth):
    admin = auth.as_role("admin")
    response = auth.post("/admin/accounts/new", {"email": "not an email", "name": "", "roles": []},
                         form_page="/admin/accounts/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 422  # refused, shown again beside the fields
    assert "Enter an email address" in page and "Choose at least one role." in page
    duplicate = auth.post("/admin/accounts/new", {"email": admin.email, "name": "Again", "roles": ["hr"]},
                          form_page="/admin/accounts/new")
    assert "already exists" in duplicate.get_data(as_text=True)
    no_badge = auth.post("/admin/accounts/new", {"email": "o@pd.test", "name": "O", "roles": ["officer"]},
                         form_page="/admin/accounts/new")
    assert "tied to its roster row" in no_badge.get_data(as_text=True)
    wrong_badge = auth.post("/admin/accounts/new", {"email": "o@pd.test", "name": "O", "roles": ["officer"],
                                                    "badge_number": "NOPE"}, form_page="/admin/accounts/new")
    assert "No officer with this badge number" in wrong_badge.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "o@pd.test")) is None
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_officer_account_is_tied_to_its_roster_row(auth):
    auth.as_role("admin")
    officer = factories.officer(badge="4242", first="Rae", last="Quinn")
    auth.post("/admin/accounts/new", {"email": officer.email, "name": "Rae Quinn", "roles": ["officer"],
                                      "badge_number": "4242"}, form_page="/admin/accounts/new")
    user = db.session.scalar(select(User).where(User.email == officer.email))
    assert user.officer_id == officer.id


def test_the_last_administrator_cannot_be_removed(auth, client):
    admin = auth.as_role("admin")
    response = auth.post(f"/admin/accounts/{admin.id}/roles", {"roles": ["hr"]},
                         form_page=f"/admin/accounts/{admin.id}", follow_redirects=True)
    assert "last active administrator" in response.get_data(as_text=True)
    assert db.session.get(User, admin.id).roles == {"admin"}
    response = auth.post(f"/admin/accounts/{admin.id}/disable", {}, form_page=f"/admin/accounts/{admin.id}",
                         follow_redirects=True)
    assert "cannot disable your own account" in response.get_data(as_text=True)


def test_disable_and_enable(auth):
    auth.as_role("admin")
    hr = factories.user(roles=["hr"])
    auth.post(f"/admin/accounts/{hr.id}/disable", {"reason": "left the department"},
              form_page=f"/admin/accounts/{hr.id}")
    assert db.session.get(User, hr.id).status == AccountStatus.DISABLED
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.disabled"))
    assert entry.detail == "left the department"
    auth.post(f"/admin/accounts/{hr.id}/enable", {}, form_page=f"/admin/accounts/{hr.id}")
    assert db.session.get(User, hr.id).status == AccountStatus.ACTIVE


def test_access_review_flags_never_and_idle_and_downloads_as_csv(auth, client):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    with clock.frozen(now):
        admin = auth.as_role("admin", name="Ada Admin")
        never = factories.user(roles=["hr"], name="Nora Never")
        idle = factories.user(roles=["clinician"], name="Ian Idle")
        recent = factories.user(roles=["hr"], name="Rita Recent")
        gone = factories.user(roles=["hr"], name="Gus Gone", status=AccountStatus.DISABLED)
        for user, days in ((idle, 120), (recent, 10)):
            row = db.session.get(User, user.id)
            row.last_login_at = now - timedelta(days=days)
        db.session.commit()
        page = client.get("/admin/access-review").get_data(as_text=True)
        for name in ("Nora Never", "Ian Idle", "Rita Recent", "Gus Gone", "Ada Admin"):
            assert name in page
        flagged = client.get("/admin/access-review?flagged=1").get_data(as_text=True).split("<tbody>")[1]
        assert "Nora Never" in flagged and "Ian Idle" in flagged
        assert "Rita Recent" not in flagged and "Gus Gone" not in flagged and "Ada Admin" not in flagged
        response = client.get("/admin/access-review.csv")
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        rows = {r["name"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
        assert rows["Nora Never"]["flags"] == "never signed in" and rows["Nora Never"]["last_sign_in_utc"] == ""
        assert rows["Ian Idle"]["flags"] == "idle 120 days" and rows["Ian Idle"]["roles"] == "clinician"
        assert rows["Rita Recent"]["flags"] == "" and rows["Gus Gone"]["status"] == "disabled"
        assert rows["Ada Admin"]["last_sign_in_utc"] == "2026-06-01 12:00"
    assert never and admin and gone


def test_csv_cells_that_look_like_formulas_are_neutralised(auth, client):
    auth.as_role("admin")
    factories.user(roles=["hr"], name="=HYPERLINK(\"http://evil\")")
    text = client.get("/admin/access-review.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text
