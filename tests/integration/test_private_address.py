"""The private channel (issue 16, item 4): an officer adds a personal address for
wellness messages, confirmed by a link sent to it; wellness mail (bookings, reminders,
calendar entries) then goes there and nowhere else, the rest stays on the department
address, which is told (masked) when the channel changes. Mail is read at a real SMTP
server on loopback."""
import logging
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.db import db
from core.models import AuditEntry, OutboxMessage
from core.services import accounts, outbox
from evaluations.services import reminders as review_reminders
from tests import factories
from tests.conftest import Auth, csrf_token
from wellness.models.private_address import PrivateAddress
from wellness.services import private_address
from wellness.services import reminders as wellness_reminders

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)            # 09:00 in Chicago (CST)
TUESDAY_10_LOCAL = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)  # 10:00 CST
DEPT, HOME = "dana.reed@pd.test", "dana.home@gmail.test"
PAGE = "/wellness/private-address"


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


@pytest.fixture
def dana(app):
    officer = factories.officer(first="Dana", last="Reed", email=DEPT)
    user = factories.user(roles=["officer"], officer_row=officer, email=DEPT, name="Dana Reed")
    return officer, user


def mail(smtp_server, to):
    outbox.deliver()
    return [smtp_server.text(m) for m in smtp_server.to(to)]


def code_in(text):
    match = re.search(r"http://beacon\.test/wellness/private-address/confirm#t=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


def open_link(client, code, confirm=False):
    """What the page's script does with the fragment (and then the person's button)."""
    data = {"code": code, "csrf_token": csrf_token(client, "/wellness/private-address/confirm")}
    if confirm:
        data["confirm"] = "1"
    return client.post("/wellness/private-address/confirm", data=data)


def ask(auth, email):
    return auth.post(PAGE, {"email": email}, form_page=PAGE)


def add_and_confirm(auth, client, smtp_server, email=HOME):
    assert ask(auth, email).status_code == 302
    code = code_in(mail(smtp_server, email)[-1])
    response = open_link(client, code, confirm=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return code


def test_the_link_goes_to_the_personal_address_and_confirms_once(dana, auth, client, smtp_server, caplog):
    officer, user = dana
    auth.login(DEPT)
    page = client.get(PAGE).get_data(as_text=True)
    assert f"department address <strong class=\"text-break\" id=\"channel-current\">{DEPT}" in page
    caplog.set_level(logging.DEBUG)
    response = ask(auth, HOME)
    assert response.status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "Waiting for confirmation" in page and HOME in page
    received = mail(smtp_server, HOME)
    assert len(received) == 1 and "Hello Dana Reed" in received[0]
    assert "d***@pd.test" in received[0]                     # the department address, masked
    assert not smtp_server.to(DEPT)                           # nothing changes until confirmed
    assert private_address.wellness_address(officer) == DEPT
    code = code_in(received[0])

    review = open_link(client, code)                          # what a link scanner does: no change
    assert review.status_code == 200 and "Confirm this address" in review.get_data(as_text=True)
    assert review.headers["Cache-Control"] == "no-store"
    assert private_address.wellness_address(officer) == DEPT
    done = open_link(client, code, confirm=True)
    assert done.status_code == 200
    assert "now go to d***@gmail.test" in done.get_data(as_text=True)
    db.session.expire_all()
    assert private_address.wellness_address(officer) == HOME
    assert db.session.scalar(select(PrivateAddress.token_hash)) is None     # nothing of the link is kept

    again = open_link(client, code, confirm=True)             # single use
    assert again.status_code == 404
    assert "not valid: it was used" in again.get_data(as_text=True)

    note = mail(smtp_server, DEPT)
    assert len(note) == 1 and "will now go to d***@gmail.test" in note[0] and HOME not in note[0]
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("private_address.%"))
                                 .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["private_address.requested", "private_address.confirmed"]
    assert all(e.private for e in entries)
    assert not any(HOME in f"{e.target} {e.detail}" for e in entries)
    # Beacon's own log lines (not the test SMTP server's, which is the recipient's mail server)
    beacon_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert not any(HOME in line or code in line for line in beacon_lines)


def test_an_expired_or_unknown_link_is_refused_with_a_clear_page(dana, auth, client, smtp_server, app):
    officer, _ = dana
    auth.login(DEPT)
    ask(auth, HOME)
    code = code_in(mail(smtp_server, HOME)[0])
    hours = app.config["PRIVATE_ADDRESS_LINK_HOURS"]
    with clock.frozen(clock.now() + timedelta(hours=hours, minutes=1)):
        response = open_link(app.test_client(), code, confirm=True)     # on a phone, not signed in
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "This confirmation link has expired" in text and "Nothing was changed" in text
    assert open_link(client, "made-up-code").status_code == 404
    assert private_address.wellness_address(officer) == DEPT


def test_a_new_address_waits_while_the_confirmed_one_stays_in_use(dana, auth, client, smtp_server):
    officer, _ = dana
    auth.login(DEPT)
    first = add_and_confirm(auth, client, smtp_server)
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        assert ask(auth, "dana.other@mail.test").status_code == 302
        assert private_address.wellness_address(officer) == HOME          # the old one until confirmed
        code = code_in(mail(smtp_server, "dana.other@mail.test")[0])
        assert code != first
        open_link(client, code, confirm=True)
    db.session.expire_all()
    assert private_address.wellness_address(officer) == "dana.other@mail.test"


def test_after_confirming_wellness_mail_goes_to_the_personal_address_only(auth, client, smtp_server):
    with clock.frozen(MONDAY):
        team = factories.team(reports=2)
        officer = team.members[0]
        user = team.users[officer.id]
        clinician = factories.clinician(name="Dr. Iris Vale", email="dr.vale@clinic.test")
        evaluation = factories.evaluation(officer, kind="incident", due_on=date(2026, 3, 9))
        auth.login(user.email)
        add_and_confirm(auth, client, smtp_server)
        outbox.deliver()                                      # the masked note to the department address
        smtp_server.messages.clear()
        auth.logout()
        hr = Auth(client)
        hr.as_role("hr")
        response = hr.post(f"/wellness/evaluations/{evaluation.id}/book",
                           {"starts_at": TUESDAY_10_LOCAL.isoformat(), "clinician_id": clinician.id},
                           form_page=f"/wellness/evaluations/{evaluation.id}/book?clinician={clinician.id}")
        assert response.status_code == 302, response.get_data(as_text=True)
        outbox.deliver()
        booked = smtp_server.to(HOME)
        assert len(booked) == 1 and booked[0]["Subject"].startswith("Booked: appointment on Tue 3 March")
        ics = next(p for p in booked[0].walk() if p.get_content_type() == "text/calendar").get_content()
        assert f"mailto:{HOME}" in ics.replace("\r\n ", "").lower()
        clinician_ics = next(p for p in smtp_server.to("dr.vale@clinic.test")[0].walk()
                             if p.get_content_type() == "text/calendar").get_content()
        assert HOME not in clinician_ics.replace("\r\n ", "").lower()     # the clinician's copy: department
        assert not smtp_server.to(user.email)                 # not the department address

    # The appointment's reminder 24 hours before; a colleague's evaluation coming due, who
    # has a personal address too (set up directly: the pages are tested above).
    colleague = team.members[1]
    colleague_user = team.users[colleague.id]
    with clock.frozen(MONDAY):
        factories.evaluation(colleague, due_on=date(2026, 3, 9))
        db.session.add(PrivateAddress(user_id=colleague_user.id, email="rep1.home@mail.test",
                                      confirmed_at=clock.now(), created_at=clock.now()))
        db.session.commit()
    smtp_server.messages.clear()
    with clock.frozen(TUESDAY_10_LOCAL - timedelta(hours=23)):
        wellness_reminders.sweep()
        outbox.deliver()
    assert [m["Subject"] for m in smtp_server.to(HOME)] == ["Reminder: appointment tomorrow at 10:00 CST"]
    assert [m["Subject"][:22] for m in smtp_server.to("rep1.home@mail.test")] == ["Beacon: please book by"]
    assert not smtp_server.to(user.email) and not smtp_server.to(colleague_user.email)

    # A 360 reminder is not wellness mail: the department address.
    smtp_server.messages.clear()
    factories.review_cycle(days=7)
    review_reminders.sweep(clock.now())
    outbox.deliver()
    assert any(m["Subject"].startswith("Beacon: reviews to finish by") for m in smtp_server.to(user.email))
    assert not smtp_server.to(HOME) and not smtp_server.to("rep1.home@mail.test")


def test_removing_switches_back_at_once_and_tells_the_department_address(dana, auth, client, smtp_server):
    officer, _ = dana
    auth.login(DEPT)
    add_and_confirm(auth, client, smtp_server)
    mail(smtp_server, DEPT)
    smtp_server.messages.clear()
    confirm_page = client.get(f"{PAGE}/remove").get_data(as_text=True)
    assert "Remove your personal address?" in confirm_page
    response = auth.post(f"{PAGE}/remove", form_page=PAGE)
    assert response.status_code == 302
    assert private_address.wellness_address(officer) == DEPT
    note = mail(smtp_server, DEPT)
    assert len(note) == 1 and "department address again" in note[0] and "d***@gmail.test" in note[0]
    assert not smtp_server.to(HOME)
    assert "id=\"channel-current\">" + DEPT in client.get(PAGE).get_data(as_text=True)


def test_the_admin_outbox_never_shows_the_personal_address(dana, auth, client, smtp_server, app):
    auth.login(DEPT)
    add_and_confirm(auth, client, smtp_server)
    assert db.session.scalars(select(OutboxMessage.private)).all() == [True, True]
    admin = Auth(app.test_client())
    admin.as_role("admin")
    listing = admin.client.get("/admin/outbox/").get_data(as_text=True)
    assert HOME not in listing and "gmail" not in listing
    for message in db.session.scalars(select(OutboxMessage)).all():
        page = admin.client.get(f"/admin/outbox/m/{message.ref}").get_data(as_text=True)
        assert HOME not in page and "gmail" not in page


def test_hr_never_sees_it_and_disabling_the_account_removes_it(dana, auth, client, smtp_server, app):
    officer, user = dana
    auth.login(DEPT)
    add_and_confirm(auth, client, smtp_server)
    hr = Auth(app.test_client())
    hr.as_role("hr")
    page = hr.client.get(f"/wellness/officers/{officer.id}").get_data(as_text=True)
    assert HOME not in page
    assert hr.client.get(PAGE).status_code == 403                # the page is the officer's own
    accounts.disable_separated(factories.actor_for(factories.user(roles=["hr"])), [officer.id])
    db.session.commit()
    assert db.session.scalar(select(PrivateAddress)) is None
    assert private_address.wellness_address(officer) == DEPT


def test_a_second_link_within_a_minute_is_refused_and_the_form_checks_the_address(dana, auth, client, smtp_server):
    auth.login(DEPT)
    assert ask(auth, "not an address").status_code == 422
    assert ask(auth, DEPT).status_code == 302                    # refused (flashed), nothing sent
    assert "That is your department address" in client.get(PAGE).get_data(as_text=True)
    ask(auth, HOME)
    ask(auth, "dana.second@mail.test")
    assert "Wait a minute" in client.get(PAGE).get_data(as_text=True)
    assert len(mail(smtp_server, HOME)) == 1 and not smtp_server.to("dana.second@mail.test")
    assert not smtp_server.to(DEPT)


def test_the_batched_lookup_answers_in_one_query(dana, auth, client, smtp_server, count_queries):
    officer, _ = dana
    auth.login(DEPT)
    add_and_confirm(auth, client, smtp_server)
    ids = [officer.id, *(factories.officer().id for _ in range(3))]
    with count_queries() as queries:
        found = private_address.wellness_addresses(ids)
    assert found == {ids[0]: HOME}
    assert len(queries) == 1, queries.statements


def test_the_demo_officer_has_a_personal_address(app, runner):
    app.config["DEMO_ALLOWED"] = True
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    officer_email = next(line.split()[1] for line in result.output.splitlines()
                         if line.split()[:1] == ["officer"])
    row = db.session.scalar(select(PrivateAddress))
    assert row.user.email == officer_email and row.email.endswith(".home@example.org")
    assert private_address.wellness_address(row.user.officer) == row.email


def test_a_pending_address_can_be_withdrawn_and_its_link_stops_working(dana, auth, client, smtp_server):
    officer, _ = dana
    auth.login(DEPT)
    ask(auth, HOME)
    code = code_in(mail(smtp_server, HOME)[0])
    assert "Withdraw the address waiting" in client.get(f"{PAGE}/remove").get_data(as_text=True)
    assert auth.post(f"{PAGE}/remove", form_page=PAGE).status_code == 302
    assert open_link(client, code, confirm=True).status_code == 404
    assert private_address.wellness_address(officer) == DEPT
    assert not mail(smtp_server, DEPT)                                # nothing to tell: it never took effect
