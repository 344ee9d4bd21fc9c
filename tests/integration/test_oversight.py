"""The command role: name-free figures and kept quarterly reports (issue 16, items 1-2).

Walked the way test_wellness_privacy.py walks wellness pages: every route of the role,
as a command account, and no officer's name, email, badge or id may appear anywhere in
what comes back (pages, CSVs, PDFs, redirects)."""
import hashlib
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from core import department
from core.audit import Actor, record
from core.db import db
from tests import factories
from tests.integration.test_audit_chain import bypassing_triggers, owner_engine

SMALL_NAMES = [("Zebulon", "Quillfeather"), ("Ottoline", "Marchbanks"), ("Thaddeus", "Wolverton")]


@pytest.fixture
def department_world(app):
    """Unit Alpha: 12 officers, 6 compliant. Unit Tiny: 3 officers with distinctive names,
    all compliant (a figure about them would point at them)."""
    today = department.today()
    people = []
    for n in range(12):
        o = factories.officer(first=f"Alfa{n}", last=f"Person{n}", unit_name="Alpha", badge=f"A7{n:03d}")
        people.append(o)
        if n < 6:
            _completed(o, today - timedelta(days=30 + n))
    for first, last in SMALL_NAMES:
        o = factories.officer(first=first, last=last, unit_name="Tiny")
        people.append(o)
        _completed(o, today - timedelta(days=10))
    return people


def _completed(officer, on):
    e = factories.evaluation(officer_row=officer, status="completed", due_on=on)
    e.completed_on = on
    db.session.commit()
    return e


def _forbidden_words(people):
    words = set()
    for o in people:
        words |= {o.first_name, o.last_name, o.email, o.badge_number}
    return words


def _oversight_urls(app, report_id):
    urls = ["/", "/oversight/", "/oversight/?q=2026Q3", "/oversight/reports", f"/oversight/reports/{report_id}",
            f"/oversight/reports/{report_id}.pdf", f"/oversight/reports/{report_id}/check"]
    for key in ("compliance", "incident", "participation", "ranking", "engagement", "compliance_series",
                "self_referrals"):
        urls.append(f"/oversight/{key}.csv")
    covered = {re.sub(r"\?.*", "", u) for u in urls}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("oversight.") and "GET" in rule.methods:
            example = (rule.rule.replace("<int:report_id>", str(report_id))
                       .replace("<any(compliance, incident, participation, ranking, engagement, compliance_series, "
                                "self_referrals):key>", "compliance"))
            assert example in covered, f"{rule.rule} is not walked by this test"
    return urls


def _text(response):
    if response.mimetype == "application/pdf":
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
        return " ".join(text.split())  # the PDF's text as words: line breaks and spacing are layout
    return response.get_data(as_text=True)


def test_no_route_of_the_command_role_names_anyone(app, auth, client, department_world):
    me = auth.as_role("command")
    made = client.post("/oversight/reports", data={"q": "2026Q4",
                                                   "csrf_token": _token(client)})
    assert made.status_code == 302
    report_id = int(made.headers["Location"].rsplit("/", 1)[1])
    forbidden = _forbidden_words(department_world)
    leaks = []
    for url in _oversight_urls(app, report_id):
        response = client.get(url)
        assert response.status_code == 200, url
        body = _text(response) + " ".join(response.headers.get_all("Location"))
        for word in forbidden:
            if re.search(rf"\b{re.escape(word)}\b", body):
                leaks.append(f"{url}: {word}")
        assert not re.search(r"/(officers|roster|subjects)/\d+", body), url
    assert leaks == []
    assert me.email not in _text(client.get(f"/oversight/reports/{report_id}"))  # not even who made it


def test_a_small_units_figures_are_hidden_and_cannot_be_subtracted(app, auth, client, department_world):
    auth.as_role("command")
    page = client.get("/oversight/").get_data(as_text=True)
    assert "fewer than 5" in page
    csv_text = client.get("/oversight/compliance.csv").get_data(as_text=True)
    rows = {line.split(",")[0]: line.split(",")[1:] for line in csv_text.splitlines()[1:]}
    assert rows["Alpha"] == ["12", "6", "6", "50%"]
    assert rows["Tiny"] == ["fewer than 5"] * 4
    # The total is Alpha's alone: Tiny is left out, not folded in where it could be subtracted.
    assert rows["Department (groups shown)"] == ["12", "6", "6", "50%"]


def test_the_threshold_is_a_setting(app, auth, client, department_world):
    app.config["SUPPRESSION_THRESHOLD"] = 7
    auth.as_role("command")
    csv_text = client.get("/oversight/compliance.csv").get_data(as_text=True)
    assert "Alpha,12,fewer than 7,fewer than 7,not shown" in csv_text


def _token(client):
    from tests.conftest import csrf_token
    return csrf_token(client, "/oversight/reports")


def test_a_kept_report_downloads_unchanged_and_is_stamped(app, auth, client, department_world):
    auth.as_role("command")
    made = client.post("/oversight/reports", data={"q": "2026Q3", "csrf_token": _token(client)})
    report_url = made.headers["Location"]
    page = client.get(report_url).get_data(as_text=True)
    first = client.get(report_url + ".pdf")
    assert first.headers["Content-Disposition"].startswith('attachment; filename="beacon-compliance-2026-Q3')
    digest = hashlib.sha256(first.data).hexdigest()
    assert digest in page
    # Later activity changes neither the kept page's figures nor the PDF.
    record(Actor.system("test"), "something.later")
    factories.officer(unit_name="Alpha")
    db.session.commit()
    assert hashlib.sha256(client.get(report_url + ".pdf").data).hexdigest() == digest
    text = _text(first)
    assert "Compliance report, 2026-Q3" in text and "1 July 2026 to 30 September 2026" in text
    assert "Recommendation 6" in text and "preventative mental health evaluation" in text
    assert "Recommendation 11" in text and "Audit log head (general): entry" in text
    head = re.search(r"entry (\d+), hash <code[^>]*>([0-9a-f]{64})<", page)
    assert head and head.group(2) in text.replace(" ", "")


def test_the_check_tells_when_an_entry_before_the_report_was_edited(app, auth, client, department_world):
    record(Actor.system("test"), "before.report", detail="as it was")
    db.session.commit()
    auth.as_role("command")
    made = client.post("/oversight/reports", data={"q": "2026Q3", "csrf_token": _token(client)})
    check_url = made.headers["Location"] + "/check"
    assert client.get(check_url).get_data(as_text=True).count("Holds") == 3  # both chains and the report
    with owner_engine().begin() as conn:  # the app's own role may not; someone with the database may
        target = conn.execute(sa.text("SELECT id FROM audit_entries WHERE action = 'before.report'")).scalar()
        bypassing_triggers(conn, "UPDATE audit_entries SET detail = 'rewritten' WHERE id = :id", id=target)
    page = client.get(check_url).get_data(as_text=True)
    assert "Does not hold" in page and "The general log" in page


def test_the_check_tells_when_the_kept_report_itself_was_changed(app, auth, client, department_world):
    auth.as_role("command")
    made = client.post("/oversight/reports", data={"q": "2026Q3", "csrf_token": _token(client)})
    report_id = int(made.headers["Location"].rsplit("/", 1)[1])
    with owner_engine().begin() as conn:  # someone with the database rewrites the stamp
        conn.execute(sa.text("UPDATE compliance_reports SET general_head_hash = :h WHERE id = :id"),
                     {"h": "f" * 64, "id": report_id})
    page = client.get(f"/oversight/reports/{report_id}/check").get_data(as_text=True)
    report_part = page.split('id="check-report"')[1]
    assert "Does not hold" in report_part and "no longer matches the audit entry" in report_part


@pytest.mark.parametrize("role", ["officer", "clinician", "admin"])
def test_only_command_and_hr_reach_the_figures_and_reports(app, auth, client, role):
    auth.as_role(role)
    for url in ("/oversight/", "/oversight/reports", "/oversight/compliance.csv"):
        assert client.get(url).status_code == 403, url


def test_hr_may_make_a_report_and_a_future_quarter_is_refused(app, auth, client):
    auth.as_role("hr")
    assert client.get("/oversight/reports").status_code == 200
    future = f"{department.today().year + 1}Q1"
    response = client.post("/oversight/reports", data={"q": future, "csrf_token": _token(client)},
                           follow_redirects=True)
    assert "That quarter has not begun yet." in response.get_data(as_text=True)
    assert client.get(f"/oversight/?q={future}").status_code == 404


def test_the_figures_take_the_same_number_of_queries_for_ten_or_a_hundred_officers(app, auth, client, count_queries):
    auth.as_role("command")
    counts, made = [], 0
    for size in (10, 100):
        while made < size:
            officer = factories.officer(unit_name=f"Unit {made % 4}")
            if made % 2:
                _completed(officer, department.today() - timedelta(days=40))
            made += 1
        client.get("/oversight/")  # warms compiled SQL and templates
        with count_queries() as queries:
            assert client.get("/oversight/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_self_referrals_count_by_month_under_the_rule(app):
    """Five visits in October show as 5; four in November as "fewer than 5"; cancelled ones do not count."""
    import uuid
    from datetime import datetime, timezone

    from core import clock
    from oversight.services import figures
    from wellness.models import Appointment
    clinician = factories.clinician()
    for n, (month, status) in enumerate([(10, "attended")] * 5 + [(11, "confirmed")] * 4 + [(11, "cancelled")] * 3):
        officer = factories.officer()
        start = datetime(2026, month, 10 + n, 16, 0, tzinfo=timezone.utc)
        db.session.add(Appointment(evaluation_id=None, self_referral=True, clinician_id=clinician.id,
                                   officer_id=officer.id, starts_at=start, ends_at=start + timedelta(hours=1),
                                   status=status, uid=f"{uuid.uuid4()}@beacon", booked_at=clock.now()))
    db.session.commit()
    series = figures.self_referrals(date(2026, 11, 28), 3)
    assert [c.text for c in series.points] == ["fewer than 5", "5", "fewer than 5"]
    assert series.months[1] == date(2026, 10, 1)
