"""Signing in and out, lockout, and sessions that end on the server."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.models import AuditEntry, LoginSession, User
from core.services.accounts import SIGN_IN_FAILED
from tests import factories
from tests.conftest import csrf_token


def page(response):
    return response.get_data(as_text=True)


def test_sign_in_with_right_password_opens_home_page(auth, client):
    user = factories.user(roles=["hr"], name="Priya Raman")
    response = auth.login(user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Welcome, Priya Raman" in page(home)


def test_email_is_matched_without_regard_to_case_or_spaces(auth):
    user = factories.user(roles=["hr"])
    assert auth.login("  " + user.email.upper() + " ").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(auth, client):
    user = factories.user(roles=["hr"])
    wrong = auth.login(user.email, "not the right password at all")
    unknown = auth.login("nobody@pd.test", "not the right password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert SIGN_IN_FAILED.replace("“", "&#8220;")[:40] in page(wrong) or "not right" in page(wrong)
    strip = lambda r: page(r).split('name="csrf_token"')[0]  # noqa: E731  (token differs per session)
    assert strip(wrong) == strip(unknown)
    assert client.get("/").status_code == 302  # still signed out


def test_login_form_without_csrf_token_is_rejected(client):
    user = factories.user(roles=["hr"])
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_five_failures_lock_the_account_for_ten_minutes(auth, client, frozen_clock):
    user = factories.user(roles=["hr"])
    for _ in range(5):
        assert auth.login(user.email, "wrong password entirely").status_code == 401
    # Locked: even the right password fails, with the same message.
    locked = auth.login(user.email)
    assert locked.status_code == 401
    assert page(locked).count("not right") == 1
    clock.advance(timedelta(minutes=9, seconds=59))
    assert auth.login(user.email).status_code == 401
    clock.advance(timedelta(seconds=2))
    assert auth.login(user.email).status_code == 302
    actions = [e.action for e in AuditEntry.query.order_by(AuditEntry.id)]
    assert actions.count("auth.locked") == 1


def test_four_failures_then_success_resets_the_count(auth, frozen_clock):
    user = factories.user(roles=["hr"])
    for _ in range(4):
        auth.login(user.email, "wrong password entirely")
    assert auth.login(user.email).status_code == 302
    auth.logout()
    for _ in range(4):
        auth.login(user.email, "wrong password entirely")
    assert auth.login(user.email).status_code == 302


def test_admin_unlocks_a_locked_account(auth, client, app, frozen_clock):
    user = factories.user(roles=["officer"])
    for _ in range(5):
        auth.login(user.email, "wrong password entirely")
    admin = factories.user(roles=["admin"])
    assert auth.login(admin.email).status_code == 302
    detail = page(client.get(f"/admin/accounts/{user.id}"))
    assert "locked" in detail and "Unlock now" in detail
    response = auth.post(f"/admin/accounts/{user.id}/unlock", form_page=f"/admin/accounts/{user.id}")
    assert response.status_code == 302
    auth.logout()
    assert auth.login(user.email).status_code == 302
    unlocked = [e for e in AuditEntry.query.filter_by(action="account.unlocked")]
    assert unlocked and unlocked[0].actor_label == admin.email and unlocked[0].target == user.email


def test_session_ends_after_thirty_idle_minutes(auth, client, frozen_clock):
    user = factories.user(roles=["hr"])
    auth.login(user.email)
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200  # activity keeps it alive
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=30, seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302  # and it stays ended


def test_session_ends_after_twelve_hours_however_active(auth, client, frozen_clock):
    user = factories.user(roles=["hr"])
    auth.login(user.email)
    for _ in range(47):  # a request every 15 minutes for 11h45
        clock.advance(timedelta(minutes=15))
        assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=15))
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session_on_the_server(auth, client, app):
    user = factories.user(roles=["hr"])
    auth.login(user.email)
    with client.session_transaction() as s:
        stolen = dict(s)  # what an attacker copying the cookie would hold
    auth.logout()
    with client.session_transaction() as s:
        s.update(stolen)
    assert client.get("/").status_code == 302
    assert LoginSession.query.filter(LoginSession.ended_at.is_(None)).count() == 0


def test_session_id_is_renewed_at_sign_in(auth, client):
    user = factories.user(roles=["hr"])
    csrf_token(client, "/login")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker before sign-in"
    auth.login(user.email)
    with client.session_transaction() as s:
        assert "planted" not in s
        first_sid = s["sid"]
    auth.logout()
    auth.login(user.email)
    with client.session_transaction() as s:
        assert s["sid"] != first_sid


def test_disabled_account_is_signed_out_on_its_next_request(app, auth):
    officer = factories.user(roles=["officer"])
    admin = factories.user(roles=["admin"])
    officer_browser = app.test_client()
    from tests.conftest import Auth
    Auth(officer_browser).login(officer.email)
    assert officer_browser.get("/").status_code == 200
    auth.login(admin.email)
    response = auth.post(f"/admin/accounts/{officer.id}/disable", {"reason": "separated"},
                         form_page=f"/admin/accounts/{officer.id}")
    assert response.status_code == 302
    assert officer_browser.get("/").status_code == 302
    assert Auth(officer_browser).login(officer.email).status_code == 401


def test_sign_in_renews_nothing_for_a_disabled_account_and_logs_it(auth):
    user = factories.user(roles=["hr"], status="disabled")
    assert auth.login(user.email).status_code == 401
    entry = AuditEntry.query.filter_by(action="auth.sign_in", outcome="failure").one()
    assert entry.detail == "account disabled"


@pytest.mark.parametrize("role", ["officer", "hr"])  # one step, and two
def test_open_redirect_after_sign_in_is_refused(auth, role):
    user = factories.user(roles=[role])
    assert auth.login(user.email, next="https://evil.example/").headers["Location"] == "/"
    auth.logout()
    assert auth.login(user.email, next="/wellness/?x=1").headers["Location"] == "/wellness/?x=1"


def test_sign_in_records_last_login_and_audit(auth, app):
    user = factories.user(roles=["hr"])
    auth.login(user.email)
    reloaded = app.extensions["sqlalchemy"].session.scalar(select(User).where(User.id == user.id))
    assert reloaded.last_login_at is not None
    entry = AuditEntry.query.filter_by(action="auth.sign_in", outcome="success").one()
    assert entry.actor_id == user.id and entry.ip == "127.0.0.1"
