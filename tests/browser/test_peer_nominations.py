"""An officer nominates a peer and HR approves it, and HR swaps a generated peer,
through the real pages (issue 14: fair rater selection).

The officer finds the cycle on "My reviews", sees only eligible officers (not their
lieutenant), nominates one; HR sees the nomination on the cycle page, beside each
rater the reason they were chosen, approves it, and the officer reads "Approved by
HR". HR then swaps another officer's peer from the list of eligible ones.
"""
import uuid

import pytest

from core.db import db
from tests import factories
from tests.browser.conftest import looked_at, Person, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def scene(live_server):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        t = factories.team(reports=4, unit_name=f"Nominating Unit {tag}")
        hr = factories.user(roles=["hr"], name=f"HR {tag}")
        cycle = factories.review_cycle(name=f"Nominations {tag}", unit_ids=[t.unit.id], peers=1, open_it=False,
                                       nominations=True)
        people = {oid: Person(u.email, u.name) for oid, u in t.users.items()}
        result = dict(cycle_id=cycle.id, cycle_name=cycle.name, me=people[t.members[0].id],
                      nominee=t.members[3].display_name, nominee_name=t.members[3].full_name,
                      others=[m.display_name for m in t.members[1:]], boss=t.boss.display_name,
                      hr=Person(hr.email, hr.name))
        db.session.remove()
    return result


def test_an_officer_nominates_a_peer_and_hr_approves_then_swaps_one(scene, sign_in_as, console):
    officer = sign_in_as(scene["me"])
    officer.goto("/reviews/")
    officer.locator("#my-nominations").get_by_role("link", name=scene["cycle_name"]).click()
    expect(officer.get_by_role("heading", level=1)).to_contain_text("Nominate peers")
    candidates = officer.locator("#candidates")
    for name in scene["others"]:
        expect(candidates).to_contain_text(name)
    expect(candidates).not_to_contain_text(scene["boss"])
    looked_at(officer, "nominate-peers")
    candidates.get_by_role("row").filter(has_text=scene["nominee"]).get_by_role("button", name="Nominate").click()
    expect(officer.get_by_role("status").filter(has_text="Nomination sent to HR")).to_be_visible()
    expect(officer.locator("#nominations")).to_contain_text("Waiting for HR")
    expect(officer.locator("#full")).to_be_visible()            # one peer in this cycle: no place left

    hr = sign_in_as(scene["hr"])
    hr.goto(f"/reviews/cycles/{scene['cycle_id']}")
    assignments = hr.locator("#assignments")
    expect(assignments).to_contain_text("current supervisor")
    expect(assignments).to_contain_text("next level up")
    expect(assignments).to_contain_text("same unit and rank band")
    nominations = hr.locator("#nominations")
    expect(nominations).to_contain_text("1 waiting for a decision")
    looked_at(hr, "cycle-with-nominations")
    nominations.get_by_role("button", name="Approve").click()
    expect(hr.get_by_role("status").filter(has_text=f"Approved: {scene['nominee_name']} will review")).to_be_visible()
    expect(hr.locator("#assignments")).to_contain_text("nominated by the subject, approved by HR")

    # Swap the first peer of the page for another eligible officer.
    hr.locator("#assignments").get_by_role("link", name="Swap").first.click()
    expect(hr.get_by_role("heading", level=1)).to_have_text("Swap a peer")
    looked_at(hr, "swap-peer")
    hr.locator("#candidates").get_by_role("button", name="Swap in").first.click()
    expect(hr.get_by_role("status").filter(has_text="Peer swapped.")).to_be_visible()
    expect(hr.locator("#assignments")).to_contain_text("swapped in by HR for")

    officer.reload()
    expect(officer.locator("#nominations")).to_contain_text("Approved by HR")
    console.assert_clean()
