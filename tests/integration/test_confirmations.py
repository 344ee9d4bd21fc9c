"""Confirmation steps for HR's and administrators' consequential actions (issue 15):
creating accounts for all officers, regenerating a cycle's assignments, disabling an
account, importing a roster. Each GET states what will happen, in counts and names,
and changes nothing; its POST (CSRF-protected) acts; other roles are refused."""
import io
import re

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import AccountStatus, AuditEntry, LoginSession, OfficerStatus, OutboxMessage, User
from evaluations.models import ReviewAssignment
from tests import factories
from tests.conftest import Auth


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def consequences(html: str) -> str:
    """The confirmation's list of what happens, as plain text."""
    match = re.search(r'<ul id="confirm-consequences">(.*?)</ul>', html, re.S)
    assert match, html[:2000]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1)))


# --- create accounts for all officers without one --------------------------------------------

@pytest.fixture
def roster_without_accounts():
    """Three officers to invite, one whose email another account uses, one separated,
    one who already has an account."""
    new = [factories.officer(first=f"New{i}", last=f"Person{i}") for i in range(3)]
    clash = factories.officer(first="Clash", last="Email")
    factories.user(roles=["hr"], email=clash.email)
    separated = factories.officer(first="Gone", last="Away", status=OfficerStatus.SEPARATED)
    has = factories.officer(first="Has", last="Account")
    factories.user(officer_row=has)
    return new, clash, separated, has


def test_roster_page_leads_to_the_account_confirmation_not_a_post(auth, client, roster_without_accounts):
    auth.as_role("hr")
    html = client.get("/roster/").get_data(as_text=True)
    assert 'href="/roster/accounts"' in html
    assert 'action="/roster/accounts"' not in html


def test_create_accounts_confirmation_states_who_and_changes_nothing(auth, client, roster_without_accounts):
    new, clash, separated, has = roster_without_accounts
    auth.as_role("hr")
    users_before, mail_before = count(User), count(OutboxMessage)
    response = client.get("/roster/accounts")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    said = consequences(html)
    assert "Creates 3 officer accounts and sends 3 invitations" in said
    assert "Skips 1 officer whose email another account already uses" in said
    assert "Leaves out 1 separated officer" in said
    for officer in new:
        assert f"{officer.badge_number} {officer.full_name}" in html
    assert f"{clash.badge_number} {clash.full_name}: {clash.email} is already another account" in html
    assert separated.full_name not in html and has.full_name not in html
    assert "Create 3 accounts and send the invitations" in html and 'name="expected" value="3"' in html
    assert count(User) == users_before and count(OutboxMessage) == mail_before


def test_confirming_creates_the_accounts_and_invites(auth, client, roster_without_accounts):
    new, clash, separated, has = roster_without_accounts
    auth.as_role("hr")
    response = auth.post("/roster/accounts", {"expected": "3"}, form_page="/roster/accounts")
    assert response.status_code == 302 and response.headers["Location"].endswith("/roster/")
    emails = set(db.session.scalars(select(User.email)))
    assert {o.email for o in new} <= emails and separated.email not in emails
    invites = set(db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.kind == "invite")))
    assert invites == {o.email for o in new}
    page = client.get("/roster/accounts").get_data(as_text=True)
    assert "Every officer who can have an account has one" in page and 'id="confirm-form"' not in page


def test_a_stale_confirmation_acts_on_nothing_and_shows_the_new_numbers(auth, client, roster_without_accounts):
    auth.as_role("hr")
    token_page = "/roster/accounts"
    factories.officer(first="Late", last="Arrival")   # the roster changed after the page was shown
    users_before = count(User)
    response = auth.post("/roster/accounts", {"expected": "3"}, form_page=token_page)
    assert response.status_code == 302 and response.headers["Location"].endswith("/roster/accounts")
    assert count(User) == users_before
    assert "Creates 4 officer accounts" in consequences(client.get("/roster/accounts").get_data(as_text=True))


def test_create_accounts_refuses_other_roles_and_a_missing_csrf_token(auth, client, roster_without_accounts):
    auth.as_role("officer")
    assert client.get("/roster/accounts").status_code == 403
    auth.logout()
    auth.as_role("hr")
    users_before = count(User)
    assert client.post("/roster/accounts", data={"expected": "3"}).status_code == 400
    assert count(User) == users_before


# --- disable an account -------------------------------------------------------------------------

def test_account_page_leads_to_the_disable_confirmation(auth, client):
    auth.as_role("admin")
    hr = factories.user(roles=["hr"], name="Dana Reyes")
    html = client.get(f"/admin/accounts/{hr.id}").get_data(as_text=True)
    assert f'href="/admin/accounts/{hr.id}/disable"' in html
    assert f'action="/admin/accounts/{hr.id}/disable"' not in html


def test_disable_confirmation_names_the_person_and_counts_sessions(app, auth, client):
    auth.as_role("admin")
    hr = factories.user(roles=["hr"], name="Dana Reyes")
    elsewhere = app.test_client()
    assert Auth(elsewhere).login(hr.email).status_code == 302   # one open session
    response = client.get(f"/admin/accounts/{hr.id}/disable")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Disable Dana Reyes&#39;s account?" in html or "Disable Dana Reyes's account?" in html
    said = consequences(html)
    assert f"Dana Reyes ({hr.email}) is signed out everywhere at once: 1 open session ends now" in said
    assert "Signing in is refused" in said and "Nothing is deleted" in said
    assert 'name="reason"' in html and "Disable account" in html
    assert db.session.get(User, hr.id).status == AccountStatus.ACTIVE
    assert count(LoginSession, LoginSession.user_id == hr.id, LoginSession.ended_at.is_(None)) == 1
    assert elsewhere.get("/").status_code == 200


def test_confirming_disables_with_the_reason_and_ends_the_sessions(app, auth, client):
    auth.as_role("admin")
    hr = factories.user(roles=["hr"], name="Dana Reyes")
    elsewhere = app.test_client()
    Auth(elsewhere).login(hr.email)
    page = f"/admin/accounts/{hr.id}/disable"
    response = auth.post(page, {"reason": "Left the department"}, form_page=page)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/accounts/{hr.id}")
    assert db.session.get(User, hr.id).status == AccountStatus.DISABLED
    assert db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "account.disabled")) \
        == "Left the department"
    assert elsewhere.get("/").status_code == 302
    again = client.get(page).get_data(as_text=True)
    assert "This account is already disabled." in again and 'id="confirm-form"' not in again


def test_a_reason_too_long_is_shown_beside_the_field_and_nothing_changes(auth, client):
    auth.as_role("admin")
    hr = factories.user(roles=["hr"])
    page = f"/admin/accounts/{hr.id}/disable"
    response = auth.post(page, {"reason": "x" * 501}, form_page=page)
    assert response.status_code == 422
    assert "invalid-feedback" in response.get_data(as_text=True)
    assert db.session.get(User, hr.id).status == AccountStatus.ACTIVE


def test_disabling_oneself_is_refused_on_the_confirmation(auth, client):
    me = auth.as_role("admin")
    factories.user(roles=["admin"])
    html = client.get(f"/admin/accounts/{me.id}/disable").get_data(as_text=True)
    assert "You cannot disable your own account." in html and 'id="confirm-form"' not in html


def test_disable_confirmation_refuses_other_roles_and_a_missing_csrf_token(auth, client):
    hr = factories.user(roles=["hr"])
    auth.as_role("hr")
    assert client.get(f"/admin/accounts/{hr.id}/disable").status_code == 403
    auth.logout()
    auth.as_role("admin")
    assert client.post(f"/admin/accounts/{hr.id}/disable", data={"reason": "x"}).status_code == 400
    assert db.session.get(User, hr.id).status == AccountStatus.ACTIVE


# --- regenerate a draft cycle's assignments -----------------------------------------------------

@pytest.fixture
def draft_cycle():
    """A draft cycle with its assignments generated, one of them then made again by hand
    (removed and added back): regenerating makes it again, but not as HR's."""
    from core.audit import Actor
    from evaluations.models import RaterGroup
    from evaluations.services import cycles
    team = factories.team(reports=3)
    cycle = factories.review_cycle(open_it=False, peers=1)
    hr = Actor.system("test")
    one = db.session.scalars(select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id,
                                                            ReviewAssignment.subject_id == team.members[0].id,
                                                            ReviewAssignment.group == RaterGroup.SUPERVISOR)).first()
    cycles.remove_assignment(hr, cycle.id, one.id)
    cycles.add_assignment(hr, cycle.id, team.members[0].badge_number, team.sergeant.badge_number, "supervisor")
    return cycle


def test_cycle_page_leads_to_the_regenerate_confirmation(auth, client, draft_cycle):
    auth.as_role("hr")
    html = client.get(f"/reviews/cycles/{draft_cycle.id}").get_data(as_text=True)
    assert f'href="/reviews/cycles/{draft_cycle.id}/generate"' in html
    assert f'action="/reviews/cycles/{draft_cycle.id}/generate"' not in html


def test_regenerate_confirmation_counts_without_changing_anything(auth, client, draft_cycle):
    auth.as_role("hr")
    before = sorted(db.session.execute(select(ReviewAssignment.subject_id, ReviewAssignment.rater_id,
                                              ReviewAssignment.reason)
                                       .where(ReviewAssignment.cycle_id == draft_cycle.id)).all())
    audit_before = count(AuditEntry, AuditEntry.action == "cycle.assignments.generate")
    response = client.get(f"/reviews/cycles/{draft_cycle.id}/generate")
    assert response.status_code == 200
    said = consequences(response.get_data(as_text=True))
    assert f"Removes all {len(before)} current assignments" in said
    assert "1 assignment added or swapped in by hand is lost" in said
    assert "No review has been started" in said
    match = re.search(r"Makes (\d+) new assignments from the roster for (\d+) officers", said)
    assert match, said
    after = sorted(db.session.execute(select(ReviewAssignment.subject_id, ReviewAssignment.rater_id,
                                             ReviewAssignment.reason)
                                      .where(ReviewAssignment.cycle_id == draft_cycle.id)).all())
    assert after == before
    assert count(AuditEntry, AuditEntry.action == "cycle.assignments.generate") == audit_before
    # The count is what generating makes.
    auth.post(f"/reviews/cycles/{draft_cycle.id}/generate", form_page=f"/reviews/cycles/{draft_cycle.id}/generate")
    made = count(ReviewAssignment, ReviewAssignment.cycle_id == draft_cycle.id)
    assert made == int(match.group(1)) == len(before)
    assert count(ReviewAssignment, ReviewAssignment.cycle_id == draft_cycle.id,
                 ReviewAssignment.reason == "added by HR") == 0


def test_regenerate_is_refused_to_others_and_without_a_token(auth, client, draft_cycle):
    auth.as_role("admin")
    assert client.get(f"/reviews/cycles/{draft_cycle.id}/generate").status_code == 403
    auth.logout()
    auth.as_role("hr")
    before = count(ReviewAssignment, ReviewAssignment.cycle_id == draft_cycle.id)
    assert client.post(f"/reviews/cycles/{draft_cycle.id}/generate").status_code == 400
    assert count(ReviewAssignment, ReviewAssignment.cycle_id == draft_cycle.id) == before


def test_an_open_cycle_has_no_regenerate_confirmation(auth, client):
    factories.team(reports=2)
    cycle = factories.review_cycle()
    auth.as_role("hr")
    response = client.get(f"/reviews/cycles/{cycle.id}/generate")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/reviews/cycles/{cycle.id}")


# --- the roster import has no one-click "Import" ------------------------------------------------

def test_the_import_page_only_previews(auth, client):
    auth.as_role("hr")
    html = client.get("/roster/import").get_data(as_text=True)
    assert 'name="preview"' in html and 'name="submit"' not in html
    assert "Import this file" in html   # the page says where the import is confirmed


def test_an_upload_from_the_page_stops_at_the_preview(auth, client):
    from core.models import ImportJob, ImportState
    from core.services import imports
    auth.as_role("hr")
    text = ("badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status\n"
            "P-1,Pia,Preview,pia@pd.test,North,Police Officer,,2020-01-01,active\n")
    response = auth.post("/roster/import", {"file": (io.BytesIO(text.encode()), "r.csv"), "preview": "1"},
                         form_page="/roster/import", content_type="multipart/form-data")
    assert response.status_code == 302
    imports.work()
    job = db.session.scalars(select(ImportJob)).one()
    assert job.state == ImportState.READY
    assert "pia@pd.test" not in set(db.session.scalars(select(User.email)))
    from core.models import Officer
    assert count(Officer, Officer.badge_number == "P-1") == 0
