"""Sign-in email changes are confirmed by the new address (issue 12, part 2).

A roster import that changes an officer's email changes the roster row at once and
the account's sign-in email only when the new address confirms; the old address is
told, and the request and the confirmation are audited with both addresses. Mail is
read at a real SMTP server on loopback."""
import io
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.db import db
from core.models import (AccountToken, AuditEntry, EmailChange, EmailChangeStatus, LoginSession, Officer,
                         OutboxMessage, OutboxStatus, User)
from core.services import accounts, email_changes, imports, outbox
from tests import factories
from tests.conftest import Auth, csrf_token

HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"
OLD, NEW = "maria.thompson@pd.test", "m.thompson@pd.test"


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def line(email, badge="1008", first="Maria", last="Thompson"):
    return f"{badge},{first},{last},{email},1st District,Police Officer,,2020-05-01,active"


def roster_file(*lines):
    return "\n".join([HEADER, *lines]) + "\n"


@pytest.fixture
def maria(app):
    officer = factories.officer(badge="1008", first="Maria", last="Thompson", email=OLD)
    return factories.user(roles=["officer"], officer_row=officer)


@pytest.fixture
def hr(app, client):
    """HR signs in in a browser of their own (`client` is the officer's, or anyone's)."""
    browser = app.test_client()   # a BrowserClient, as `client` set up
    auth = Auth(browser)
    auth.as_role("hr")
    return auth


def upload(hr, text, preview=False):
    data = {"file": (io.BytesIO(text.encode()), "roster.csv"), ("preview" if preview else "submit"): "1"}
    response = hr.post("/roster/import", data, form_page="/roster/import", content_type="multipart/form-data")
    assert response.status_code == 302, response.status_code
    imports.work()
    return hr.client.get(response.headers["Location"]).get_data(as_text=True)


def mail(smtp_server, to):
    outbox.deliver()
    return [smtp_server.text(m) for m in smtp_server.to(to)]


def code_in(text):
    match = re.search(r"http://beacon\.test/account/email/confirm#t=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


def open_link(client, code, confirm=False):
    """What the page's script does with the fragment (and then the person's button)."""
    data = {"code": code, "csrf_token": csrf_token(client, "/account/email/confirm")}
    if confirm:
        data["confirm"] = "1"
    return client.post("/account/email/confirm", data=data)


def sign_in_email(user):
    db.session.expire_all()
    return db.session.get(User, user.id).email


def test_an_import_changing_an_email_asks_the_new_address_and_tells_the_old_one(maria, hr, smtp_server):
    page = upload(hr, roster_file(line(NEW)))
    assert "The roster was imported" in page
    assert f"Badge 1008, Maria Thompson: {OLD} → {NEW} (confirmation sent)" in page
    assert sign_in_email(maria) == OLD
    assert db.session.scalar(select(Officer.email).where(Officer.badge_number == "1008")) == NEW
    [confirmation] = mail(smtp_server, NEW)
    assert "/account/email/confirm#t=" in confirmation and OLD in confirmation
    [notice] = mail(smtp_server, OLD)
    assert "A change of your Beacon sign-in address to m***@pd.test was requested" in notice
    assert NEW not in notice and "#t=" not in notice and "contact HR" in notice
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.email_change_requested"))
    assert entry.target == OLD and f"{OLD} → {NEW}" in entry.detail and "roster import roster.csv" in entry.detail
    assert entry.actor_label.startswith("user")   # the HR officer whose import it was
    # An administrator never reads the link in the outbox.
    assert outbox.declared(email_changes.CONFIRM).signs_in and not outbox.declared(email_changes.CONFIRM).private


def test_confirming_switches_the_sign_in_email_and_ends_every_session(maria, hr, client, app, smtp_server):
    signed_in = app.test_client()
    assert Auth(signed_in).login(OLD).status_code == 302
    accounts.request_password_reset(OLD, None)          # a reset link out at the old address
    upload(hr, roster_file(line(NEW)))
    code = code_in(mail(smtp_server, NEW)[0])
    review = open_link(client, code)
    text = review.get_data(as_text=True)
    assert review.status_code == 200 and f"Confirm {NEW}" in text and "m***@pd.test" in text
    assert review.headers["Cache-Control"] == "no-store"
    assert sign_in_email(maria) == OLD, "opening the link changes nothing"
    done = open_link(client, code, confirm=True)
    assert done.status_code == 200 and "Your sign-in email is changed" in done.get_data(as_text=True)
    assert sign_in_email(maria) == NEW
    assert signed_in.get("/").status_code == 302                # signed out at once
    assert db.session.scalar(select(func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == maria.id, LoginSession.ended_at.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(AccountToken).where(
        AccountToken.user_id == maria.id, AccountToken.expires_at > clock.now())) == 0
    assert Auth(app.test_client()).login(OLD).status_code == 401
    assert Auth(app.test_client()).login(NEW).status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.email_changed"))
    assert entry.target == NEW and f"{OLD} → {NEW}" in entry.detail and "1 session(s) ended" in entry.detail
    assert any("m***@pd.test" in text and "no longer signs in" in text for text in mail(smtp_server, OLD))
    assert open_link(client, code, confirm=True).status_code == 404   # used once


def test_an_unconfirmed_change_leaves_sign_in_by_the_old_email_working(maria, hr, app):
    upload(hr, roster_file(line(NEW)))
    assert Auth(app.test_client()).login(OLD).status_code == 302
    assert Auth(app.test_client()).login(NEW).status_code == 401
    accounts.request_password_reset(NEW, None)   # the new address cannot reset the account either
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.recipient == NEW,
                                                            OutboxMessage.kind == "reset")) is None


def test_a_second_change_replaces_the_first(maria, hr, client, smtp_server):
    upload(hr, roster_file(line(NEW)))
    first = code_in(mail(smtp_server, NEW)[0])
    upload(hr, roster_file(line("maria.t@pd.test")))
    second = code_in(mail(smtp_server, "maria.t@pd.test")[0])
    changes = db.session.scalars(select(EmailChange).order_by(EmailChange.id)).all()
    assert [(c.new_email, c.status) for c in changes] == [(NEW, EmailChangeStatus.REPLACED),
                                                          ("maria.t@pd.test", EmailChangeStatus.PENDING)]
    assert db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "account.email_change_replaced"))
    refused = open_link(client, first)
    assert refused.status_code == 404 and "replaced by a newer change" in refused.get_data(as_text=True)
    assert open_link(client, second, confirm=True).status_code == 200
    assert sign_in_email(maria) == "maria.t@pd.test"


def test_the_roster_going_back_to_the_sign_in_email_cancels_the_pending_change(maria, hr):
    upload(hr, roster_file(line(NEW)))
    upload(hr, roster_file(line(OLD)))
    assert db.session.scalar(select(EmailChange.status)) == EmailChangeStatus.CANCELLED
    assert db.session.scalar(select(OutboxMessage.status).where(OutboxMessage.recipient == NEW)) in (
        OutboxStatus.DROPPED, OutboxStatus.SENT)


def test_an_address_of_another_account_is_refused_beside_its_line(maria, hr):
    other = factories.user(roles=["admin"], email="chief@pd.test")
    page = upload(hr, roster_file(line("b2@pd.test", badge="2001", first="Bo", last="Lee"), line(other.email)),
                  preview=True)
    assert "The file was not imported" in page
    assert re.search(r"<td>3</td><td>email chief@pd.test is already the sign-in email of another Beacon account",
                     page), page
    assert sign_in_email(maria) == OLD and db.session.scalar(select(EmailChange.id)) is None
    assert db.session.scalar(select(func.count()).select_from(Officer)) == 1   # nothing written


def test_the_preview_lists_every_email_change_by_name_and_sends_nothing(maria, hr):
    factories.officer(badge="1009", first="Sam", last="Ortiz", email="sam.ortiz@pd.test")
    page = upload(hr, roster_file(line(NEW), line("s.ortiz@pd.test", badge="1009", first="Sam", last="Ortiz")),
                  preview=True)
    assert "Preview: nothing has been written yet" in page and "2 email change(s)" in page
    assert f"Badge 1008, Maria Thompson: {OLD} → {NEW} (confirmation will be sent)" in page
    assert "Badge 1009, Sam Ortiz: sam.ortiz@pd.test → s.ortiz@pd.test (roster only: no Beacon account)" in page
    assert db.session.scalar(select(EmailChange.id)) is None
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_bad_or_expired_codes_get_a_clear_404_and_the_code_is_never_logged(maria, hr, client, app, caplog):
    upload(hr, roster_file(line(NEW)))
    change = db.session.scalar(select(EmailChange))
    code = code_in(db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.recipient == NEW)))
    caplog.set_level(logging.DEBUG)
    bad = open_link(client, "not-a-code")
    assert bad.status_code == 404 and "This confirmation link cannot be used" in bad.get_data(as_text=True)
    with clock.frozen(change.expires_at + timedelta(seconds=1)):
        expired = open_link(client, code)
        assert expired.status_code == 404 and "has expired" in expired.get_data(as_text=True)
        assert open_link(client, code, confirm=True).status_code == 404
    assert sign_in_email(maria) == OLD
    assert code not in caplog.text
    assert not db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.detail.contains(code)))
    page = client.get("/account/email/confirm")
    assert page.status_code == 200 and "data-link-code" in page.get_data(as_text=True)


def test_a_disabled_account_cannot_confirm(maria, hr, client):
    upload(hr, roster_file(line(NEW)))
    code = code_in(db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.recipient == NEW)))
    from core.audit import Actor
    accounts.disable_account(Actor.system(), maria.id)
    assert open_link(client, code, confirm=True).status_code == 404
    assert sign_in_email(maria) == OLD


def test_mask_shows_only_the_first_letter_and_the_domain():
    assert email_changes.mask("nadia.k@example.org") == "n***@example.org"
    assert email_changes.mask("x") == "***"
