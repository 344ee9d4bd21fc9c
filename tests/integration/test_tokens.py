"""Invitations and password resets: single-use links that expire, and a forgot-password
form that never reveals whether an email has an account."""
import re
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.db import db
from core.models import AuditEntry, User
from core.models import OutboxMessage
from tests import factories
from tests.conftest import csrf_token

NEW_PASSWORD = "harbor violet pebble stanza"


def link_in(message):
    """The code of the emailed link: it rides in the fragment, never in the path or query."""
    match = re.search(r"http://beacon\.test/password/link#t=([A-Za-z0-9_\-]+)", message.body)
    assert match, message.body
    return match.group(1)


def open_link(client, code):
    """What the link page's script does: post the code, then follow to the form."""
    token = csrf_token(client, "/password/link")
    return client.post("/password/link", data={"code": code, "csrf_token": token}, follow_redirects=True)


def last_message(to):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == to)
                              .order_by(OutboxMessage.id.desc())).first()


def set_password(client, password=NEW_PASSWORD, confirm=None):
    token = csrf_token(client, "/password/set")
    return client.post("/password/set", data={"password": password, "confirm": confirm or password,
                                              "csrf_token": token})


def invite(auth, email="new.person@pd.test"):
    admin = factories.user(roles=["admin"])
    auth.login(admin.email)
    response = auth.post("/admin/accounts/new", {"email": email, "name": "New Person", "roles": ["hr"]},
                         form_page="/admin/accounts/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    auth.logout()
    factories.approve_grants(email)  # HR is given, and the invitation sent, once a second administrator approves
    return last_message(email)


def test_invitation_link_sets_the_password_once(auth, client):
    message = invite(auth)
    assert message.subject == "Beacon: your new account" and "72 hours" in message.body
    path = link_in(message)
    assert "Welcome to Beacon" in open_link(client, path).get_data(as_text=True)
    response = set_password(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    first = auth.login("new.person@pd.test", NEW_PASSWORD)  # HR: sets up two-step sign-in first
    assert first.status_code == 200 and "Save your recovery codes" in first.get_data(as_text=True)
    auth.logout()
    reused = open_link(client, path)
    assert reused.status_code == 410 and "already been used" in reused.get_data(as_text=True)


def test_invitation_expires_after_72_hours(auth, client, frozen_clock):
    path = link_in(invite(auth))
    clock.advance(timedelta(hours=71, minutes=59))
    assert open_link(client, path).status_code == 200
    clock.advance(timedelta(minutes=1))
    expired = client.get("/password/set")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)


def test_tampered_link_is_refused(auth, client):
    path = link_in(invite(auth))
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    response = open_link(client, tampered)
    assert response.status_code == 410 and "not valid" in response.get_data(as_text=True)
    # Nothing was bound to this browser: the password form sends it back to the link page.
    assert client.get("/password/set").headers["Location"] == "/password/link"
    assert client.post("/password/set", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code in (
        302, 400)


def test_weak_password_is_refused_beside_the_field_and_the_link_still_works(auth, client):
    open_link(client, link_in(invite(auth)))
    response = set_password(client, "password1234")
    assert response.status_code == 422 and "very common password" in response.get_data(as_text=True)
    mismatch = set_password(client, NEW_PASSWORD, "something else entirely")
    assert "The two passwords differ." in mismatch.get_data(as_text=True)
    assert set_password(client).status_code == 302


def test_a_new_invitation_makes_the_old_link_stop_working(auth, client):
    first = link_in(invite(auth))
    user = db.session.scalar(select(User).where(User.email == "new.person@pd.test"))
    admin = factories.user(roles=["admin"])
    auth.login(admin.email)
    auth.post(f"/admin/accounts/{user.id}/invite", {}, form_page=f"/admin/accounts/{user.id}")
    auth.logout()
    second = link_in(last_message("new.person@pd.test"))
    assert first != second
    assert open_link(client, first).status_code == 410
    assert open_link(client, second).status_code == 200


def test_forgot_password_gives_the_same_answer_for_known_and_unknown_emails(client, auth):
    user = factories.user(roles=["hr"])
    answers = []
    for email in (user.email, "nobody@pd.test"):
        token = csrf_token(client, "/password/forgot")
        response = client.post("/password/forgot", data={"email": email, "csrf_token": token}, follow_redirects=True)
        answers.append(response.get_data(as_text=True).split('name="csrf_token"')[0])
    assert answers[0] == answers[1]
    assert "If that email belongs to an account" in answers[0]
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert [m.recipient for m in messages] == [user.email]
    assert messages[0].subject == "Beacon: set a new password"


def test_reset_link_changes_the_password_and_ends_other_sessions(app, client, auth):
    user = factories.user(roles=["hr"])
    other = app.test_client()
    from tests.conftest import Auth
    Auth(other).login(user.email)
    token = csrf_token(client, "/password/forgot")
    client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    open_link(client, link_in(last_message(user.email)))
    assert set_password(client).status_code == 302
    assert other.get("/").status_code == 302  # the other browser was signed out
    assert auth.login(user.email).status_code == 401  # old password gone
    assert auth.login(user.email, NEW_PASSWORD).status_code == 302
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "auth.reset_requested" in actions and "auth.password_set" in actions


def test_reset_requests_are_throttled(client):
    user = factories.user(roles=["hr"])
    for _ in range(3):
        token = csrf_token(client, "/password/forgot")
        client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1


def test_signed_in_person_changes_their_password(auth, client):
    user = factories.user(roles=["officer"])
    auth.login(user.email)
    token = csrf_token(client, "/account/password")
    wrong = client.post("/account/password", data={"current_password": "not my password at all",
                                                   "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                                   "csrf_token": token})
    assert "Your current password is not right." in wrong.get_data(as_text=True)
    ok = client.post("/account/password", data={"current_password": factories.PASSWORD, "password": NEW_PASSWORD,
                                                "confirm": NEW_PASSWORD, "csrf_token": token})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays signed in
    auth.logout()
    assert auth.login(user.email, NEW_PASSWORD).status_code == 302
