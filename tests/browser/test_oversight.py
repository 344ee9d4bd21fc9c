"""Through the real pages: a command account reads the name-free figures (the chart, the
tables, a CSV) and makes the quarter's report; an officer finds who has looked at their
wellness record from their own page.

Set BEACON_SCREENSHOTS=<directory> to keep screenshots (390 and 1280 pixels wide)."""
import uuid
from datetime import date, timedelta

from core import department
from core.audit import Actor
from core.db import db
from tests import factories
from tests.browser.conftest import Person, looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


def test_a_command_account_reads_figures_and_makes_a_report_without_a_name_in_sight(sign_in_as, live_server):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        today = department.today()
        names = []
        for n in range(12):
            officer = factories.officer(first="Figure", last=f"Counted{tag}{n}", unit_name=f"Alpha {tag}")
            names.append(officer.last_name)
            if n % 2:
                e = factories.evaluation(officer_row=officer, status="completed", due_on=today - timedelta(days=20))
                e.completed_on = today - timedelta(days=20)
        db.session.commit()
        user = factories.user(roles=["command"], email=f"board-{tag}@pd.test", name=f"Board member {tag}")
        person = Person(email=user.email, name=user.name)
        db.session.remove()

    page = sign_in_as(person)
    page.get_by_role("link", name="See the figures").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Figures for")
    expect(page.locator("svg.figure-chart").first).to_be_visible()
    compliance = page.locator("section", has=page.locator("#t-compliance"))
    row = compliance.get_by_role("row", name=f"Alpha {tag}")
    expect(row).to_contain_text("50%")
    looked_at(page, "command-figures")
    body = page.content()
    assert not any(name in body for name in names)

    with page.expect_download() as download:
        compliance.get_by_role("link", name="Download CSV").click()
    csv_text = open(download.value.path(), encoding="utf-8").read()
    assert f"Alpha {tag},12,6,6,50%" in csv_text and not any(name in csv_text for name in names)

    page.get_by_role("link", name="Quarterly reports").first.click()
    page.get_by_role("button", name="Make the report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compliance report,")
    expect(page.locator("#stamp")).to_contain_text("Audit log head, general")
    looked_at(page, "command-report")
    page.get_by_role("link", name="Check it against the audit log").click()
    expect(page.locator("#check-general")).to_contain_text("Holds")
    expect(page.locator("#check-wellness")).to_contain_text("Holds")


def test_an_officer_sees_who_looked_at_their_wellness_record(sign_in_as, live_server):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        from wellness.services import evaluations
        officer = factories.officer(first="Avery", last=f"Looked{tag}")
        me = factories.user(roles=["officer"], officer_row=officer, email=f"avery-{tag}@pd.test", name="Avery")
        hr = factories.user(roles=["hr"], name=f"Harriet {tag}")
        factories.evaluation(officer_row=officer, due_on=date.today() + timedelta(days=20))
        evaluations.officer_record(Actor.for_user(hr), officer.id)
        person = Person(email=me.email, name=me.name)
        db.session.remove()

    page = sign_in_as(person)
    page.goto("/wellness/me")
    page.get_by_role("link", name="Who has looked at my wellness record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who has looked at my wellness record")
    row = page.locator("#looked tbody tr").first
    expect(row).to_contain_text(f"Harriet {tag}")
    expect(row).to_contain_text("HR")
    expect(row).to_contain_text("Opened your wellness record")
    looked_at(page, "officer-who-looked")
