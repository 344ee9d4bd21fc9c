"""HR's daily pages in the browser (issue 15, part 5): HR searches the wellness dashboard
by name and by badge, sorts it both ways by choosing a column heading, reads the
appointment date; the dashboard, the roster and the retention matrix fit a phone
(390 px) and a desktop (1280 px), each with its help text."""
import re
import uuid
from datetime import timedelta

from core.db import db
from tests import factories
from tests.browser.conftest import looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


def _scene(app, tag):
    """Three officers with evaluations in progress (one booked), and a published review
    cycle with community metrics. Plain values out."""
    from core import clock
    from wellness.services.common import settings
    with app.app_context():
        clinician = factories.clinician(name=f"Dr. Dash {tag}")
        day = clock.now().date()
        made = {}
        for last, badge, due_in in (("Abbot", f"A{tag}", -3), ("Bishop", f"B{tag}", 40), ("Cole", f"C{tag}", 10)):
            officer = factories.officer(badge=badge, first="Kim", last=f"{last}{tag}", unit_name=f"Dash {tag}")
            made[last] = factories.evaluation(officer, due_on=day + timedelta(days=due_in),
                                              status="scheduled" if last == "Bishop" else "open")
        starts = (clock.now() + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
        factories.appointment(made["Bishop"], clinician, starts_at=starts)
        when = starts.astimezone(settings().zone).strftime("%Y-%m-%d %H:%M %Z")

        from sqlalchemy import select

        from core.audit import Actor
        from wellness.models import IncidentType
        from wellness.services import incidents
        kind = db.session.scalars(select(IncidentType).order_by(IncidentType.id)).first()
        incident_id = incidents.record_incident(
            Actor.system("test-hr"), type_id=kind.id, occurred_on=day - timedelta(days=1),
            description="For the dashboard test.",
            officer_ids=[made["Cole"].officer_id], unit_ids=[]).incident.id
        bishop_id = made["Bishop"].officer_id

        from tests.integration.test_fixed_results import _published
        _, _, cycle = _published()
        cycle_id = cycle.id
        db.session.remove()
    return when, cycle_id, incident_id, bishop_id


def _names(page, tag) -> list[str]:
    return [text.split(tag)[0] for text in page.locator("#evaluations tbody tr td:first-child a").all_inner_texts()]


def test_hr_searches_sorts_and_sees_the_appointment_date(live_server, accounts, sign_in_as, console):
    tag = uuid.uuid4().hex[:8]
    when, cycle_id, incident_id, bishop_id = _scene(live_server.app, tag)
    page = sign_in_as(accounts.make("hr"))
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/wellness/")
    expect(page.get_by_text("What counts as compliant")).to_be_visible()
    page.get_by_text("What counts as compliant").click()
    expect(page.locator("#compliance-help")).to_contain_text("completed within the last")

    # By the unit's shared tag in the name: the three, by due date.
    search = page.get_by_label("Officer's name or badge")
    search.fill("Dash")  # nobody's name begins with the unit's name
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#evaluations tbody")).to_contain_text("No evaluation of an officer")
    page.get_by_label("Officer's name or badge").fill(f"Bishop{tag}")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=Bishop"))
    row = page.locator("#evaluations tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Booked, awaiting confirmation")
    expect(row).to_contain_text(when)  # the appointment column, in the department's time
    page.get_by_label("Officer's name or badge").fill(f"C{tag}")  # a badge
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#evaluations tbody tr")).to_have_count(1)
    expect(page.locator("#evaluations tbody")).to_contain_text(f"Cole{tag}")

    # The unit filter keeps only the three; sort by name, then reverse it.
    page.goto("/wellness/")
    page.get_by_label("Unit", exact=True).select_option(label=f"Dash {tag}")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#evaluations tbody tr")).to_have_count(3)
    assert _names(page, tag) == ["Abbot", "Cole", "Bishop"]  # by due date
    page.locator("#sort-name").click()
    expect(page.locator("#sort-name")).to_contain_text("▲")
    assert _names(page, tag) == ["Abbot", "Bishop", "Cole"]
    page.locator("#sort-name").click()
    expect(page.locator("#sort-name")).to_contain_text("▼")
    assert _names(page, tag) == ["Cole", "Bishop", "Abbot"]
    assert "unit=" in page.url
    page.locator("#sort-appointment").click()
    assert _names(page, tag)[0] == "Bishop"
    looked_at(page, "dashboard")

    # The same evaluation, the same words on the dashboard, the incident page and the record.
    cole_state = page.locator("#evaluations tbody tr").filter(has_text=f"Cole{tag}").locator(".badge")
    label = cole_state.inner_text()
    state = cole_state.get_attribute("data-state")
    page.goto(f"/wellness/incidents/{incident_id}")
    expect(page.get_by_role("row").filter(has_text=f"Cole{tag}").locator(".badge")).to_have_text(label)
    looked_at(page, "incident")
    assert state in ("due_soon", "overdue"), state
    page.goto(f"/wellness/officers/{bishop_id}")
    expect(page.locator('[data-state="awaiting_confirmation"]')).to_have_text("Booked, awaiting confirmation")
    looked_at(page, "record")

    page.goto(f"/roster/?q={tag}")
    expect(page.locator("#roster tbody")).to_contain_text(f"Abbot{tag}")
    page.locator("#sort-name").click()
    page.locator("#sort-name").click()
    expect(page.locator("#sort-name")).to_contain_text("▼")
    looked_at(page, "roster")

    page.goto(f"/reviews/cycles/{cycle_id}/matrix")
    page.get_by_text("How the composite and the community score are worked out").click()
    expect(page.locator("#score-help")).to_contain_text("weighted mean")
    looked_at(page, "matrix")
    console.assert_clean()


def test_nothing_overflows_on_a_phone_with_a_long_search(live_server, accounts, sign_in_as, console):
    page = sign_in_as(accounts.make("hr"))
    page.goto("/wellness/?q=" + "x" * 90 + "&sort=status&dir=desc")
    expect(page.locator("#evaluations tbody")).to_contain_text("No evaluation of an officer")
    looked_at(page, "dashboard-empty-search")
    console.assert_clean()
