"""HR closes a cycle in which two sergeants of one unit have too few upward reviews to
be shown (2 each, threshold 3), through the real pages: the "Close now…" confirmation
says what will happen in counts and lists the groups under the threshold; closing pools
the four reviews into "supervisors of this unit"; the cycle page keeps the counts; the
first sergeant, whose own result stays hidden, follows the link to the pooled result.
"""
import uuid

import pytest
from sqlalchemy import select

from core.db import db
from evaluations.models import ReviewAssignment
from tests import factories
from tests.browser.conftest import looked_at, Person, require_chromium
from tests.integration.test_reviews import submit

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def scene(live_server):
    tag = uuid.uuid4().hex[:8]
    unit = f"Pool Unit {tag}"
    with live_server.app.app_context():
        boss = factories.officer(unit_name=unit, rank="Lieutenant", first="Lou")
        first = factories.officer(unit_name=unit, rank="Sergeant", first="Ana", last=f"Pool{tag}", supervisor=boss)
        second = factories.officer(unit_name=unit, rank="Sergeant", first="Ben", supervisor=boss)
        members = [factories.officer(unit_name=unit, first=f"Rep{i}", supervisor=s)
                   for i, s in enumerate((first, first, second, second))]
        users = {o.id: factories.user(officer_row=o) for o in (boss, first, second, *members)}
        hr = factories.user(roles=["hr"], email=f"hr-pool-{tag}@pd.test", name=f"Hana HR {tag}")
        cycle = factories.review_cycle(name=f"Pooled {tag}", unit_ids=[first.unit_id], threshold=3, peers=0)
        for a in db.session.scalars(select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id,
                                                                   ReviewAssignment.group == "direct_report",
                                                                   ReviewAssignment.subject_id.in_([first.id,
                                                                                                    second.id]))):
            submit(cycle, a, score=4, comment=f"Pooled words {a.rater_id}")
        result = dict(cycle_id=cycle.id, cycle=cycle.name, unit=unit, hr=Person(hr.email, hr.name),
                      sergeant=Person(users[first.id].email, users[first.id].name), first=first.last_name,
                      second=second.last_name, comments=[f"Pooled words {m.id}" for m in members])
        db.session.remove()
    return result


def test_hr_closes_with_small_groups_pooled_and_the_sergeant_reads_the_unit_result(scene, sign_in_as, console):
    hr = sign_in_as(scene["hr"])
    hr.goto(f"/reviews/cycles/{scene['cycle_id']}")
    expect(hr.locator("#small-groups summary")).to_have_text(
        "3 anonymous groups under the threshold of 3")  # the lieutenant's too
    hr.get_by_role("link", name="Close now…").click()
    expect(hr.get_by_role("heading", level=1)).to_have_text(f"Close {scene['cycle']}?")
    forecast = hr.locator("#close-forecast")
    expect(forecast).to_contain_text("4 upward reviews from groups of 2 to 2 are pooled into 1 unit result")
    expect(forecast).to_contain_text("0 held reviews are deleted unread")
    under = hr.locator("#under-threshold")
    expect(under).to_contain_text(scene["first"])
    expect(under).to_contain_text(scene["second"])
    looked_at(hr, "cycle-close-confirm")
    hr.get_by_label("Community-metrics period").select_option(label="No community figures for this cycle")
    hr.get_by_role("button", name="Close the cycle now").click()
    expect(hr.get_by_role("status").filter(has_text="The cycle is closed")).to_contain_text(
        "4 upward review(s) pooled into unit results, 0 deleted unread")
    expect(hr.locator("#cycle-status")).to_have_text("closed")
    expect(hr.locator("#close-counts")).to_contain_text("4 upward reviews from groups under the threshold pooled")
    expect(hr.get_by_role("link", name=f"supervisors of {scene['unit']}")).to_be_visible()
    looked_at(hr, "cycle-closed-pooled")

    sergeant = sign_in_as(scene["sergeant"])
    sergeant.goto(f"/reviews/cycles/{scene['cycle_id']}/upward")
    expect(sergeant.locator("#upward-result")).to_contain_text("Not enough responses to keep reviewers anonymous.")
    sergeant.get_by_role("link", name=f"feedback to the supervisors of {scene['unit']}").click()
    expect(sergeant.get_by_role("heading", level=1)).to_contain_text(f"Supervisors of {scene['unit']}")
    result = sergeant.locator("#pool-result")
    expect(result).to_contain_text("4.00")
    expect(sergeant.locator("#pool-comments")).to_contain_text("shown to HR only")
    for comment in scene["comments"]:
        expect(result).not_to_contain_text(comment)   # words stay with HR: they could point to their writer
    expect(sergeant.locator("body")).to_contain_text("4 responses, pooled")
    looked_at(sergeant, "unit-pool")
    console.assert_clean()
