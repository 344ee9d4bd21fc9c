"""Home pages in Chromium: every count is a link to its list. A supervisor's home leads to
their upward feedback and to the community activities waiting for them to verify; HR's
and the administrator's counts lead to their lists. Each home fits 390 and 1280 px.
Set BEACON_SCREENSHOTS=<directory> to keep the screenshots."""
import uuid
from datetime import timedelta

from core import clock
from core.db import db
from tests import factories
from tests.browser.conftest import Person, looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


def test_supervisors_home_leads_to_upward_feedback_and_activities_to_verify(live_server, sign_in_as, console):
    from evaluations.models import Activity
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        team = factories.team(reports=3, unit_name=f"Home {tag}")
        cycle = factories.review_cycle(name=f"Spring {tag}", threshold=2, unit_ids=[team.unit.id])
        for member in team.members[:2]:
            db.session.add(Activity(officer_id=member.id, day=clock.now().date() - timedelta(days=1), kind="meeting",
                                    hours=1, note="Block meeting", status="pending", created_at=clock.now()))
        db.session.commit()
        sergeant = team.users[team.sergeant.id]
        person, cycle_name = Person(sergeant.email, sergeant.name), cycle.name
        db.session.remove()

    page = sign_in_as(person)
    expect(page.locator("#home-to-verify")).to_have_text("2 community activities to verify")
    expect(page.locator("#home-upward")).to_have_text(f"Your upward feedback from {cycle_name}")
    looked_at(page, "supervisor-home")
    page.locator("#home-to-verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Community activities")
    expect(page.locator("#to-verify tbody tr")).to_have_count(2)
    page.go_back()
    page.locator("#home-upward").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback from the officers who report to you")
    console.assert_clean()


def test_hr_and_admin_home_counts_lead_to_their_lists(live_server, sign_in_as, console):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        factories.officer(first="Unaccounted", last=f"Officer{tag}")   # no account
        hr = factories.user(roles=["hr"], email=f"hr-home-{tag}@pd.test", name=f"Harper Home {tag}")
        admin = factories.user(roles=["admin"], email=f"admin-home-{tag}@pd.test", name=f"Ada Home {tag}")
        people = Person(hr.email, hr.name), Person(admin.email, admin.name)
        db.session.remove()

    page = sign_in_as(people[0])
    expect(page.locator("#home-without-account")).to_contain_text("without an account")
    looked_at(page, "hr-home")
    page.locator("#home-without-account").click()
    expect(page).to_have_url(live_server.url + "/roster/accounts")
    page.go_back()
    page.locator("#home-roster-active").click()
    expect(page).to_have_url(live_server.url + "/roster/?status=active")

    page = sign_in_as(people[1])
    looked_at(page, "admin-home")
    page.locator("#home-flagged").click()
    expect(page).to_have_url(live_server.url + "/admin/access-review?flagged=1")
    console.assert_clean()
