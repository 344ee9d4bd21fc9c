"""Two people for every privileged grant (issue 12, part 1): the administrator, HR and
clinician roles take effect only when a second administrator approves them; requests
lapse after 7 days; the command line on the server grants at once, audited; disabling
and removing a role stay immediate."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import AccountStatus, AuditEntry, GrantStatus, OutboxMessage, RoleGrant, User
from core.services import accounts, grants, outbox
from tests import factories


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config  # messages go to the real SMTP server on loopback


def account(email) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def grant_rows(email=None) -> list[RoleGrant]:
    db.session.expire_all()
    query = select(RoleGrant).order_by(RoleGrant.id)
    if email:
        query = query.join(User, User.id == RoleGrant.user_id).where(User.email == email)
    return db.session.scalars(query).all()


def actions(action) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def ask_for_hr(auth, email="lee.park@pd.test", roles=("hr",)):
    response = auth.post("/admin/accounts/new", {"email": email, "name": "Lee Park", "roles": list(roles)},
                         form_page="/admin/accounts/new", follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def test_a_new_hr_account_gets_its_role_and_invitation_only_when_a_second_admin_approves(
        auth, client, runner, smtp_server):
    first = factories.user(roles=["admin"], email="first.admin@pd.test")
    second = factories.user(roles=["admin"], email="second.admin@pd.test")
    auth.login(first.email)
    page = ask_for_hr(auth).get_data(as_text=True)
    assert "waits for a second administrator" in page
    lee = account("lee.park@pd.test")
    assert lee.roles == set() and lee.password_hash is None
    [grant] = grant_rows()
    assert (grant.role, grant.status, grant.requested_by_id) == ("hr", GrantStatus.PENDING, first.id)
    # No invitation yet: nobody can read (or use) a link to this account before a second person agreed.
    assert db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.recipient == lee.email)).all() == []
    auth.logout()

    auth.login(second.email)
    assert "Approve hr for Lee Park" in client.get("/admin/grants").get_data(as_text=True)
    response = auth.post(f"/admin/grants/{grant.id}/approve", form_page="/admin/grants", follow_redirects=True)
    assert "Approved: the role is given." in response.get_data(as_text=True)
    assert account(lee.email).roles == {"hr"}
    [row] = grant_rows()
    assert row.status == GrantStatus.APPROVED and row.decided_by_id == second.id
    [approved] = actions("grant.approved")
    assert approved.actor_id == second.id and approved.target == lee.email and "asked by first.admin" in approved.detail

    assert runner.invoke(args=["outbox", "deliver"]).exit_code == 0
    [invitation] = smtp_server.to(lee.email)
    assert invitation["Subject"] == "Beacon: your new account"
    assert "Hello Lee Park" in smtp_server.text(invitation)


def test_the_requester_cannot_approve_their_own_request_in_the_service_or_the_database(auth, client):
    requester = auth.as_role("admin")
    factories.user(roles=["admin"])  # someone else who could approve
    ask_for_hr(auth)
    [grant] = grant_rows()
    page = client.get("/admin/grants").get_data(as_text=True)
    assert "You asked for this" in page and f"/admin/grants/{grant.id}/approve" not in page
    response = auth.post(f"/admin/grants/{grant.id}/approve", form_page="/admin/grants", follow_redirects=True)
    assert "You asked for this: another administrator must approve or reject it." in \
        response.get_data(as_text=True)
    with pytest.raises(DomainError, match="another administrator must"):
        grants.approve(Actor.for_user(requester), grant.id)
    db.session.rollback()
    assert account("lee.park@pd.test").roles == set() and grant_rows()[0].status == GrantStatus.PENDING
    # The database holds the rule too, whatever code tries it.
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE role_grants SET status = 'approved', decided_by_id = requested_by_id"))
        db.session.flush()
    db.session.rollback()


def test_the_person_a_role_is_for_cannot_approve_it_either(auth):
    requester = factories.user(roles=["admin"])
    colleague = factories.user(roles=["admin"], email="colleague@pd.test")
    auth.login(requester.email)
    response = auth.post(f"/admin/accounts/{colleague.id}/roles", {"roles": ["admin", "hr"]},
                         form_page=f"/admin/accounts/{colleague.id}", follow_redirects=True)
    assert "Asked for hr: it takes effect when another administrator approves it." in response.get_data(as_text=True)
    [grant] = grant_rows()
    with pytest.raises(DomainError, match="This request is about your own account"):
        grants.approve(Actor.for_user(colleague), grant.id)
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE role_grants SET status = 'approved', decided_by_id = user_id"))
        db.session.flush()
    db.session.rollback()
    third = factories.user(roles=["admin"])
    grants.approve(Actor.for_user(third), grant.id)
    assert account("colleague@pd.test").roles == {"admin", "hr"}


def test_only_one_request_per_account_and_role_waits(auth):
    auth.as_role("admin")
    ask_for_hr(auth)
    lee = account("lee.park@pd.test")
    auth.post(f"/admin/accounts/{lee.id}/roles", {"roles": ["hr"]}, form_page=f"/admin/accounts/{lee.id}")
    assert len(grant_rows()) == 1  # asking again while one waits adds nothing
    [grant] = grant_rows()
    with pytest.raises(IntegrityError):  # and the database allows one pending request per account and role
        db.session.add(RoleGrant(user_id=lee.id, role="hr", status=GrantStatus.PENDING,
                                 requested_by_id=grant.requested_by_id, requested_by_label="x",
                                 requested_at=clock.now(), expires_at=clock.now() + timedelta(days=7)))
        db.session.flush()
    db.session.rollback()


def test_a_rejected_request_gives_nothing_and_keeps_the_reason(auth, client):
    factories.user(roles=["admin"], email="asker@pd.test")
    grants_asker = Actor.for_user(account("asker@pd.test"))
    accounts.create_account(grants_asker, email="lee.park@pd.test", name="Lee Park", roles=["hr"])
    [grant] = grant_rows()
    auth.as_role("admin")
    no_reason = auth.post(f"/admin/grants/{grant.id}/reject", {"reason": ""}, form_page="/admin/grants",
                          follow_redirects=True)
    assert "Give the requester a reason." in no_reason.get_data(as_text=True)
    assert grant_rows()[0].status == GrantStatus.PENDING
    response = auth.post(f"/admin/grants/{grant.id}/reject", {"reason": "not on the HR staff list"},
                         form_page="/admin/grants", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Rejected; the request is kept." in page and "not on the HR staff list" in page
    assert grant_rows()[0].status == GrantStatus.REJECTED and account("lee.park@pd.test").roles == set()
    assert "not on the HR staff list" in actions("grant.rejected")[0].detail
    again = auth.post(f"/admin/grants/{grant.id}/approve", form_page="/admin/grants", follow_redirects=True)
    assert "already rejected" in again.get_data(as_text=True)
    assert account("lee.park@pd.test").roles == set()
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "lee.park@pd.test")) is None


def test_a_request_lapses_after_7_days_and_can_be_asked_for_again(app, frozen_clock):
    asker = Actor.for_user(factories.user(roles=["admin"]))
    approver = Actor.for_user(factories.user(roles=["admin"]))
    accounts.create_account(asker, email="lee.park@pd.test", name="Lee Park", roles=["hr"])
    [grant] = grant_rows()
    clock.advance(timedelta(days=6, hours=23))
    assert grants.sweep() == 0 and grant_rows()[0].status == GrantStatus.PENDING
    clock.advance(timedelta(hours=1))
    # Looked at before the daily sweep ran, it has lapsed already.
    with pytest.raises(DomainError, match="expired"):
        grants.approve(approver, grant.id)
    assert grant_rows()[0].status == GrantStatus.EXPIRED
    assert grants.sweep() == 0  # idempotent: nothing more to do
    [expired] = actions("grant.expired")
    assert expired.actor_label == "grants sweep" and "not decided in 7 days" in expired.detail
    assert account("lee.park@pd.test").roles == set()
    lee = account("lee.park@pd.test")
    accounts.set_roles(asker, lee.id, ["hr"])  # asked again: a new request
    assert [g.status for g in grant_rows()] == [GrantStatus.EXPIRED, GrantStatus.PENDING]


def test_the_daily_sweep_expires_what_nobody_decided(app, frozen_clock):
    asker = Actor.for_user(factories.user(roles=["admin"]))
    accounts.create_account(asker, email="a@pd.test", name="A Person", roles=["hr", "admin"])
    clock.advance(timedelta(days=8))
    assert grants.sweep() == 2
    assert {g.status for g in grant_rows()} == {GrantStatus.EXPIRED}
    assert "grants-expire" in app.extensions["beacon.jobs"]


def test_other_admins_are_emailed_and_see_the_request_on_their_home_page(auth, client, runner, smtp_server):
    asker = factories.user(roles=["admin"], email="asker@pd.test")
    other = factories.user(roles=["admin"], email="other.admin@pd.test")
    factories.user(roles=["admin"], email="gone.admin@pd.test", status=AccountStatus.DISABLED)
    accounts.create_account(Actor.for_user(asker), email="lee.park@pd.test", name="Lee Park", roles=["clinician"])
    runner.invoke(args=["outbox", "deliver"])
    assert sorted(m["To"] for m in smtp_server.messages) == ["other.admin@pd.test"]  # not the asker, not disabled
    [mail] = smtp_server.to("other.admin@pd.test")
    body = smtp_server.text(mail)
    assert mail["Subject"] == "Beacon: a role waits for your approval"
    assert "asker@pd.test asked for Lee Park <lee.park@pd.test> to be given the clinician role" in body
    assert "http://beacon.test/admin/grants" in body
    auth.login(other.email)
    home = client.get("/").get_data(as_text=True)
    assert "Role approvals" in home and "1 request for a privileged role" in home
    assert "clinician for Lee Park (lee.park@pd.test), asked by asker@pd.test" in home
    auth.logout()
    auth.login(asker.email)
    assert "(0 for you to decide)" in client.get("/").get_data(as_text=True)


def test_hr_creating_a_clinician_account_opens_a_pending_grant(auth, client):
    factories.user(roles=["admin"], email="approver@pd.test")
    hr = auth.as_role("hr")
    clinician = factories.clinician(name="Dr. Mae Chen", email="mae.chen@clinic.test")
    response = auth.post(f"/wellness/clinicians/{clinician.id}/account", {},
                         form_page=f"/wellness/clinicians/{clinician.id}")
    assert response.status_code == 302
    user = account("mae.chen@clinic.test")
    db.session.refresh(clinician)
    assert clinician.user_id == user.id  # tied at once...
    assert user.roles == set()           # ...the role only once approved
    [grant] = grant_rows()
    assert grant.role == "clinician" and grant.requested_by_id == hr.id
    assert db.session.scalars(select(OutboxMessage.recipient)).all() == ["approver@pd.test"]
    factories.approve_grants(user.email, account("approver@pd.test"))
    assert account(user.email).roles == {"clinician"}
    assert db.session.scalar(select(OutboxMessage.kind).where(OutboxMessage.recipient == user.email)) == "invite"


def test_officer_accounts_need_no_approval(auth):
    auth.as_role("admin")
    officer = factories.officer(badge="4242", first="Rae", last="Quinn")
    auth.post("/admin/accounts/new", {"email": officer.email, "name": "Rae Quinn", "roles": ["officer"],
                                      "badge_number": "4242"}, form_page="/admin/accounts/new")
    assert account(officer.email).roles == {"officer"} and grant_rows() == []
    assert db.session.scalar(select(OutboxMessage.kind).where(OutboxMessage.recipient == officer.email)) == "invite"


def test_the_command_line_grants_at_once_and_is_audited(runner):
    asker = factories.user(roles=["admin"], email="only.admin@pd.test")
    target = factories.user(roles=["officer"])
    accounts.set_roles(Actor.for_user(asker), target.id, ["officer", "hr"])
    [grant] = grant_rows()
    result = runner.invoke(args=["users", "grant", target.email, "hr"])
    assert result.exit_code == 0, result.output
    assert f"gave hr to {target.email} at the command line (audited)" in result.output
    assert f"request {grant.id} by only.admin@pd.test is closed" in result.output
    assert account(target.email).roles == {"officer", "hr"}
    closed = grant_rows()[0]
    assert closed.status == GrantStatus.APPROVED and closed.decided_by_label == "command line"
    [entry] = actions("grant.command_line")
    assert entry.actor_label == "command line" and entry.actor_id is None and entry.target == target.email
    assert "given at once on the server" in entry.detail
    again = runner.invoke(args=["users", "grant", target.email, "hr"])
    assert again.exit_code == 1 and "already has the hr role" in again.output
    unknown = runner.invoke(args=["users", "grant", "nobody@pd.test", "admin"])
    assert unknown.exit_code == 1 and "No account for nobody@pd.test" in unknown.output
    assert runner.invoke(args=["users", "grant", target.email, "chief"]).exit_code == 2


def test_disabling_and_removing_a_role_take_effect_at_once(auth, client):
    admin = auth.as_role("admin")
    hr = factories.user(roles=["hr", "officer"])
    auth.post(f"/admin/accounts/{hr.id}/roles", {"roles": ["officer"]}, form_page=f"/admin/accounts/{hr.id}")
    assert account(hr.email).roles == {"officer"} and grant_rows() == []
    other = factories.user(roles=["admin"])
    auth.post(f"/admin/accounts/{other.id}/disable", {"reason": "left"}, form_page=f"/admin/accounts/{other.id}")
    assert account(other.email).status == AccountStatus.DISABLED
    assert admin.id  # the disabling admin needed nobody else


def test_a_request_for_a_disabled_account_cannot_be_approved(auth):
    asker = Actor.for_user(factories.user(roles=["admin"]))
    accounts.create_account(asker, email="lee.park@pd.test", name="Lee Park", roles=["hr"])
    lee = account("lee.park@pd.test")
    accounts.disable_account(asker, lee.id, "changed our mind")
    [grant] = grant_rows()
    with pytest.raises(DomainError, match="disabled"):
        grants.approve(Actor.for_user(factories.user(roles=["admin"])), grant.id)
    assert account("lee.park@pd.test").roles == set() and grant_rows()[0].status == GrantStatus.PENDING


def test_unknown_requests_are_404_and_other_roles_403(auth, client):
    auth.as_role("admin")
    assert client.get("/admin/grants").status_code == 200
    assert auth.post("/admin/grants/999999/approve", form_page="/admin/grants").status_code == 404
    assert auth.post("/admin/grants/999999/reject", {"reason": "x"}, form_page="/admin/grants").status_code == 404
    auth.logout()
    auth.as_role("hr")
    assert client.get("/admin/grants").status_code == 403
    assert auth.post("/admin/grants/1/approve").status_code == 403


def test_the_demo_puts_no_sign_in_link_of_a_privileged_account_where_an_admin_can_read_it(app, runner, auth,
                                                                                           client):
    app.config.update(DEMO_ALLOWED=True, SMTP_HOST="")  # the development demo: messages stay readable in the outbox
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    links = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(["invite", "reset"]))).all()
    privileged = {u.email for u in db.session.scalars(select(User)) if u.roles & {"admin", "hr", "clinician"}}
    assert not [m for m in links if m.recipient in privileged]
    # Asked for afterwards (forgot password), HR's reset link is still not shown to the administrator;
    # an officer's is, as before, in the demo.
    accounts.request_password_reset("hr@beacon-pd.example", None)
    officer = db.session.scalar(select(User).where(User.email.like("%@beacon-pd.example"), User.officer_id.is_not(None),
                                                   User.password_hash.is_not(None)).order_by(User.id))
    accounts.request_password_reset(officer.email, None)
    hr_link = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "hr@beacon-pd.example"))
    officer_link = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == officer.email))
    assert not outbox.body_visible(hr_link) and outbox.body_visible(officer_link)
    auth.login("admin@beacon-pd.example", "lantern orbit kettle meadow")
    assert "Hello Priya Raman" not in client.get(f"/admin/outbox/m/{hr_link.ref}").get_data(as_text=True)


def test_no_invitation_can_be_sent_again_before_the_role_is_approved(auth):
    auth.as_role("admin")
    ask_for_hr(auth)
    lee = account("lee.park@pd.test")
    response = auth.post(f"/admin/accounts/{lee.id}/invite", form_page=f"/admin/accounts/{lee.id}",
                         follow_redirects=True)
    assert "waits for a second administrator" in response.get_data(as_text=True)
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == lee.email)) is None
