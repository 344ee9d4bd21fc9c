"""Support after an incident (issue 16, item 5): HR keeps the list; officers whose
incident evaluation is still to be done see it on their home page; every officer can
open the support page; the reminder to book links there; and nothing records who
opened it: no audit entry, no database write, no app log line, no access-log line."""
import logging
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core import clock
from core.audit import Actor
from core.db import db
from core.models import AuditEntry
from core.views.auth import WITHHELD_TOKENS
from tests import factories
from wellness.models import EvaluationStatus, SupportResource
from wellness.services import incidents, support

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)   # Monday 09:00 CST
PANEL = "If you would like to talk to someone"


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def rows():
    return db.session.scalar(select(func.count()).select_from(SupportResource))


def support_entries():
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("support_resource.%"))
                              .order_by(AuditEntry.id)).all()


def text(response):
    return response.get_data(as_text=True)


def card_names(html):
    return re.findall(r'<h2 class="h5 card-title mb-1" id="support-\d+">([^<]+)</h2>', html)


def officer_account():
    officer = factories.officer()
    return officer, factories.user(roles=["officer"], officer_row=officer)


def add(auth, **values):
    data = {"name": "", "kind": "peer_support", "phone": "", "contact": "", "hours": "", "notes": ""} | values
    return auth.post("/wellness/support-resources/new", data, form_page="/wellness/support-resources/new")


# --- HR keeps the list --------------------------------------------------------------------

def test_hr_adds_edits_orders_and_hides_and_officers_see_exactly_that(auth, client):
    auth.as_role("hr")
    assert add(auth, name="Peer Support Team", phone="(555) 010-0177", hours="Any time").status_code == 302
    assert add(auth, name="Department Chaplain", kind="chaplain", phone="555 010 0142").status_code == 302
    assert add(auth, name="988 Suicide & Crisis Lifeline", kind="crisis_line", phone="988",
               contact="Text 988").status_code == 302
    peer, chaplain, lifeline = db.session.scalars(select(SupportResource).order_by(SupportResource.id)).all()

    # A correction, then the lifeline to the top, then the chaplain hidden.
    response = auth.post(f"/wellness/support-resources/{chaplain.id}",
                         {"name": "Chaplain Ruth Okoye", "kind": "chaplain", "phone": "555 010 0142",
                          "contact": "", "hours": "Mon–Fri 08:00–18:00", "notes": ""},
                         form_page=f"/wellness/support-resources/{chaplain.id}")
    assert response.status_code == 302
    for _ in range(2):
        assert auth.post(f"/wellness/support-resources/{lifeline.id}/up").status_code == 302
    assert auth.post(f"/wellness/support-resources/{chaplain.id}/hide").status_code == 302

    listing = text(client.get("/wellness/support-resources"))
    assert listing.index("988 Suicide &amp; Crisis Lifeline") < listing.index("Peer Support Team") \
        < listing.index("Chaplain Ruth Okoye")
    assert "hidden" in listing and "Mon–Fri 08:00–18:00" in listing

    # What HR did is in the wellness log (private), each change once.
    entries = support_entries()
    assert [e.action for e in entries] == ["support_resource.created"] * 3 + [
        "support_resource.updated", "support_resource.moved", "support_resource.moved", "support_resource.hidden"]
    assert all(e.private for e in entries)
    assert "name, hours" in entries[3].detail

    # An officer sees the shown ones in HR's order, each number one tap away.
    auth.logout()
    auth.as_role("officer")
    page = text(client.get("/wellness/support"))
    assert card_names(page) == ["988 Suicide &amp; Crisis Lifeline", "Peer Support Team"]
    assert 'href="tel:988"' in page and 'href="tel:5550100177"' in page
    assert "Chaplain" not in page

    # Shown again, it comes back at its place.
    auth.logout()
    auth.as_role("hr")
    auth.post(f"/wellness/support-resources/{chaplain.id}/show")
    auth.post(f"/wellness/support-resources/{peer.id}/down")
    assert [r.name for r in support.listed()] == ["988 Suicide & Crisis Lifeline", "Chaplain Ruth Okoye",
                                                  "Peer Support Team"]
    # The last one cannot go further down: said, nothing changes.
    before = len(support_entries())
    auth.post(f"/wellness/support-resources/{peer.id}/down")
    assert "already last" in text(client.get("/wellness/support-resources"))
    assert len(support_entries()) == before


@pytest.mark.parametrize("values, field, message", [
    ({"name": "Peer Support Team", "phone": "call the desk"}, "phone", "Enter a number to dial"),
    ({"name": "Peer Support Team", "phone": "12"}, "phone", "Enter a number to dial"),
    ({"name": "", "phone": "988"}, "name", "Give the name officers will see."),
    ({"name": "   ", "phone": "988"}, "name", "Give the name officers will see."),
    ({"name": "Peer Support Team"}, "phone", "Give a phone number or another way to reach them."),
])
def test_a_bad_phone_or_an_empty_name_is_shown_beside_the_field_and_nothing_is_saved(auth, values, field, message):
    auth.as_role("hr")
    response = add(auth, **values)
    assert response.status_code == 422
    html = text(response)
    # The message sits in the field's own invalid-feedback, right after its input.
    beside = re.search(rf'<input[^>]*id="{field}"[^>]*>\s*<div class="invalid-feedback[^"]*">\s*([^<]+)', html)
    assert beside and message in beside.group(1), html[html.find(f'id="{field}"') - 200:][:800]
    assert 'class="form-control is-invalid"' in html
    assert rows() == 0 and support_entries() == []


def test_a_bad_number_in_an_edit_leaves_the_resource_as_it_was(auth, client):
    auth.as_role("hr")
    support.seed_demo()
    chaplain = support.listed()[1]
    response = auth.post(f"/wellness/support-resources/{chaplain.id}",
                         {"name": "Chaplain", "kind": "chaplain", "phone": "ask at the desk"},
                         form_page=f"/wellness/support-resources/{chaplain.id}")
    assert response.status_code == 422 and "Enter a number to dial" in text(response)
    db.session.expire_all()
    assert (chaplain.name, chaplain.phone) == ("Department Chaplain", "(555) 010-0142")
    assert support_entries() == []


def test_officers_cannot_change_the_list_and_command_cannot_open_it(auth, client):
    support.seed_demo()
    first = support.listed()[0]
    auth.as_role("officer")
    assert client.get("/wellness/support-resources").status_code == 403
    assert add(auth, name="Mine", phone="988").status_code == 403
    assert auth.post(f"/wellness/support-resources/{first.id}/hide").status_code == 403
    auth.logout()
    auth.as_role("command")
    assert client.get("/wellness/support-resources").status_code == 403
    assert client.get(f"/wellness/support-resources/{first.id}").status_code == 403
    assert rows() == 4 and all(r.active for r in support.listed()) and support_entries() == []


# --- who sees the panel ---------------------------------------------------------------------

def test_the_affected_officer_sees_the_panel_until_their_evaluation_is_completed(auth, client):
    support.seed_demo()
    officer, user = officer_account()
    hr = Actor.system("test")
    incidents.record_incident(hr, type_id=1, occurred_on=clock.now().date(), description="Shots fired",
                              officer_ids=[officer.id], unit_ids=[])
    auth.login(user.email)
    home = text(client.get("/"))
    assert PANEL in home
    assert 'href="tel:988"' in home and "Peer Support Team" in home
    assert 'href="/wellness/support"' in home

    # Booked: still to be done, still shown. Completed: gone.
    [evaluation] = officer_evaluations(officer)
    evaluation.mark_scheduled()
    db.session.commit()
    assert PANEL in text(client.get("/"))
    evaluation.complete(clock.now().date())
    db.session.commit()
    home = text(client.get("/"))
    assert PANEL not in home and 'href="tel:988"' not in home
    assert client.get("/wellness/support").status_code == 200   # the page stays open to them


def test_an_annual_evaluation_an_incident_joined_counts_as_affected(auth, client):
    support.seed_demo()
    officer, user = officer_account()
    factories.evaluation(officer, kind="annual", due_on=clock.now().date() + timedelta(days=25))
    auth.login(user.email)
    assert PANEL not in text(client.get("/"))   # a yearly evaluation alone: no panel
    incidents.record_incident(Actor.system("test"), type_id=1, occurred_on=clock.now().date(),
                              description="Partner injured", officer_ids=[officer.id], unit_ids=[])
    assert PANEL in text(client.get("/"))


def test_an_unaffected_officer_sees_no_panel_but_can_open_the_page(auth, client):
    support.seed_demo()
    other, _ = officer_account()
    factories.evaluation(other, kind="incident")   # someone else's incident: not theirs to see
    auth.as_role("officer")
    home = text(client.get("/"))
    assert PANEL not in home and "tel:" not in home
    assert 'href="/wellness/support"' in home       # every officer's page links to it: the link says nothing
    page = client.get("/wellness/support")
    assert page.status_code == 200
    assert card_names(text(page)) == ["Peer Support Team", "Department Chaplain", "Employee Assistance Programme",
                                      "988 Suicide &amp; Crisis Lifeline"]
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"


def test_hr_sees_no_panel(auth, client):
    support.seed_demo()
    factories.evaluation(kind="incident")
    auth.as_role("hr")
    assert PANEL not in text(client.get("/"))


def officer_evaluations(officer):
    from wellness.models import WellnessEvaluation
    return db.session.scalars(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id)).all()


# --- nothing records who opened it ------------------------------------------------------------

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def test_opening_the_page_or_the_panel_writes_nothing_and_logs_nothing(auth, client, count_queries, caplog):
    with clock.frozen(T0):
        support.seed_demo()
        officer, user = officer_account()
        factories.evaluation(officer, kind="incident")
        auth.login(user.email)
        audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            with count_queries() as counted:
                home = client.get("/")
                page = client.get("/wellness/support")
        assert PANEL in text(home) and page.status_code == 200
        writes = [s for s in counted.statements if WRITE.match(s)]
        assert counted.statements and writes == []
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
        assert [r.getMessage() for r in caplog.records] == []


@pytest.mark.parametrize("logger, line", [
    ("werkzeug", '127.0.0.1 - - [28/Nov/2026 05:00:00] "GET /wellness/support HTTP/1.1" 200 -'),
    ("werkzeug", '127.0.0.1 - - [28/Nov/2026 05:00:00] "GET /login?next=%2Fwellness%2Fsupport HTTP/1.1" 200 -'),
    ("gunicorn.access", '10.1.2.3 - - [28/Nov/2026:05:00:00 +0000] "GET /wellness/support?x=1 HTTP/1.1" 200 5120 '
                        '"http://beacon.test/" "Mozilla/5.0 (iPhone)"'),
    ("gunicorn.access", '10.1.2.3 - - [28/Nov/2026:05:00:00 +0000] "GET / HTTP/1.1" 200 5120 '
                        '"http://beacon.test/wellness/support" "Mozilla/5.0 (iPhone)"'),   # its Referer
])
def test_the_support_page_never_reaches_the_access_log(logger, line):
    """Dropped, not anonymised: the address, time and user agent share the line."""
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, "%s", (line,), None)
    assert WITHHELD_TOKENS.filter(record) is False


@pytest.mark.parametrize("path", ["/wellness/support-resources", "/wellness/support-resources/3/hide", "/",
                                  "/wellness/supporters"])
def test_other_pages_are_still_logged(path):
    line = f'127.0.0.1 - - [28/Nov/2026 05:00:00] "GET {path} HTTP/1.1" 200 -'
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s", (line,), None)
    assert WITHHELD_TOKENS.filter(record) is True and record.getMessage() == line


def test_the_filter_is_on_the_servers_request_loggers(app):
    for name in ("werkzeug", "gunicorn.access"):
        assert WITHHELD_TOKENS in logging.getLogger(name).filters


# --- the email ---------------------------------------------------------------------------------

def test_the_reminder_to_book_links_to_the_support_page_and_says_nothing_of_an_incident(runner, app, smtp_server):
    with clock.frozen(T0):
        affected, affected_user = officer_account()
        yearly, yearly_user = officer_account()
        incidents.record_incident(Actor.system("test"), type_id=1, occurred_on=date(2026, 3, 1),
                                  description="Officer-involved shooting on Elm St", officer_ids=[affected.id],
                                  unit_ids=[])
        factories.evaluation(yearly, kind="annual", due_on=date(2026, 3, 8))
        result = runner.invoke(args=["reminders", "run", "--now", T0.isoformat()])
        assert result.exit_code == 0, result.output
        runner.invoke(args=["outbox", "deliver"])
    [to_affected] = smtp_server.to(affected_user.email)
    [to_yearly] = smtp_server.to(yearly_user.email)
    body = smtp_server.text(to_affected).replace("\r\n", "\n")
    line = "If you would like to talk to someone, these people are here for you: http://beacon.test/wellness/support"
    assert line in body
    # The same line in every reminder to book, so the line itself tells nothing.
    assert line in smtp_server.text(to_yearly).replace("\r\n", "\n")
    for word in ("incident", "shooting", "Elm", "trauma", "critical"):
        assert word.lower() not in (body + to_affected["Subject"]).lower()
    # The link opens the page (after sign-in) for the person who got it.
    assert app.url_map.bind("beacon.test").match("/wellness/support") == ("support.page", {})


# --- the demo and the rules ---------------------------------------------------------------------

def test_the_demo_list_is_the_four_usual_resources_once(app):
    support.seed_demo()
    support.seed_demo()
    assert [(r.name, r.phone) for r in support.listed()] == [
        ("Peer Support Team", "(555) 010-0177"), ("Department Chaplain", "(555) 010-0142"),
        ("Employee Assistance Programme", "1-800-555-0199"), ("988 Suicide & Crisis Lifeline", "988")]
    assert support_entries() == []


@pytest.mark.parametrize("phone, href", [("988", "tel:988"), ("(555) 010-0177", "tel:5550100177"),
                                         ("+44 20 7946 0958", "tel:+442079460958"),
                                         ("1-800-555-0199", "tel:18005550199")])
def test_a_number_is_dialled_by_its_digits(phone, href):
    assert support.phone_problem(phone) is None
    assert support.tel_href(phone) == href


@pytest.mark.parametrize("phone", ["12", "call 988", "555-0100 ext 12", "+1 (555) 010-0177 9999999999", "++988",
                                   "tel:988"])
def test_what_cannot_be_dialled_is_refused(phone):
    assert support.phone_problem(phone)


def test_a_closed_evaluation_ends_the_panel(app):
    officer, user = officer_account()
    evaluation = factories.evaluation(officer, kind="incident")
    me = Actor.for_user(user)
    assert support.affected(me)
    evaluation.status = EvaluationStatus.CLOSED
    db.session.commit()
    assert not support.affected(me) and support.panel(me) is None


def test_gunicorn_writes_no_line_for_the_support_page(postgres_database, tmp_path):
    """A real gunicorn's access log: the support page's request, and the sign-in page it
    sends a signed-out visitor to, leave no line; HR's list and the sign-in page do."""
    import urllib.request

    from tests.gunicorn_server import serve
    log = tmp_path / "access.log"
    env = {"DATABASE_URL": postgres_database, "SECRET_KEY": "test-secret-key-for-the-gunicorn-worker",
           "SCHEDULER_EMBEDDED": "0"}

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with serve(env, workers=1, access_log=log) as base:
        for path in ("/wellness/support", "/login?next=%2Fwellness%2Fsupport", "/wellness/support-resources",
                     "/healthz"):
            try:
                opener.open(base + path, timeout=30).close()
            except urllib.error.HTTPError:
                pass   # the redirects to sign in
    lines = log.read_text().splitlines()
    assert any("GET /wellness/support-resources " in line for line in lines), lines
    assert any("GET /healthz " in line for line in lines), lines
    assert not [line for line in lines if re.search(r"(/|%2F)wellness(/|%2F)support[ ?]", line)], lines
