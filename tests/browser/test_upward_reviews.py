"""Three officers review their sergeant anonymously, through the real pages.

Each officer signs in on a browser of their own, opens the upward review from
"Reviews to do" on their home page, reads how their anonymity is protected, rates
every criterion and submits. After two reviews the sergeant's feedback page says
there are not enough responses to keep reviewers anonymous; after the third it shows
the aggregate, and still no name.
"""
import uuid

import pytest

from core.db import db
from tests import factories
from tests.browser.conftest import Person, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def scene(live_server):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        t = factories.team(reports=3, unit_name=f"Upward Unit {tag}")
        cycle = factories.review_cycle(name=f"Upward {tag}", unit_ids=[t.unit.id], threshold=3, peers=0)
        people = {oid: Person(u.email, u.name) for oid, u in t.users.items()}
        result = dict(cycle_id=cycle.id, sergeant=people[t.sergeant.id], sergeant_first=t.sergeant.first_name,
                      officers=[people[m.id] for m in t.members],
                      criteria=[c.text for c in factories.criteria_for(cycle, "direct_report")])
        db.session.remove()
    return result


def write_upward_review(page, scene, score, comment):
    todo = page.get_by_role("region", name="Reviews to do")
    todo.get_by_role("link", name=f"Your supervisor {scene['sergeant'].name} (anonymous)").click()
    expect(page.get_by_role("note")).to_contain_text("How your anonymity is protected")
    expect(page.get_by_role("note")).to_contain_text("at least 3")
    for text in scene["criteria"]:
        page.get_by_role("radiogroup", name=text).get_by_label(str(score), exact=True).check()
    page.get_by_label("Comments").fill(comment)
    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_role("status").filter(has_text="Review submitted")).to_be_visible()
    row = page.locator("#my-reviews tr").filter(has_text=scene["sergeant"].name)
    expect(row).to_contain_text("Submitted")


def test_upward_results_appear_only_with_the_third_review(scene, sign_in_as, console):
    sergeant = sign_in_as(scene["sergeant"])
    feedback = f"/reviews/cycles/{scene['cycle_id']}/upward"
    for i, (person, score) in enumerate(zip(scene["officers"][:2], (4, 2))):
        page = sign_in_as(person)
        write_upward_review(page, scene, score, f"Comment number {i}")
    sergeant.goto(feedback)
    expect(sergeant.locator("#upward-result")).to_have_text("Not enough responses to keep reviewers anonymous.")
    expect(sergeant.locator("body")).not_to_contain_text("Comment number")

    write_upward_review(sign_in_as(scene["officers"][2]), scene, 3, "Comment number 2")
    sergeant.reload()
    result = sergeant.locator("#upward-result")
    expect(result).to_contain_text("3 responses.")
    expect(result).to_contain_text("3.00")          # (4 + 2 + 3) / 3 on every criterion
    for i in range(3):
        expect(result).to_contain_text(f"Comment number {i}")
    for person in scene["officers"]:
        expect(sergeant.locator("body")).not_to_contain_text(person.name)
    console.assert_clean()
