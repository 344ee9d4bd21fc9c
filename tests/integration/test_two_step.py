"""Two-step sign-in (issue 12, part 3): required for administrators, HR and clinicians,
optional for officers; TOTP codes accepted once; single-use recovery codes, hashed;
wrong codes lock the account like wrong passwords and tell its owner; a reset needs two
administrators. Mail is read at a real SMTP server on loopback."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock, rules
from core.db import db
from core.models import AuditEntry, LoginSession, RecoveryCode, RoleGrant, User
from core.errors import DomainError
from core.services import accounts, outbox, two_step
from tests import factories
from tests.conftest import CSRF_RE, Auth, csrf_token

CODES_RE = re.compile(r"<li>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</li>")


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def mail(smtp_server, to):
    outbox.deliver()
    return [smtp_server.text(m) for m in smtp_server.to(to)]


def password_step(client, email, password=factories.PASSWORD, next_path=None):
    token = csrf_token(client, "/login")
    return client.post("/login" + (f"?next={next_path}" if next_path else ""),
                       data={"email": email, "password": password, "csrf_token": token})


def code_step(client, code, path="/login/code"):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return client.post(path, data={"code": code, "csrf_token": token})


def now_code(secret=factories.TOTP_SECRET, shift=0):
    return two_step.code_at(secret, clock.now() + timedelta(seconds=30 * shift))


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def audit(action, email=None):
    query = select(AuditEntry).where(AuditEntry.action == action)
    if email:
        query = query.where(AuditEntry.target == email)
    return db.session.scalars(query.order_by(AuditEntry.id)).all()


def enrol(user) -> list[str]:
    """Set up an authenticator with TOTP_SECRET as the pages do; the recovery codes."""
    user.totp_pending_secret = factories.TOTP_SECRET
    db.session.commit()
    return two_step.confirm(user, now_code(), "127.0.0.1", two_step.key_mark(factories.TOTP_SECRET))


# --- required for privileged roles ----------------------------------------------------------

def test_hr_sets_up_an_authenticator_at_first_sign_in(client, smtp_server):
    hr = factories.user(roles=["hr"], two_step=False)
    response = password_step(client, hr.email, next_path="/wellness/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login/setup")
    assert not signed_in(client)  # nothing but the password yet: no session
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0

    page = client.get("/login/setup")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "<svg" in html and "Set up two-step sign-in" in html
    secret = db.session.scalar(select(User.totp_pending_secret).where(User.id == hr.id))
    assert two_step.grouped(secret) in html  # the setup key, for typing in by hand
    assert db.session.get(User, hr.id).totp_secret is None

    wrong = client.post("/login/setup", data={"code": "000000", "csrf_token": CSRF_RE.search(html).group(1)})
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert not signed_in(client)

    done = code_step(client, two_step.code_at(secret, clock.now()), "/login/setup")
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = CODES_RE.findall(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/wellness/"' in done.get_data(as_text=True)  # continue goes where they were going
    assert signed_in(client)

    db.session.expire_all()
    user = db.session.get(User, hr.id)
    assert user.totp_secret == secret and user.totp_pending_secret is None
    hashes = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == hr.id)))
    assert len(hashes) == 10
    assert not {c.replace("-", "") for c in codes} & hashes  # only hashes are kept
    assert [e.outcome for e in audit("two_step.enrolled", hr.email)] == ["failure", "success"]
    assert audit("auth.sign_in", hr.email)[-1].detail == "password and new authenticator code"
    [message] = mail(smtp_server, hr.email)
    assert "Two-step sign-in is now on" in message and secret not in message


def test_privileged_roles_always_take_the_second_step(client, auth):
    for role in ("admin", "hr", "clinician"):
        user = factories.user(roles=[role])
        response = password_step(client, user.email)
        assert response.headers["Location"].endswith("/login/code"), role
        assert not signed_in(client)
        assert code_step(client, now_code()).status_code == 302
        assert signed_in(client)
        assert audit("auth.sign_in", user.email)[-1].detail == "password and authenticator code"
        auth.logout()


def test_a_code_is_accepted_once(client, auth, frozen_clock):
    hr = factories.user(roles=["hr"])
    password_step(client, hr.email)
    code = now_code()
    assert code_step(client, code).status_code == 302
    auth.logout()
    password_step(client, hr.email)
    again = code_step(client, code)
    assert again.status_code == 422
    assert "That code is not right" in again.get_data(as_text=True)
    assert audit("auth.second_step", hr.email)[-1].detail == "code already used"
    # The next step's code (a phone a little ahead) is a new one, and works.
    assert code_step(client, now_code(shift=1)).status_code == 302


def test_a_code_from_a_phone_one_step_off_works_two_steps_does_not(client, frozen_clock):
    hr = factories.user(roles=["hr"])
    password_step(client, hr.email)
    assert code_step(client, now_code(shift=-2)).status_code == 422
    assert code_step(client, now_code(shift=2)).status_code == 422
    assert code_step(client, now_code(shift=-1)).status_code == 302


def test_the_second_step_waits_five_minutes(client, frozen_clock):
    hr = factories.user(roles=["hr"])
    password_step(client, hr.email)
    frozen_clock.advance(timedelta(minutes=6))
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "waits only 5 minutes" in client.get("/login").get_data(as_text=True)


# --- recovery codes ----------------------------------------------------------------------------

def test_a_recovery_code_signs_in_once_and_the_owner_is_told(client, auth, smtp_server, frozen_clock):
    hr = factories.user(roles=["hr"], two_step=False)
    codes = enrol(hr)
    mail(smtp_server, hr.email)  # the "is on" message
    password_step(client, hr.email)
    typed = codes[3].lower().replace("-", " ")  # as read off paper
    response = code_step(client, typed)
    assert response.status_code == 302
    assert "9 left" in client.get("/").get_data(as_text=True)
    assert audit("auth.sign_in", hr.email)[-1].detail == "password and recovery code"
    assert audit("two_step.recovery_code_used", hr.email)[-1].detail == "9 left"
    [message] = [m for m in mail(smtp_server, hr.email) if "One of your recovery codes was used" in m]
    assert "9 codes are left" in message

    auth.logout()
    password_step(client, hr.email)
    assert code_step(client, codes[3]).status_code == 422  # used up
    assert code_step(client, codes[4]).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, auth, frozen_clock):
    hr = factories.user(roles=["hr"], two_step=False)
    old = enrol(hr)
    auth.login(hr.email)
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "10 recovery codes left" in page
    frozen_clock.advance(timedelta(seconds=30))
    response = auth.post("/account/two-step/recovery-codes", {"code": now_code()}, form_page="/account/two-step")
    new = CODES_RE.findall(response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store" and len(new) == 10 and not set(new) & set(old)
    auth.logout()
    password_step(client, hr.email)
    assert code_step(client, old[0]).status_code == 422
    assert code_step(client, new[0]).status_code == 302


# --- wrong codes lock, and the owner is told -----------------------------------------------------

def test_wrong_codes_lock_the_account_and_tell_its_owner(client, smtp_server, frozen_clock):
    hr = factories.user(roles=["hr"])
    password_step(client, hr.email)
    for _ in range(rules.LOCKOUT_THRESHOLD - 1):
        assert code_step(client, "123456").status_code == 422
    last = code_step(client, "123456")
    assert last.status_code == 302 and last.headers["Location"].endswith("/login")
    assert "the account is locked" in client.get("/login").get_data(as_text=True)
    assert client.get("/login/code").status_code == 302  # back to the password

    # Locked: even the right password and code do not open it now.
    assert password_step(client, hr.email).status_code == 401
    assert [e.detail.split(";")[0] for e in audit("auth.locked", hr.email)] == \
        [f"{rules.LOCKOUT_THRESHOLD} wrong codes after the right password"]
    [message] = mail(smtp_server, hr.email)
    assert "then gave a wrong two-step code 5 times" in message
    assert "http://beacon.test/password/forgot" in message

    frozen_clock.advance(timedelta(minutes=11))
    assert password_step(client, hr.email).status_code == 303
    assert code_step(client, now_code()).status_code == 302


def test_a_right_code_clears_the_count_of_wrong_ones(client, auth, frozen_clock):
    hr = factories.user(roles=["hr"])
    password_step(client, hr.email)
    for _ in range(rules.LOCKOUT_THRESHOLD - 1):
        code_step(client, "123456")
    assert code_step(client, now_code()).status_code == 302
    assert db.session.get(User, hr.id).failed_codes == 0


# --- optional for officers --------------------------------------------------------------------

def test_an_officer_may_turn_it_on_and_off(client, auth, smtp_server, frozen_clock):
    officer = factories.user(roles=["officer"])
    assert auth.login(officer.email).status_code == 302  # the password alone
    assert "Off." in client.get("/account/two-step").get_data(as_text=True)
    page = client.get("/account/two-step/setup").get_data(as_text=True)
    secret = db.session.scalar(select(User.totp_pending_secret).where(User.id == officer.id))
    assert two_step.grouped(secret) in page
    response = auth.post("/account/two-step/setup", {"code": two_step.code_at(secret, clock.now())},
                         form_page="/account/two-step/setup")
    assert len(CODES_RE.findall(response.get_data(as_text=True))) == 10
    auth.logout()

    assert password_step(client, officer.email).headers["Location"].endswith("/login/code")
    frozen_clock.advance(timedelta(seconds=30))
    assert code_step(client, two_step.code_at(secret, clock.now())).status_code == 302

    frozen_clock.advance(timedelta(seconds=30))
    off = auth.post("/account/two-step/off", {"code": two_step.code_at(secret, clock.now())},
                    form_page="/account/two-step")
    assert off.status_code == 302
    assert "Two-step sign-in is off" in client.get(off.headers["Location"]).get_data(as_text=True)
    assert db.session.get(User, officer.id).totp_secret is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert any("You turned off two-step sign-in" in m for m in mail(smtp_server, officer.email))
    auth.logout()
    assert auth.login(officer.email, second_step=False).status_code == 302  # the password alone again


def test_hr_cannot_turn_it_off(client, auth, frozen_clock):
    hr = factories.user(roles=["hr"])
    auth.login(hr.email)
    assert "cannot be turned off" in client.get("/account/two-step").get_data(as_text=True)
    frozen_clock.advance(timedelta(seconds=30))
    response = auth.post("/account/two-step/off", {"code": now_code()}, form_page="/account/two-step")
    assert "required for your role" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.get(User, hr.id).totp_secret == factories.TOTP_SECRET


def test_moving_to_a_new_phone_takes_a_code_from_the_old_one(client, auth, frozen_clock):
    hr = factories.user(roles=["hr"])
    auth.login(hr.email)
    client.get("/account/two-step/setup")
    new_secret = db.session.scalar(select(User.totp_pending_secret).where(User.id == hr.id))
    frozen_clock.advance(timedelta(seconds=30))
    refused = auth.post("/account/two-step/setup", {"code": two_step.code_at(new_secret, clock.now()),
                                                     "current_code": "000000"}, form_page="/account/two-step/setup")
    assert refused.status_code == 422 and "That code is not right" in refused.get_data(as_text=True)
    assert db.session.get(User, hr.id).totp_secret == factories.TOTP_SECRET
    moved = auth.post("/account/two-step/setup", {"code": two_step.code_at(new_secret, clock.now()),
                                                   "current_code": now_code()}, form_page="/account/two-step/setup")
    assert moved.status_code == 200 and len(CODES_RE.findall(moved.get_data(as_text=True))) == 10
    db.session.expire_all()
    assert db.session.get(User, hr.id).totp_secret == new_secret


def test_a_new_privileged_role_ends_the_sessions_until_set_up(client, auth, app):
    officer = factories.user(roles=["officer"])
    auth.login(officer.email)
    first, second = factories.user(roles=["admin"]), factories.user(roles=["admin"])
    from core.audit import Actor
    from core.services import grants
    accounts.set_roles(Actor.for_user(first), officer.id, ["officer", "clinician"])
    grant = db.session.scalar(select(RoleGrant))
    grants.approve(Actor.for_user(second), grant.id)
    assert not signed_in(client)  # signed out: the clinician role needs the second step
    assert password_step(client, officer.email).headers["Location"].endswith("/login/setup")


# --- a reset takes two administrators -----------------------------------------------------------

def test_a_reset_needs_a_second_administrator(app, client, smtp_server, frozen_clock):
    hr = factories.user(roles=["hr"], name="Priya Raman")
    hr_browser = Auth(app.test_client())
    hr_browser.login(hr.email)
    dana = factories.user(roles=["admin"], name="Dana Whitfield")
    sam = factories.user(roles=["admin"], name="Sam Ortiz")
    dana_browser, sam_browser = Auth(app.test_client()), Auth(app.test_client())
    dana_browser.login(dana.email)
    sam_browser.login(sam.email)

    detail = f"/admin/accounts/{hr.id}"
    assert "Ask to reset two-step sign-in" in dana_browser.client.get(detail).get_data(as_text=True)
    asked = dana_browser.post(f"{detail}/two-step-reset", form_page=detail)
    assert "takes effect when another administrator approves" in \
        dana_browser.client.get(asked.headers["Location"]).get_data(as_text=True)
    grant = db.session.scalar(select(RoleGrant))
    assert grant.role is None and grant.short == "two-step reset"
    [ask] = mail(smtp_server, sam.email)
    assert "asked for the two-step sign-in of Priya Raman" in ask and "http://beacon.test/admin/grants" in ask
    [told] = [m for m in mail(smtp_server, hr.email) if "asked for the two-step sign-in of your Beacon account" in m]
    assert dana.email in told  # the owner can object before anyone approves

    # The requester cannot approve it; nothing changed.
    refused = dana_browser.post(f"/admin/grants/{grant.id}/approve", form_page="/admin/grants")
    assert "You asked for this" in dana_browser.client.get(refused.headers["Location"]).get_data(as_text=True)
    assert db.session.get(User, hr.id).totp_secret is not None
    # A second request while one waits is refused.
    again = dana_browser.post(f"{detail}/two-step-reset", form_page=detail)
    assert "already waits" in dana_browser.client.get(again.headers["Location"]).get_data(as_text=True)

    sam_page = sam_browser.client.get("/admin/grants").get_data(as_text=True)
    assert "Approve two-step reset for Priya Raman" in sam_page
    sam_browser.post(f"/admin/grants/{grant.id}/approve", form_page="/admin/grants")
    db.session.expire_all()
    user = db.session.get(User, hr.id)
    assert user.totp_secret is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == hr.id)) == 0
    assert not signed_in(hr_browser.client)  # signed out everywhere
    [entry] = audit("two_step.reset", hr.email)
    assert entry.actor_label == sam.email and f"asked by {dana.email}" in entry.detail
    notice = [m for m in mail(smtp_server, hr.email) if "was reset" in m]
    assert len(notice) == 1 and f"{dana.email} asked for it and {sam.email} approved it" in notice[0]
    assert "Beacon will show a QR code" in notice[0]
    # The next sign-in sets up a new authenticator.
    assert password_step(client, hr.email).headers["Location"].endswith("/login/setup")


def test_the_command_line_resets_at_once_for_a_lone_administrator(app, runner, smtp_server):
    hr = factories.user(roles=["hr"])
    result = runner.invoke(args=["users", "reset-two-step", hr.email])
    assert result.exit_code == 0, result.output
    assert "at the command line (audited)" in result.output
    db.session.expire_all()
    assert db.session.get(User, hr.id).totp_secret is None
    assert audit("two_step.reset", hr.email)[0].actor_label == "command line"
    again = runner.invoke(args=["users", "reset-two-step", hr.email])
    assert again.exit_code != 0 and "not set up" in again.output


def test_demo_code_is_refused_outside_development(app, runner):
    hr = factories.user(roles=["hr"])
    app.config["BEACON_ENV"] = "production"
    result = runner.invoke(args=["users", "demo-code", hr.email])
    assert result.exit_code != 0 and "only with BEACON_ENV=development" in result.output


def test_no_page_or_mail_gives_the_secret_away_after_setup(client, auth, smtp_server):
    """The secret is shown on the setup page only; never afterwards, nor in any mail."""
    admin = factories.user(roles=["admin"])
    hr = factories.user(roles=["hr"])
    auth.login(admin.email)
    for path in ("/", f"/admin/accounts/{hr.id}", "/account/two-step", "/admin/audit", "/admin/outbox"):
        page = client.get(path).get_data(as_text=True)
        assert factories.TOTP_SECRET not in page and two_step.grouped(factories.TOTP_SECRET) not in page, path
    for message in mail(smtp_server, hr.email) + mail(smtp_server, admin.email):
        assert factories.TOTP_SECRET not in message


# --- what a glimpse, a copied cookie or an old session cannot do ---------------------------------

def test_a_setup_key_seen_in_another_browser_stops_working(app, client):
    hr = factories.user(roles=["hr"], two_step=False)
    thief, owner = app.test_client(), client

    def setup_page(browser):
        password_step(browser, hr.email)
        page = browser.get("/login/setup").get_data(as_text=True)
        return CSRF_RE.search(page).group(1), db.session.scalar(select(User.totp_pending_secret)
                                                                .where(User.id == hr.id))
    thief_token, glimpsed = setup_page(thief)
    owner_token, owners = setup_page(owner)  # the owner's page draws a key of its own
    assert owners != glimpsed
    refused = thief.post("/login/setup", data={"code": two_step.code_at(glimpsed, clock.now()),
                                               "csrf_token": thief_token})
    assert refused.status_code == 422 and "The key to set up has changed" in refused.get_data(as_text=True)
    assert not signed_in(thief)
    # The thief's page drew yet another key, so the owner's page says so; a reload shows a fresh one.
    stale = owner.post("/login/setup", data={"code": two_step.code_at(owners, clock.now()), "csrf_token": owner_token})
    assert "The key to set up has changed" in stale.get_data(as_text=True)
    fresh = db.session.scalar(select(User.totp_pending_secret).where(User.id == hr.id))
    done = owner.post("/login/setup", data={"code": two_step.code_at(fresh, clock.now()), "csrf_token": owner_token})
    assert done.status_code == 200
    assert db.session.get(User, hr.id).totp_secret == fresh not in (glimpsed, None)


def test_the_note_between_the_steps_is_void_after_a_sign_in_a_reset_or_a_new_password(app, client, frozen_clock):
    hr = factories.user(roles=["hr"])
    password_step(client, hr.email)
    copied = client.get_cookie("beacon_session").value
    assert code_step(client, now_code()).status_code == 302
    replay = app.test_client()
    replay.set_cookie("beacon_session", copied)
    assert replay.get("/login/code").status_code == 302  # back to the password: the account has signed in since

    other = app.test_client()
    password_step(other, hr.email)
    grants_reset = __import__("core.services.grants", fromlist=["x"])
    grants_reset.reset_at_command_line(hr.email)
    assert other.get("/login/code").status_code == 302  # reset meanwhile: no setting up from this note
    assert other.get("/login/setup").status_code == 302

    third = app.test_client()
    password_step(third, hr.email)
    accounts.change_password(__import__("core.audit", fromlist=["x"]).Actor.for_user(hr), factories.PASSWORD,
                             "sapphire lantern meadow oak", None)
    assert third.get("/login/setup").status_code == 302


def test_a_session_opened_with_the_password_alone_ends_once_the_account_takes_two_steps(app, client, auth,
                                                                                        frozen_clock):
    officer = factories.user(roles=["officer"])
    shared_pc = Auth(app.test_client())
    shared_pc.login(officer.email)
    assert signed_in(shared_pc.client)
    auth.login(officer.email)
    client.get("/account/two-step/setup")
    secret = db.session.scalar(select(User.totp_pending_secret).where(User.id == officer.id))
    auth.post("/account/two-step/setup", {"code": two_step.code_at(secret, clock.now())},
              form_page="/account/two-step/setup")
    assert signed_in(client)               # this browser proved a code
    assert not signed_in(shared_pc.client)  # the one that did not is signed out


def test_a_wrong_new_code_uses_up_nothing_when_moving_to_a_new_phone(client, auth, frozen_clock):
    hr = factories.user(roles=["hr"], two_step=False)
    codes = enrol(hr)
    frozen_clock.advance(timedelta(seconds=30))
    auth.login(hr.email)
    client.get("/account/two-step/setup")
    new_secret = db.session.scalar(select(User.totp_pending_secret).where(User.id == hr.id))
    wrong = auth.post("/account/two-step/setup", {"code": "000000", "current_code": codes[0]},
                      form_page="/account/two-step/setup")
    assert wrong.status_code == 422
    assert two_step.recovery_codes_left(hr.id) == 10  # the recovery code is still good
    moved = auth.post("/account/two-step/setup", {"code": two_step.code_at(new_secret, clock.now()),
                                                   "current_code": codes[0]}, form_page="/account/two-step/setup")
    assert moved.status_code == 200 and len(CODES_RE.findall(moved.get_data(as_text=True))) == 10


def test_a_recovery_code_gets_new_recovery_codes(client, auth, frozen_clock):
    hr = factories.user(roles=["hr"], two_step=False)
    codes = enrol(hr)
    frozen_clock.advance(timedelta(seconds=30))
    auth.login(hr.email)
    response = auth.post("/account/two-step/recovery-codes", {"code": codes[1]}, form_page="/account/two-step")
    assert len(CODES_RE.findall(response.get_data(as_text=True))) == 10


def test_a_reset_asked_for_before_a_new_phone_is_no_longer_approved(app, client, frozen_clock):
    from core.audit import Actor
    from core.services import grants
    hr = factories.user(roles=["hr"])
    dana, sam = factories.user(roles=["admin"]), factories.user(roles=["admin"])
    grant = grants.ask_reset(Actor.for_user(dana), hr.id)
    frozen_clock.advance(timedelta(hours=1))
    db.session.get(User, hr.id).totp_pending_secret = factories.TOTP_SECRET.replace("J", "K")
    db.session.commit()
    hr_user = db.session.get(User, hr.id)
    two_step.confirm(hr_user, two_step.code_at(hr_user.totp_pending_secret, clock.now()), None,
                     two_step.key_mark(hr_user.totp_pending_secret), current_code=now_code())
    with pytest.raises(DomainError, match="has set up a new authenticator since"):
        grants.approve(Actor.for_user(sam), grant.id)
    assert db.session.get(User, hr.id).totp_secret is not None
