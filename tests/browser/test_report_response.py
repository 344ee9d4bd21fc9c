"""A sergeant reads their published review report, acknowledges it and writes a
response; their lieutenant opens the same report and reads the response beside it.

Through the real pages: "My reviews" says the report is not yet acknowledged, the
report says what acknowledging means (read, not agreed), the button records it, the
response form saves, and the supervisor sees the text and when it was saved but no
form to change it. HR's cycle page counts who has acknowledged and lists them.
"""
import uuid

import pytest

from core.audit import Actor
from core.db import db
from evaluations.services import cycles
from tests import factories
from tests.browser.conftest import looked_at, Person, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402

RESPONSE = ("I have read the report. The peer scores cover the four months I was on nights with a new squad, "
            "which the report does not say.\nI would ask that they be read with that in mind.")


@pytest.fixture
def scene(live_server):
    """A lieutenant, a sergeant and two officers of one unit, reviewed in a cycle of
    that unit alone, closed and published (no reviews are needed for the reports)."""
    tag = uuid.uuid4().hex[:8]
    hr = Actor.system("browser-test-hr")
    with live_server.app.app_context():
        t = factories.team(reports=2, unit_name=f"Response Unit {tag}")
        cycle = factories.review_cycle(name=f"Responses {tag}", unit_ids=[t.unit.id], peers=1)
        cycles.move(hr, cycle.id, "close")
        cycles.move(hr, cycle.id, "publish", period="none")
        people = {oid: Person(u.email, u.name) for oid, u in t.users.items()}
        hr_user = factories.user(roles=["hr"], email=f"hr-{tag}@pd.test", name=f"Hana Resources {tag}")
        result = dict(cycle_id=cycle.id, cycle_name=cycle.name, sergeant=people[t.sergeant.id],
                      sergeant_name=t.sergeant.full_name, sergeant_last=t.sergeant.last_name,
                      sergeant_badge=t.sergeant.badge_number, boss=people[t.boss.id],
                      hr=Person(hr_user.email, hr_user.name))
        db.session.remove()
    return result


def test_subject_acknowledges_and_responds_and_the_supervisor_reads_it(scene, sign_in_as, console):
    page = sign_in_as(scene["sergeant"])
    page.goto("/reviews/")
    mine = page.locator("#my-reports li").filter(has_text=f"{scene['cycle_name']}: your report")
    expect(mine).to_contain_text("Not yet acknowledged")
    mine.get_by_role("link").click()

    section = page.get_by_role("region", name="Your acknowledgement and response")
    expect(section.locator("#acknowledgement-status")).to_have_text("Not yet acknowledged.")
    expect(section).to_contain_text("Acknowledging means you have read the report, not that you agree with it.")
    looked_at(page, "report-response-before")
    section.get_by_role("button", name="I have read this report").click()
    expect(page.get_by_role("status").filter(has_text="Recorded: you have read this report")).to_be_visible()
    expect(section.locator("#acknowledgement-status")).to_contain_text("Acknowledged on")
    expect(section.locator("#acknowledgement-status")).to_contain_text("(version 1)")
    expect(section.get_by_role("button", name="I have read this report")).to_have_count(0)

    section.get_by_label("Your response").fill(RESPONSE)
    section.get_by_role("button", name="Save response").click()
    expect(page.get_by_role("status").filter(has_text="Your response is saved with your report.")).to_be_visible()
    expect(section.get_by_label("Your response")).to_have_value(RESPONSE)
    expect(section).to_contain_text("Last saved on")
    looked_at(page, "report-response-subject")
    page.goto("/reviews/")
    expect(page.locator("#my-reports li").filter(has_text="your report")).not_to_contain_text("Not yet acknowledged")

    boss = sign_in_as(scene["boss"])
    boss.goto("/reviews/")
    boss.locator("#my-reports").get_by_role("link", name=f"{scene['cycle_name']}: {scene['sergeant_name']}").click()
    section = boss.get_by_role("region", name="Acknowledgement and response")
    expect(section.locator("#acknowledgement-status")).to_contain_text(f"(version 1) by {scene['sergeant_name']}.")
    quote = section.locator("blockquote")
    expect(quote).to_contain_text("the four months I was on nights")
    expect(quote).to_contain_text("I would ask that they be read with that in mind.")
    expect(section).to_contain_text("Last saved on")
    expect(section.get_by_role("textbox")).to_have_count(0)
    expect(section.get_by_role("button")).to_have_count(0)
    looked_at(boss, "report-response-supervisor")

    # HR: the count on the cycle's page, and the list of who has acknowledged.
    hr = sign_in_as(scene["hr"])
    hr.goto(f"/reviews/cycles/{scene['cycle_id']}")
    expect(hr.locator("#acknowledged")).to_contain_text("Acknowledged: 1 of 4")
    expect(hr.locator("#acknowledged")).to_contain_text("1 with a written response")
    hr.get_by_role("link", name="Who has acknowledged").click()
    expect(hr.locator("#ack-counts")).to_contain_text("Acknowledged: 1 of 4")
    expect(hr.locator("#acknowledgements tbody tr")).to_have_count(4)
    hr.get_by_label("Name or badge").fill(scene["sergeant_last"])
    hr.get_by_role("button", name="Search").click()
    rows = hr.locator("#acknowledgements tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(scene["sergeant_badge"])
    expect(rows).to_contain_text("(version 1)")
    expect(rows.locator("td").nth(3)).to_contain_text("Yes,")
    expect(hr.locator("body")).not_to_contain_text("four months I was on nights")   # whether, not what
    hr.get_by_label("Name or badge").fill("")
    hr.get_by_label("Show", exact=True).select_option(label="Not yet acknowledged")
    hr.get_by_role("button", name="Search").click()
    expect(hr.locator("#acknowledgements tbody tr")).to_have_count(3)
    looked_at(hr, "report-response-hr-list")
    console.assert_clean()
